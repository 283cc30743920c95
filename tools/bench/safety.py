"""Per-frame cost of the safety model through the Python wrapper, on realistic Toyota (TSS2 RAV4) traffic.

One "frame" is an rx() of a checked car message plus a tx() of an openpilot command, as cand does them.
"""
import json
import time

import numpy as np
from opendbc.can import CANPacker

from hardware.safety import SafetyModel
from selfdrive.car import platform_info

PLATFORM = "TOYOTA_RAV4_TSS2"
FRAME_DT_NS = 10_000_000  # 100 Hz, the rate carcontroller sends STEERING_LKA at


def _traffic(n: int, eps_scale: int) -> tuple[list[tuple[int, bytes, int]], list[tuple[int, bytes, int]]]:
  """n rx frames cycling through the messages Toyota safety checks (the EPS following the command), and n
  LKA/ACC commands: a slow torque sine within the rate limits, and a mild accel."""
  packer = CANPacker(platform_info.dbc_names(PLATFORM)["pt"])
  torque = np.round(800 * np.sin(2 * np.pi * np.arange(n) / 600)).astype(int)
  rx, tx = [], []
  steer_i = 0
  for i in range(n):
    k = i % 4
    if k == 0:
      rx.append(packer.make_can_msg("PCM_CRUISE", 0, {"CRUISE_ACTIVE": 1, "GAS_RELEASED": 1}))
    elif k == 1:
      eps_raw = int(torque[steer_i] * 100 / eps_scale)
      rx.append(packer.make_can_msg("STEER_TORQUE_SENSOR", 0, {"STEER_TORQUE_EPS": eps_raw}))
    elif k == 2:
      rx.append(packer.make_can_msg("WHEEL_SPEEDS", 0, {f"WHEEL_SPEED_{w}": 72.0 for w in ("FL", "FR", "RL", "RR")}))
    else:
      rx.append(packer.make_can_msg("BRAKE_MODULE", 0, {"BRAKE_PRESSED": 0}))
    if i % 3 == 2:
      tx.append(packer.make_can_msg("ACC_CONTROL", 0, {"ACCEL_CMD": 0.5}))
    else:
      tx.append(packer.make_can_msg("STEERING_LKA", 0, {"STEER_TORQUE_CMD": int(torque[steer_i]), "STEER_REQUEST": 1}))
      steer_i += 1
  return rx, tx


def run(n_frames: int = 20000) -> dict:
  config = platform_info.safety_config(PLATFORM)
  mode, param = config.model_id, config.param
  rx, tx = _traffic(n_frames, round(platform_info.toyota_eps_scale(PLATFORM) * 100))

  # simulated 100 Hz clock, so heartbeat/lag ticks behave as on the road regardless of how fast we run
  t = [time.monotonic_ns()]
  model = SafetyModel(clock=lambda: t[0])
  model.set_safety_hooks(mode, param)
  for a, d, b in rx[:4]:
    model.rx(a, d, b)
  assert model.controls_allowed

  def frame_loop(lo: int, hi: int) -> int:
    allowed = 0
    for i in range(lo, hi):
      t[0] += FRAME_DT_NS
      if i % 100 == 0:
        model.heartbeat(True)
      a, d, b = rx[i]
      model.rx(a, d, b)
      a, d, b = tx[i]
      allowed += model.tx(a, d, b)
    return allowed

  frame_loop(0, min(1000, n_frames))  # warm up
  model.set_safety_hooks(mode, param)
  st = time.perf_counter_ns()
  allowed = frame_loop(0, n_frames)
  per_frame_us = (time.perf_counter_ns() - st) / n_frames / 1e3

  # per-call tx latency, timed one by one
  tx_ns = np.empty(n_frames, dtype=np.int64)
  perf = time.perf_counter_ns
  for i in range(n_frames):
    a, d, b = tx[i]
    t[0] += FRAME_DT_NS
    s = perf()
    model.tx(a, d, b)
    tx_ns[i] = perf() - s
  timer_ns = min(perf() - perf() for _ in range(1000))

  return {
    "n_frames": n_frames,
    "safety_per_frame_us": round(per_frame_us, 3),
    "safety_tx_mean_us": round(float(tx_ns.mean() - timer_ns) / 1e3, 3),
    "safety_tx_p99_us": round(float(np.percentile(tx_ns, 99) - timer_ns) / 1e3, 3),
    "tx_allowed_fraction": round(allowed / n_frames, 4),
    "binding": "cffi ABI mode, one C call per frame (frame packing + timer in the C shim)",
  }


if __name__ == "__main__":
  print(json.dumps(run(), indent=2))
