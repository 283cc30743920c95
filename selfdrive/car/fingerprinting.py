"""Passive fingerprinting: which opendbc platform a CAN stream comes from, from its first seconds on bus 0.

Two steps. First opendbc's own CAN fingerprints (`can_fingerprint`); in opendbc 0.3.1 those cover only GM and
the comma body, every other brand being told apart by asking its ECUs for firmware versions, which a recording
cannot do. Then the CAN layout: a platform fits when every message its CarState reads on bus 0 was seen there
with the length its DBC gives. Platforms that read the same bus-0 messages (a 2018 RAV4 and a 2018 Corolla) look
alike: the result then lists them and an explicit platform settles it.
"""
import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from opendbc.car import gen_empty_fingerprint
from opendbc.car.can_definitions import CanData
from opendbc.car.car_helpers import FRAME_FINGERPRINT, can_fingerprint, interfaces
from opendbc.car.interfaces import get_interface_attr
from opendbc.car.mock.values import CAR as MOCK

from hardware.can.frame import CanFrame
from selfdrive.car import CYCLE_NS, cycles
from selfdrive.common.errors import UserError

FINGERPRINT_S = 2 * FRAME_FINGERPRINT * CYCLE_NS / 1e9  # as long as opendbc's can_fingerprint listens at most: 2 s
MAX_CANDIDATES = 6
PLATFORMS_HINT = "run `localpilot can platforms` for the names"

Fingerprint = dict[int, dict[int, int]]  # bus → {address: payload length}, opendbc's format


class UnknownPlatform(UserError):
  pass


@dataclass(frozen=True)
class CarMatch:
  """A platform told from the log (source 'fingerprint' or 'layout') or given (source 'override')."""
  platform: str
  source: str
  fingerprint: Fingerprint = field(repr=False)


@dataclass(frozen=True)
class UnrecognizedCar:
  """No single platform: `candidates` are the closest, best first. same_layout: they all fit and read the same
  bus-0 messages, so the log cannot tell them apart (an explicit platform can)."""
  reason: str
  candidates: tuple[str, ...]
  same_layout: bool
  fingerprint: Fingerprint = field(repr=False)

  def __str__(self) -> str:
    return self.reason


def platforms() -> tuple[str, ...]:
  return tuple(sorted(p for p in interfaces if p != MOCK.MOCK))


def check_platform(name: str) -> str:
  if name in interfaces and name != MOCK.MOCK:
    return name
  close = difflib.get_close_matches(name.upper(), platforms(), n=4, cutoff=0.5)
  hint = f"did you mean {', '.join(close)}? " if close else ""
  raise UnknownPlatform(f"unknown car platform {name!r}: {hint}{PLATFORMS_HINT}")


def legacy_fingerprints() -> dict[str, list[dict[int, int]]]:
  """opendbc's CAN fingerprints (address → length per platform), the few platforms it still keeps them for."""
  return {str(k): v for k, v in get_interface_attr("FINGERPRINTS", combine_brands=True, ignore_none=True).items()}


@functools.cache
def layout(platform: str) -> dict[int, dict[int, tuple[str, int]]]:
  """bus → {address: (message name, length)} of what the platform's CarState reads (ignoring alive-exempt ones).

  opendbc's parsers subscribe to a message the first time CarState reads it, so one empty update reveals them.
  """
  ci_cls = interfaces[check_platform(platform)]
  ci = ci_cls(ci_cls.get_non_essential_params(platform))
  ci.update([(0, [])])
  reads: dict[int, dict[int, tuple[str, int]]] = {}
  for cp in ci.can_parsers.values():
    if cp is not None:
      reads.setdefault(cp.bus, {}).update({s.address: (s.name, s.size) for s in cp.message_states.values()
                                           if not s.ignore_alive})
  return reads


def collect_fingerprint(frames: Iterable[tuple[int, CanFrame]], seconds: float = FINGERPRINT_S) -> Fingerprint:
  """What opendbc's get_params wants: bus → {address: length} over the first `seconds`."""
  finger = gen_empty_fingerprint()
  t0 = None
  for t, f in frames:
    t0 = t if t0 is None else t0
    if t - t0 >= seconds * 1e9:
      break
    finger.setdefault(f.bus, {})[f.address] = len(f.data)
  return finger


def _opendbc_fingerprint(frames: list[tuple[int, CanFrame]]) -> str | None:
  packets = iter([[CanData(f.address, f.data, f.bus) for f in batch] for _, batch in cycles(frames)])
  car, _ = can_fingerprint(lambda wait_for_one=False: [next(packets, [])])
  return None if car is None else str(car)


def _fit(platform: str, seen: dict[int, int]) -> tuple[int, int]:
  """(bus-0 messages the platform reads that were seen with their DBC length, how many it reads)."""
  reads = layout(platform).get(0, {})
  return sum(seen.get(a) == size for a, (_, size) in reads.items()), len(reads)


def fits(platform: str, finger: Fingerprint) -> bool:
  """Every bus-0 message the platform reads is in the fingerprint, at its DBC length: the CAN could be this car."""
  seen, needed = _fit(platform, finger.get(0, {}))
  return needed > 0 and seen == needed


def fingerprint(frames: Iterable[tuple[int, CanFrame]], seconds: float = FINGERPRINT_S) -> CarMatch | UnrecognizedCar:
  """The platform whose CAN matches the first `seconds` of frames, or why none does."""
  head: list[tuple[int, CanFrame]] = []
  for t, f in frames:
    if head and t - head[0][0] >= seconds * 1e9:
      break
    head.append((t, f))
  finger = collect_fingerprint(head, seconds)
  if not head:
    return UnrecognizedCar("no CAN frames to fingerprint", (), False, finger)
  if (car := _opendbc_fingerprint(head)) is not None:
    return CarMatch(car, "fingerprint", finger)

  seen = finger.get(0, {})
  scores = {p: _fit(p, seen) for p in platforms()}
  ranked = sorted((p for p in scores if scores[p][1]), key=lambda p: (-scores[p][0] / scores[p][1], -scores[p][0], p))
  complete = [p for p in ranked if scores[p][0] == scores[p][1]]
  if complete:
    best = max(scores[p][0] for p in complete)  # reading more of what was seen is more specific
    top = [p for p in complete if scores[p][0] == best]
    if len(top) == 1:
      return CarMatch(top[0], "layout", finger)
    return UnrecognizedCar(f"{len(top)} platforms read the same {best} bus-0 messages and all were seen: "
                           f"{', '.join(top)}; the log cannot tell them apart, name the car", tuple(top), True, finger)
  score = [scores[p][0] / scores[p][1] for p in ranked]
  near = [p for p, sc in zip(ranked, score, strict=True) if sc == score[0]] if ranked else []  # ties stay together
  near = near if len(near) >= MAX_CANDIDATES else ranked[:MAX_CANDIDATES]
  why = ", ".join(f"{p} ({scores[p][0]}/{scores[p][1]})" for p in near if scores[p][0])
  if not seen:
    reason = "no frames on bus 0, where every platform's powertrain messages are expected"
  elif why:
    reason = f"no platform has all the bus-0 messages it reads in this log; closest (seen/needed): {why}"
  else:
    reason = f"none of the {len(seen)} bus-0 addresses seen belong to a known platform"
  return UnrecognizedCar(reason, tuple(p for p in near if scores[p][0]), False, finger)
