"""Steering back by the model's lane lines: the same pure pursuit the model was trained on, taking part of the steer
only as far as the car swings off the line it has been holding (the lines' slow bias set aside), never during a
lane change or on lines the model doubts."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cereal import log
from cereal.arrays import X_IDXS
from selfdrive.controls.lib.desire_helper import DriverInput
from selfdrive.controls.lib.lane_pursuit import (
  BIAS_MAX_M,
  BIAS_TAU_S,
  LINE_PROB_MIN,
  RECOVERY_OFFSET_M,
  RECOVERY_SHARE,
  EgoLane,
  LaneRecovery,
  lane_pursuit_curvature,
  recovery_share,
)
from selfdrive.controls.lib.lateral_planner import LateralPlanner
from selfdrive.controls.lib.limits import DT_MDL
from selfdrive.controls.lib.path import STRAIGHT
from selfdrive.modeld.constants import pursuit_curvature

HALF_LANE = 1.85
V = 25.0
SETTLE = int(5 * BIAS_TAU_S / DT_MDL)   # frames for the bias to settle within 1 %
curvatures = st.floats(-0.02, 0.02)
speeds = st.floats(3.0, 40.0)


def lane(offset: float, heading: float = 0.0, road_k: float = 0.0, probs: tuple[float, float] = (1.0, 1.0)) -> EgoLane:
  """The lines a perfect model sees from a car `offset` m right of its lane centre, headed `heading` rad right of it,
  on a road of curvature road_k (left positive): y right, to second order in x."""
  centre = -(offset + heading * X_IDXS + road_k * X_IDXS ** 2 / 2)
  return EgoLane(centre - HALF_LANE, centre + HALF_LANE, *probs)


@given(st.floats(-1.5, 1.5), st.floats(-0.1, 0.1), curvatures, speeds)
def test_lane_pursuit_is_the_pursuit_the_model_learnt(offset, heading, road_k, v):
  expect = pursuit_curvature(road_k, offset, heading, v)
  # the lines are float32 points at X_IDXS, read between them linearly: a bend's parabola is a few % off there
  tol = 0.03 * abs(road_k) + 1e-6
  assert lane_pursuit_curvature(lane(offset, heading, road_k), v) == pytest.approx(expect, abs=tol)


def test_a_car_right_of_centre_is_steered_left():
  assert lane_pursuit_curvature(lane(0.6), V) > 0 > lane_pursuit_curvature(lane(-0.6), V)
  # lines that sit 0.6 m left of the truth, the bias known: centred is centred
  assert lane_pursuit_curvature(lane(0.6), V, bias=-0.6) == pytest.approx(0.0, abs=1e-6)


def test_share_ramps_with_the_swing():
  swings = np.linspace(0.0, 1.5, 61)
  shares = [recovery_share(s) for s in swings]
  assert shares[0] == 0.0 and shares[-1] == pytest.approx(RECOVERY_SHARE)
  assert np.all(np.diff(shares) >= 0)
  assert recovery_share(-0.3) == pytest.approx(recovery_share(0.3))
  assert recovery_share(0.3) > 0.0
  assert recovery_share(RECOVERY_OFFSET_M[0] - 1e-3) == 0.0


@given(curvatures, st.floats(-RECOVERY_OFFSET_M[0] + 1e-3, RECOVERY_OFFSET_M[0] - 1e-3), speeds)
def test_near_the_centre_the_model_alone_steers(model_k, offset, v):
  assert LaneRecovery().update(model_k, lane(offset), v, steering=True) == model_k


@given(st.floats(0.0, LINE_PROB_MIN - 1e-3), st.booleans())
def test_a_doubted_line_leaves_the_model_alone(p, left):
  probs = (p, 1.0) if left else (1.0, p)
  rec = LaneRecovery()
  assert rec.update(0.001, lane(1.0, probs=probs), V, steering=True) == 0.001
  assert rec.bias == 0.0   # nor is learnt from


@given(curvatures, st.floats(-1.5, 1.5), st.floats(-0.1, 0.1), curvatures, speeds)
def test_the_steer_lies_between_the_model_and_lane_pursuit(model_k, offset, heading, road_k, v):
  ln = lane(offset, heading, road_k)
  rec = LaneRecovery()
  k = rec.update(model_k, ln, v, steering=True)
  lp = lane_pursuit_curvature(ln, v, rec.bias)
  assert min(model_k, lp) - 1e-12 <= k <= max(model_k, lp) + 1e-12


@given(st.floats(-BIAS_MAX_M, BIAS_MAX_M), curvatures)
def test_lines_biased_on_a_held_line_leave_the_model_alone(bias, model_k):
  """Lines putting the centre `bias` m right of the truth, all drive: once learnt, no share, whatever the size."""
  rec = LaneRecovery()
  held = lane(-bias)   # the lines' centre at y = bias
  for _ in range(SETTLE):
    rec.update(model_k, held, V, steering=True)
  assert rec.bias == pytest.approx(bias, abs=0.01 * abs(bias) + 1e-6)   # float32 lines: ~1e-7 m
  assert rec.update(model_k, held, V, steering=True) == pytest.approx(model_k)


def test_a_swing_off_the_held_line_is_steered_back_from_it():
  """Lines putting the centre 0.3 m right of the truth; the car swings 0.6 m right: steered back to the true centre."""
  rec = LaneRecovery()
  for _ in range(SETTLE):
    rec.update(0.0, lane(-0.3), V, steering=True)
  swung = lane(-0.3 + 0.6)
  k = rec.update(0.0, swung, V, steering=True)
  right = pursuit_curvature(0.0, 0.6, 0.0, V)
  assert k == pytest.approx(RECOVERY_SHARE * right, rel=0.02)
  assert LaneRecovery().update(0.0, swung, V, steering=False) == 0.0   # not steering: the model's, untouched


def test_a_swing_is_not_learnt_as_bias():
  rec = LaneRecovery()
  n = int(2.0 / DT_MDL)
  for _ in range(n):   # a 2 s swing 1.2 m off (clipped to BIAS_MAX_M as it is learnt)
    rec.update(0.0, lane(1.2), V, steering=True)
  assert abs(rec.bias) == pytest.approx(BIAS_MAX_M * (1 - (1 - DT_MDL / BIAS_TAU_S) ** n))


def _plan(planner: LateralPlanner, model_k: float, ln: EgoLane, active: bool = True, blinker: bool = False,
          steps: int = 60) -> float:
  driver = DriverInput(V, blinker, False, blinker, 1.0 if blinker else 0.0, False, False)
  for _ in range(steps):
    plan = planner.update(model_k, STRAIGHT, V, driver, active, 0.0, ln)
  return plan.desired_curvature


def test_the_planner_steers_back_harder_than_an_under_steering_model():
  right = pursuit_curvature(0.0, 0.9, 0.0, V)   # 0.9 m right of centre, the model asking for half of it
  planner = LateralPlanner()
  k = _plan(planner, 0.5 * right, lane(0.9))
  # 3 s in, a seventh of the offset is taken for the lines' bias: the rest is steered back with RECOVERY_SHARE
  expect = 0.5 * right + RECOVERY_SHARE * (lane_pursuit_curvature(lane(0.9), V, planner.recovery.bias) - 0.5 * right)
  assert k == pytest.approx(expect, rel=0.01)
  assert k > 0.5 * right + 0.5 * RECOVERY_SHARE * (right - 0.5 * right)
  assert _plan(LateralPlanner(), 0.5 * right, None) == pytest.approx(0.5 * right)


def test_no_lane_pursuit_during_a_lane_change():
  planner = LateralPlanner()
  _plan(planner, 0.0, lane(0.0), blinker=True, steps=10)
  assert planner.desire.state != log.LaneChangeState.off
  # mid-change the old lane's lines put the car far off their centre: the model's curvature is kept, nothing learnt
  assert _plan(planner, 0.001, lane(1.5), blinker=True, steps=5) == pytest.approx(0.001)
  assert planner.recovery.bias == 0.0
