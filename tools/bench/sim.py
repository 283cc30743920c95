"""Simulator speed, headless: 100 physics steps, 20 camera frames and 20 ground truths per simulated second,
with traffic and a simple lane-keeping driver, against the wall clock. realtime_x > 1 is faster than real time.

  python -m tools.bench.sim [seconds]
"""
import json
import sys
import time

import numpy as np

from tools.sim.constants import FULL_RES, LAT_ACCEL_FACTOR, MODEL_RES, RENDER_HZ, STEPS_PER_FRAME
from tools.sim.vehicle import Controls
from tools.sim.world import GroundTruth, World, WorldConfig

SEED = 7
CRUISE = 25.0


def _drive(gt: GroundTruth, v: float, c: Controls) -> None:
  """Hold the lane (PD on offset and heading, curvature feed-forward) and follow the lead."""
  lat = 0.25 * gt.lateral_offset + 0.8 * v * gt.heading_error + gt.curvature * v * v
  c.steer_torque = float(np.clip(lat / LAT_ACCEL_FACTOR, -1.0, 1.0))
  a = 0.4 * (CRUISE - v)
  if gt.lead_present:
    a = min(a, 0.25 * (gt.lead_distance - 4.0 - 1.6 * v) + 0.6 * gt.lead_v_rel)
  c.accel, c.long_active = float(np.clip(a, -3.5, 2.0)), True


def measure(seconds: float, width: int, height: int) -> dict[str, float]:
  world = World(SEED, WorldConfig(width=width, height=height))
  c = Controls()
  frames = round(seconds * RENDER_HZ)
  render_s = gt_s = 0.0
  t0 = time.perf_counter()
  for _ in range(frames):
    t = time.perf_counter()
    gt = world.ground_truth()
    t1 = time.perf_counter()
    world.render()
    t2 = time.perf_counter()
    gt_s, render_s = gt_s + t1 - t, render_s + t2 - t1
    _drive(gt, world.state.v, c)
    for _ in range(STEPS_PER_FRAME):
      world.step(c)
  wall = time.perf_counter() - t0
  return {"realtime_x": round(world.t / wall, 2), "frame_ms": round(1e3 * render_s / frames, 2),
          "ground_truth_ms": round(1e3 * gt_s / frames, 2),
          "step_us": round(1e6 * (wall - render_s - gt_s) / (frames * STEPS_PER_FRAME), 1)}


def run(seconds: float = 20.0) -> dict:
  model, full = measure(seconds, *MODEL_RES), measure(seconds, *FULL_RES)
  return {"seconds": seconds, "model_res": f"{MODEL_RES[0]}x{MODEL_RES[1]}", "realtime_x": model["realtime_x"],
          "realtime_x_full": full["realtime_x"], "model": model, "full": full}


if __name__ == "__main__":
  print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)))
