"""A Toyota's front radar on CAN bus 1, as opendbc's Toyota RadarInterface reads it: 16 track slots, each a
TRACK_A_n message (distance, lateral offset, relative speed, valid, new track) and a TRACK_B_n one (score), all 32
every 50 ms, TRACK_B_15 last (opendbc reads the whole scan when that one arrives). The radar DBC places them (TSS2
at 0x180-0x19f, older cars at 0x210-0x22f).

A target keeps its slot while the radar sees it; a slot given to a new target says NEW_TRACK once. Values are
quantized by the DBC (0.04 m, 0.025 m/s) and carry a small seeded noise, as a real radar's tracks jitter.
"""
from collections.abc import Callable

import numpy as np

from hardware.can.frame import CanFrame
from selfdrive.car import platform_info
from tools.sim.ecu.bus import MS, DbcCodec
from tools.sim.ecu.interface import RadarTarget

RADAR_BUS = 1
PERIOD_NS = 50 * MS
SLOTS = 16
NO_TARGET_M = 327.0                    # LONG_DIST of an empty slot (opendbc drops >= 255)
SCORE = 100                            # a confident track (opendbc keeps estimates above 50)
NOISE_D_M, NOISE_Y_M, NOISE_V_MS = 0.05, 0.05, 0.05


class ToyotaRadar:
  def __init__(self, platform: str, seed: int = 0):
    self.codec = DbcCodec(platform_info.dbc_names(platform)["radar"])
    self.names_a = [f"TRACK_A_{i}" for i in range(SLOTS)]
    self.names_b = [f"TRACK_B_{i}" for i in range(SLOTS)]
    missing = [n for n in (*self.names_a, *self.names_b) if n not in self.codec.msgs]
    if missing:
      raise ValueError(f"{platform}: its radar DBC {self.codec.dbc_name} has no {', '.join(missing[:3])}")
    self.slots: list[int | None] = [None] * SLOTS   # target id per slot
    self.rng = np.random.default_rng(seed)
    self.next_t: int | None = None

  def step(self, t_ns: int, targets: Callable[[], tuple[RadarTarget, ...]]) -> list[CanFrame]:
    """The scan's 32 frames when one is due (targets() is asked then only: nearest first), else none."""
    if self.next_t is None:
      self.next_t = t_ns
    if t_ns < self.next_t:
      return []
    self.next_t = max(self.next_t + PERIOD_NS, t_ns + 1)
    seen = {t.id: t for t in targets()[:SLOTS]}   # the radar tracks the closest it can
    new = set()
    for i, tid in enumerate(self.slots):
      if tid is not None and tid not in seen:
        self.slots[i] = None
    for tid in seen:
      if tid not in self.slots:
        i = self.slots.index(None)
        self.slots[i] = tid
        new.add(tid)
    frames = []
    for i, tid in enumerate(self.slots):
      frames.append(self.codec.frame(self.names_a[i], RADAR_BUS, self._track_a(seen.get(tid), tid in new)))
    for i, tid in enumerate(self.slots):
      frames.append(self.codec.frame(self.names_b[i], RADAR_BUS, self._track_b(seen.get(tid))))
    return frames

  def _track_a(self, t: RadarTarget | None, new: bool) -> dict[str, float]:
    if t is None:
      return {"LONG_DIST": NO_TARGET_M, "LAT_DIST": 0.0, "REL_SPEED": 0.0, "VALID": 0, "NEW_TRACK": 0}
    nd, ny, nv = self.rng.normal(0.0, (NOISE_D_M, NOISE_Y_M, NOISE_V_MS))
    return {"LONG_DIST": max(t.d_rel + nd, 0.0), "LAT_DIST": -(t.y_rel + ny), "REL_SPEED": t.v_rel + nv,
            "VALID": 1, "NEW_TRACK": int(new)}   # LAT_DIST is positive to the right

  def _track_b(self, t: RadarTarget | None) -> dict[str, float]:
    return {"SCORE": SCORE if t is not None else 0, "REL_ACCEL": 0.0 if t is None else t.a_rel}
