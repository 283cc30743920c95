"""calibrationd: the lane heading it measures, and the yaw it converges to from samples like the model's."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import arrays, messaging
from selfdrive.locationd.calibrationd import (
  BLOCK_SAMPLES,
  INPUTS,
  MAX_CURVATURE,
  MAX_LANE_CURVATURE,
  MAX_YAW,
  MIN_BLOCKS,
  MIN_SPEED,
  Calibrator,
  CalStatus,
  frame_heading,
  lane_heading,
  qualifies,
)

SHAPES = arrays.MODEL_V2_SHAPES


def lanes(heading: float, offset: float = 0.0, width: float = 3.6, curvature: float = 0.0) -> np.ndarray:
  """Four lane lines (y right) of a lane `offset` m right of us heading `heading` rad, as the model outputs them."""
  x = arrays.X_IDXS.astype(np.float64)
  centre = offset + math.tan(heading) * x + curvature * x ** 2 / 2
  out = np.zeros(SHAPES["laneLines"], np.float32)
  for i, k in enumerate((-1.5, -0.5, 0.5, 1.5)):
    out[i, :, 0] = centre + k * width
  return out


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.1, 0.1), st.floats(-1.5, 1.5), st.floats(2.8, 4.2))
def test_lane_heading_is_the_lane_slope(heading, offset, width):
  got = lane_heading(lanes(heading, offset, width), np.ones(4, np.float32))
  assert got == pytest.approx(heading, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.1, 0.1), st.floats(-MAX_LANE_CURVATURE, MAX_LANE_CURVATURE))
def test_a_gentle_curve_does_not_tilt_the_heading(heading, curvature):
  got = lane_heading(lanes(heading, curvature=curvature * 0.99), np.ones(4, np.float32))
  assert got == pytest.approx(heading, abs=1e-5)


@pytest.mark.parametrize("curvature", [-3 * MAX_LANE_CURVATURE, 1.5 * MAX_LANE_CURVATURE, 4 * MAX_CURVATURE])
def test_a_curve_is_not_learnt_from(curvature):
  assert lane_heading(lanes(0.0, curvature=curvature), np.ones(4, np.float32)) is None


def _bend_at_20m(curvature: float) -> np.ndarray:
  x = arrays.X_IDXS.astype(np.float64)
  out = lanes(0.0)
  out[..., 0] += np.where(x > 20.0, curvature * (x - 20.0) ** 2 / 2, 0.0)[None, :]
  return out


@pytest.mark.parametrize("curvature", [1e-3, -1.5e-3, 2e-3, 3e-3])
def test_a_bend_starting_ahead_is_not_learnt_from(curvature):
  """Straight for 20 m, then a bend: a straight-line fit over 6..40 m read a 3e-3 1/m one as 0.7 degrees."""
  assert lane_heading(_bend_at_20m(curvature), np.ones(4, np.float32)) is None


@pytest.mark.parametrize("curvature", [3e-4, -3e-4])
def test_a_gentle_bend_starting_ahead_barely_tilts_the_heading(curvature):
  assert abs(lane_heading(_bend_at_20m(curvature), np.ones(4, np.float32))) < math.radians(0.2)


def test_lane_heading_needs_both_ego_lines():
  probs = np.array([1.0, 0.2, 0.9, 1.0], np.float32)
  assert lane_heading(lanes(0.01), probs) is None


@settings(max_examples=40, deadline=None)
@given(st.floats(-math.radians(4), math.radians(4)), st.integers(0, 2**31 - 1))
def test_converges_to_the_mount_yaw(psi, seed):
  """Each frame is warped with the current calibration; the lane it shows is off by what is left to correct,
  plus the car's own wandering in its lane (zero mean) and the model's noise."""
  rng, cal = np.random.default_rng(seed), Calibrator()
  statuses = []
  for _ in range(30 * BLOCK_SAMPLES):
    cal.add(-(psi - cal.yaw) + rng.normal(0, 0.004))
    statuses.append(cal.status)
  assert statuses[0] == CalStatus.uncalibrated and statuses[-1] == CalStatus.calibrated
  assert statuses.index(CalStatus.calibrated) == MIN_BLOCKS * BLOCK_SAMPLES - 1
  assert cal.yaw == pytest.approx(psi, abs=math.radians(0.15))


def test_a_wild_mount_is_invalid():
  cal = Calibrator()
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    cal.add(-(MAX_YAW * 1.5 - cal.yaw))
  assert cal.status == CalStatus.invalid


def model_builder(heading: float, desired_curvature: float = 0.0, valid: bool = True):
  msg = messaging.new_message("modelV2")
  md = msg.modelV2
  md.laneLines = arrays.pack(lanes(heading), SHAPES["laneLines"])
  md.laneLineProbs = arrays.pack(np.ones(4, np.float32), SHAPES["laneLineProbs"])
  md.action.desiredCurvature = desired_curvature
  md.valid = valid
  return msg


def model_msg(heading: float, desired_curvature: float = 0.0, valid: bool = True):
  return messaging.log_from_bytes(model_builder(heading, desired_curvature, valid).to_bytes()).modelV2


def test_learns_only_from_frames_worth_learning_from():
  assert qualifies(model_msg(0.02), MIN_SPEED + 1, 0.0) == pytest.approx(0.02, abs=1e-5)
  assert qualifies(model_msg(0.02), MIN_SPEED - 1, 0.0) is None                 # too slow
  assert qualifies(model_msg(0.02), 20.0, 2 * MAX_CURVATURE) is None            # the car is turning
  assert qualifies(model_msg(0.02), 20.0, -2 * MAX_CURVATURE) is None
  assert qualifies(model_msg(0.02, valid=False), 20.0, 0.0) is None             # a torn frame


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.035, 0.035), st.floats(-8e-3, 8e-3))
def test_a_crooked_mount_steering_the_model_is_still_learnt_from(heading, desired_curvature):
  """Uncalibrated, a crooked mount makes the model steer on a straight road: those frames are the ones that show
  the mount, so the model's steering must not keep them out (only the car's own turning does)."""
  assert qualifies(model_msg(heading, desired_curvature), 20.0, 0.5 * MAX_CURVATURE) == pytest.approx(heading, abs=1e-5)


def test_fills_live_calibration():
  cal = Calibrator()
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    cal.add(-(0.02 - cal.yaw))
  msg = messaging.new_message("liveCalibration")
  cal.fill(msg.liveCalibration)
  lc = messaging.log_from_bytes(msg.to_bytes()).liveCalibration
  assert lc.calStatus == CalStatus.calibrated and lc.validBlocks == MIN_BLOCKS and lc.calPerc == 100
  assert list(lc.rpyCalib)[:2] == [0.0, 0.0] and lc.rpyCalib[2] == pytest.approx(0.02, abs=1e-3)


def test_learns_while_the_driver_steers_not_while_the_stack_does():
  """Engaged, the stack steers by lanes warped with this very calibration: what the model reads then feeds back."""
  from tests.test_closed_loop_sil import car_params_message
  sm = messaging.SubMaster(INPUTS)

  def frame(t_ns: int, engaged: bool | None) -> float | None:
    car = messaging.new_message("carState")
    car.carState.vEgo = 20.0
    msgs = [model_builder(0.02), car, car_params_message()]
    if engaged is not None:
      sd = messaging.new_message("selfdriveState")
      sd.selfdriveState.active = sd.selfdriveState.enabled = engaged
      msgs.append(sd)
    for m in msgs:
      m.logMonoTime = t_ns
    sm.update_msgs(t_ns, [m.to_bytes() for m in msgs])
    return frame_heading(sm)

  assert frame(1_000_000_000, None) == pytest.approx(0.02, abs=1e-5)    # no selfdrived yet: the driver drives
  assert frame(1_050_000_000, False) == pytest.approx(0.02, abs=1e-5)
  assert frame(1_100_000_000, True) is None
  assert frame(1_150_000_000, False) == pytest.approx(0.02, abs=1e-5)
