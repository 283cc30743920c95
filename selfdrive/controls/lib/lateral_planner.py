"""The lateral plan: the model's desired curvature (blended towards pursuit on its lane lines when the car swings
well off its line, see lane_pursuit) within ISO 11270's lateral acceleration and jerk, and what to steer over the
next 2.5 s (the correction the model asks for now fading into the curvature of its planned path), so controlsd can
interpolate between plans and keep steering along the last one while it soft-disables."""
from dataclasses import dataclass

import numpy as np

from selfdrive.controls.lib.desire_helper import DesireHelper, DriverInput, LaneChangeState
from selfdrive.controls.lib.lane_pursuit import EgoLane, LaneRecovery
from selfdrive.controls.lib.limits import (
  DT_MDL,
  ISO_LATERAL_ACCEL,
  ISO_LATERAL_JERK,
  MAX_CURVATURE,
  MIN_LATERAL_SPEED,
  T_CONTROL,
)
from selfdrive.controls.lib.longitudinal_planner import Lead
from selfdrive.controls.lib.path import PathCurvature

CORRECTION_TAU = 1.0     # s over which the model's correction (desired minus path curvature) is planned to fade


def curvature_limits(v_ego: float) -> tuple[float, float]:
  """(largest |curvature|, largest |curvature rate| per s) at this speed."""
  v2 = max(v_ego, MIN_LATERAL_SPEED) ** 2
  return min(ISO_LATERAL_ACCEL / v2, MAX_CURVATURE), ISO_LATERAL_JERK / v2


def clip_curvature(desired: float, previous: float, v_ego: float, dt: float) -> float:
  """The desired curvature moved towards from the previous one no faster than the jerk limit, within the accel one."""
  k_max, rate_max = curvature_limits(v_ego)
  k = min(max(desired, previous - rate_max * dt), previous + rate_max * dt)
  return min(max(k, -k_max), k_max)


def curvature_plan(now: float, path: PathCurvature, v_ego: float) -> np.ndarray:
  """Curvatures at T_CONTROL: from `now` (already limited) to the path's own curvature, within the ISO limits."""
  ahead = path.at(v_ego * T_CONTROL)
  plan = ahead + (now - ahead[0]) * np.exp(-T_CONTROL / CORRECTION_TAU)
  out = np.empty_like(plan)
  out[0] = now
  for i in range(1, len(plan)):
    out[i] = clip_curvature(float(plan[i]), float(out[i - 1]), v_ego, T_CONTROL[i] - T_CONTROL[i - 1])
  return out


@dataclass(frozen=True)
class LatPlan:
  desired_curvature: float
  desired_curvature_rate: float   # 1/(m s), of the plan at its start
  curvatures: np.ndarray          # at T_CONTROL
  lane_change_state: int
  lane_change_direction: int
  desire: int


class LateralPlanner:
  def __init__(self):
    self.desire = DesireHelper()
    self.recovery = LaneRecovery()
    self.curvature = 0.0

  def reset(self, actual_curvature: float) -> None:
    """Not steering: the next plan starts from where the car is going."""
    self.curvature = actual_curvature

  def update(self, desired_curvature: float, path: PathCurvature, v_ego: float, driver: DriverInput,
             lateral_active: bool, lane_change_prob: float, lane: EgoLane | None = None,
             lead: Lead | None = None) -> LatPlan:
    """lane: the model's ego-lane lines, to steer back by when the car swings well off its line (not while changing
    lanes: the lines then belong to the lane being left); lead: the nearest lead."""
    self.desire.update(driver, lateral_active, lane_change_prob)
    if lane is not None and self.desire.state == LaneChangeState.off:
      desired_curvature = self.recovery.update(desired_curvature, lane, v_ego, lateral_active, lead)
    self.curvature = clip_curvature(desired_curvature, self.curvature, v_ego, DT_MDL)
    plan = curvature_plan(self.curvature, path, v_ego)
    rate = float((plan[1] - plan[0]) / (T_CONTROL[1] - T_CONTROL[0]))
    return LatPlan(self.curvature, rate, plan, self.desire.state, self.desire.direction, int(self.desire.desire))
