"""The geometry of the model's planned path: its curvature along the way, and the speed its curves allow.

The path is modelV2.position: x forward, y right, z down, at T_IDXS. Curvature is positive to the left, as in
carState and carControl.
"""
import math
from dataclasses import dataclass

import numpy as np

from selfdrive.controls.lib.limits import (
  ACCEL_MIN,
  CURVE_DECEL,
  CURVE_DECEL_MAX,
  CURVE_LATERAL_ACCEL,
  STEER_CAPABILITY_S,
  STEER_CAPABILITY_SHARE,
  T_CONTROL,
)

SPACING_M = 5.0          # the path is resampled this finely before differentiating
MIN_CURVATURE = 1e-4     # 1/m: straighter counts as straight (a 10 km radius)
MAX_SPEED = 1e3          # m/s: what "no limit" reads as


@dataclass(frozen=True)
class PathCurvature:
  s: np.ndarray          # m along the path
  k: np.ndarray          # 1/m, positive left

  def at(self, s: np.ndarray | float) -> np.ndarray:
    return np.interp(s, self.s, self.k)


STRAIGHT = PathCurvature(np.array([0.0, 1.0]), np.zeros(2))


def path_curvature(position: np.ndarray) -> PathCurvature:
  x, y = position[:, 0].astype(np.float64), -position[:, 1].astype(np.float64)   # y left
  seg = np.hypot(np.diff(x), np.diff(y))
  s = np.concatenate(([0.0], np.cumsum(seg)))
  if s[-1] < 3 * SPACING_M or not np.all(np.diff(s) >= 0):
    return STRAIGHT
  su = np.arange(0.0, s[-1], SPACING_M)
  xu, yu = np.interp(su, s, x), np.interp(su, s, y)
  heading = np.unwrap(np.arctan2(np.gradient(yu, edge_order=2), np.gradient(xu, edge_order=2)))
  k = np.gradient(heading, edge_order=2) / SPACING_M
  k = np.convolve(np.pad(k, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
  return PathCurvature(su, k)


def with_planned_curvature(curv: PathCurvature, planned: np.ndarray, v_ego: float) -> PathCurvature:
  """The path's curvature, or the lateral plan's (curvatures at T_CONTROL, driven at v_ego) where that is tighter.

  The model's steering can ask for a curve its path under-reads: seed 3's 275 m bend read as ~700 m, so the car sped
  into it at 22 m/s, steering at the EPS's torque limit (1.75 m/s^2), and left its lane on the outside."""
  s_plan = max(v_ego, 1.0) * T_CONTROL
  k_plan = np.interp(curv.s, s_plan, planned, right=0.0)   # beyond the plan the path alone
  return PathCurvature(curv.s, np.where(np.abs(k_plan) > np.abs(curv.k), k_plan, curv.k))


def curve_speed_limit(curv: PathCurvature) -> tuple[np.ndarray, np.ndarray]:
  """(distance, speed): the fastest the ego may be at each point of the path to take every curve after it at
  CURVE_LATERAL_ACCEL, braking at CURVE_DECEL in between."""
  v = np.sqrt(CURVE_LATERAL_ACCEL / np.maximum(np.abs(curv.k), MIN_CURVATURE))
  v = np.minimum(v, MAX_SPEED).tolist()   # the backward pass in Python floats: numpy's scalars cost ~1 us an op
  ds = np.diff(curv.s).tolist()
  for i in range(len(v) - 2, -1, -1):
    v[i] = min(v[i], math.sqrt(v[i + 1] ** 2 + 2 * CURVE_DECEL * ds[i]))
  return curv.s, np.array(v)


def curve_decel(curv: PathCurvature, v_ego: float, lat_accel_max: float) -> float:
  """How hard the curve limit may brake: CURVE_DECEL_MAX, or as hard as the stack brakes where a curve within
  STEER_CAPABILITY_S asks more lateral acceleration at our speed than the steering holds (STEER_CAPABILITY_SHARE of
  lat_accel_max, the car's at full torque; 0 for a car opendbc has no torque data for: then CURVE_DECEL_MAX). Seed 43
  entered a 227 m bend seen 1 s ahead at 22 m/s (2.1 m/s^2), braked at 2 m/s^2, steered at full torque (1.66 m/s^2)
  for 2 s and left its lane on the outside."""
  if lat_accel_max <= 0.0:
    return CURVE_DECEL_MAX
  s = np.linspace(0.0, max(v_ego, 1.0) * STEER_CAPABILITY_S, 9)
  need = v_ego * v_ego * float(np.abs(curv.at(s)).max())
  return -ACCEL_MIN if need > STEER_CAPABILITY_SHARE * lat_accel_max else CURVE_DECEL_MAX
