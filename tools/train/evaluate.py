"""Evaluation on drives whose seeds were never trained on: open-loop errors against the simulator's ground truth,
and a closed loop where the model's desired curvature steers the simulated car.
"""
from dataclasses import replace

import numpy as np

from cereal.arrays import X_IDXS
from selfdrive.modeld.constants import DIST_SLICES, FRAME_CHANNELS, N_DIST, N_PROB, PROB_SLICES
from selfdrive.modeld.model import DrivingModel
from selfdrive.modeld.runner import ModelInputs, ModelRunner, compile_model, frame_step
from selfdrive.modeld.transform import camera_from_model, warp_nv12
from tools.sim.camera import rgb_to_nv12
from tools.sim.driver import DriverMode, ScriptedDriver
from tools.sim.vehicle import Controls
from tools.sim.world import World, WorldConfig
from tools.train.data import Episode

DISTANCES_M = (10, 20, 50)
WARMUP_FRAMES = 10          # the first half second: the recurrent state is still settling
LEAD_PROB_THRESHOLD = 0.5
NEAR_LEAD_M = 15.0          # frames with a car this close ahead are scored apart too: it can hide the road


def predict(model: DrivingModel, episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray]:
  """Run the model through every drive from its first frame, all drives as one batch: (E, N, N_DIST) means and
  (E, N, N_PROB) probabilities, N the shortest drive's length."""
  n, e = min(len(ep) for ep in episodes), len(episodes)
  x = ModelInputs(e)
  step = frame_step(compile_model(model, x), x)
  x.hidden[:] = 0.0
  means, probs = np.zeros((e, n, N_DIST), np.float32), np.zeros((e, n, N_PROB), np.float32)
  for t in range(n):
    for i, ep in enumerate(episodes):
      x.frames[i, :FRAME_CHANNELS], x.frames[i, FRAME_CHANNELS:] = ep.frames[max(t - 1, 0)], ep.frames[t]
      x.desire[i] = ep.desire[t]
    out = step()
    means[:, t], probs[:, t] = out[:, :N_DIST], out[:, 2 * N_DIST:2 * N_DIST + N_PROB]
    x.hidden[:] = out[:, 2 * N_DIST + N_PROB:]
  return means, probs


def _y_at(x: np.ndarray, y: np.ndarray, d: float) -> float:
  return float(np.interp(d, np.maximum.accumulate(x), y))


def open_loop(episodes: list[Episode], means: np.ndarray, probs: np.ndarray) -> dict[str, float]:
  """Mean absolute errors on the labelled frames of every drive."""
  errs: dict[str, list[float]] = {}
  add = lambda k, v: errs.setdefault(k, []).append(abs(float(v)))
  for ep, mean, prob in zip(episodes, means, probs, strict=True):
    n = len(mean)
    for t in np.flatnonzero(ep.valid[:n])[WARMUP_FRAMES:]:
      lab, pred = ep.dist[t], mean[t]
      ll_l, ll_p = lab[DIST_SLICES["lane_lines"]].reshape(4, -1, 2), pred[DIST_SLICES["lane_lines"]].reshape(4, -1, 2)
      pl_l, pl_p = lab[DIST_SLICES["plan"]].reshape(-1, 9), pred[DIST_SLICES["plan"]].reshape(-1, 9)
      path_err = {d: _y_at(pl_p[:, 0], pl_p[:, 1], d) - _y_at(pl_l[:, 0], pl_l[:, 1], d) for d in DISTANCES_M}
      for d in DISTANCES_M:
        add(f"lane_line_err_{d}m", np.mean([np.interp(d, X_IDXS, ll_p[j, :, 0]) - np.interp(d, X_IDXS, ll_l[j, :, 0])
                                             for j in (1, 2)]))
        add(f"path_err_{d}m", path_err[d])
      act_l, act_p = lab[DIST_SLICES["action"]], pred[DIST_SLICES["action"]]
      add("curvature_err", act_l[0] - act_p[0])
      add("accel_err", act_l[1] - act_p[1])
      add("speed_err", lab[DIST_SLICES["egomotion"]][0] - pred[DIST_SLICES["egomotion"]][0])
      lead_l = ep.prob[t, PROB_SLICES["lead_prob"]][0] > 0.5
      lead_p = prob[t, PROB_SLICES["lead_prob"]][0] > LEAD_PROB_THRESHOLD
      errs.setdefault("lead_detect_acc", []).append(float(lead_l == lead_p))
      if lead_l:
        add("lead_dist_err", lab[DIST_SLICES["lead"]][0] - pred[DIST_SLICES["lead"]][0])
      if lead_l and lab[DIST_SLICES["lead"]][0] < NEAR_LEAD_M:
        add("path_err_10m_near_lead", path_err[10])
        add("curvature_err_near_lead", act_l[0] - act_p[0])
  return {k: round(float(np.mean(v)), 4) for k, v in sorted(errs.items())}


def closed_loop(runner: ModelRunner, seed: int, seconds: float, calibrated: bool = True) -> dict[str, float]:
  """The model's desired curvature steers (the scripted driver's hands hold the wheel where it asks); the driver
  keeps the pedals. Returns how well the car kept its lane."""
  world = World(seed, WorldConfig())
  cam, driver = world.camera, ScriptedDriver(DriverMode.MANUAL)
  rpy = (cam.mount_roll, cam.mount_pitch, cam.mount_yaw) if calibrated else (0.0, 0.0, 0.0)
  warp = camera_from_model(cam.intrinsics, rpy)
  runner.reset()
  gt, curvature, offsets = world.ground_truth(), 0.0, []
  while world.t < seconds:
    if world.frame_due:
      nv12 = rgb_to_nv12(world.render())
      out = runner.run(warp_nv12(nv12[:cam.height], nv12[cam.height:], warp), 0)
      curvature = float(out.mean["action"][0])
      offsets.append(abs(gt.lateral_offset))
    action = driver.step(world, replace(gt, curvature=curvature, lateral_offset=0.0, heading_error=0.0), False)
    world.step(Controls(driver_torque=action.torque, gas=action.gas, brake=action.brake))
    gt = world.ground_truth()
  st = world.stats
  return {"seconds": round(st.time, 1), "mean_abs_offset_m": round(float(np.mean(offsets)), 3),
          "max_abs_offset_m": round(float(np.max(offsets)), 3), "lane_departures": st.lane_departures,
          "off_road_s": round(st.off_road_time, 2), "collisions": st.collisions}
