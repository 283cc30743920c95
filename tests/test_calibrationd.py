"""calibrationd: the yaw error it reads off the model's steering, and the yaw it converges to from such frames; the
pitch it takes from modeld's vanishing points."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import messaging
from selfdrive.locationd.calibrationd import (
  BLOCK_SAMPLES,
  INPUTS,
  MAX_CURVATURE,
  MAX_PITCH,
  MAX_YAW,
  MIN_BLOCKS,
  MIN_PITCH_SAMPLES,
  MIN_SPEED,
  PITCH_MAX_CURVATURE,
  PITCH_SAMPLES,
  Calibrator,
  CalStatus,
  car_motion,
  frame_pitch,
  frame_yaw_error,
  vanishing_point_pitch,
  yaw_error,
)
from selfdrive.modeld.constants import pursuit_curvature


def steering_for(error: float, v_ego: float, car_curvature: float = 0.0) -> float:
  """The desired curvature of a model whose frame is warped `error` rad off the mount: the pursuit it is trained on,
  of a lane turned by that much, on top of the curvature the road needs."""
  return float(pursuit_curvature(car_curvature, 0.0, error, v_ego))


@settings(max_examples=40, deadline=None)
@given(st.floats(-math.radians(4), math.radians(4)), st.integers(0, 2**31 - 1))
def test_converges_to_the_mount_yaw(psi, seed):
  """Each frame is warped with the current calibration; the model steers for what is left to correct, plus the
  driver's own wandering in the lane (zero mean) and the model's noise."""
  rng, cal = np.random.default_rng(seed), Calibrator()
  for _ in range(MIN_PITCH_SAMPLES):
    cal.add_pitch(0.01)
  statuses = []
  for _ in range(30 * BLOCK_SAMPLES):
    v = float(rng.uniform(MIN_SPEED, 35.0))
    k_car = float(rng.uniform(-MAX_CURVATURE, MAX_CURVATURE))
    desired = steering_for(psi - cal.yaw, v, k_car) + rng.normal(0, 2e-4)
    cal.add(yaw_error(model_msg(desired), v, k_car))
    statuses.append(cal.status)
  assert statuses[0] == CalStatus.uncalibrated and statuses[-1] == CalStatus.calibrated
  assert statuses.index(CalStatus.calibrated) == MIN_BLOCKS * BLOCK_SAMPLES - 1
  assert cal.yaw == pytest.approx(psi, abs=math.radians(0.15))


def test_a_wild_mount_is_invalid():
  cal = Calibrator()
  for _ in range(MIN_PITCH_SAMPLES):
    cal.add_pitch(0.0)
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    cal.add(MAX_YAW * 1.5 - cal.yaw)
  assert cal.status == CalStatus.invalid
  tilted = Calibrator()
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    tilted.add(-tilted.yaw)
  for _ in range(MIN_PITCH_SAMPLES):
    tilted.add_pitch(-1.5 * MAX_PITCH)
  assert tilted.status == CalStatus.invalid


def vp_msg(pitch: float, found: bool = True):
  msg = messaging.new_message("vanishingPoint")
  msg.vanishingPoint.found, msg.vanishingPoint.pitch = found, pitch
  return messaging.log_from_bytes(msg.to_bytes()).vanishingPoint


@settings(max_examples=40, deadline=None)
@given(st.floats(-math.radians(3), math.radians(3)), st.floats(0.0, 0.3), st.integers(0, 2**31 - 1))
def test_pitch_is_the_median_of_the_vanishing_points(pitch, outliers, seed):
  """Points scattered about the mount's pitch, a share of them (a car's edges, a seam) anywhere: the median holds."""
  rng, cal = np.random.default_rng(seed), Calibrator()
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    cal.add(-cal.yaw)
  statuses = []
  for _ in range(PITCH_SAMPLES):
    wild = rng.random() < outliers
    cal.add_pitch(float(rng.uniform(-0.1, 0.1) if wild else pitch + rng.normal(0, math.radians(0.3))))
    statuses.append(cal.status)
  assert statuses.index(CalStatus.calibrated) == MIN_PITCH_SAMPLES - 1
  assert cal.pitch == pytest.approx(pitch, abs=math.radians(0.2))


def test_pitch_follows_the_latest_minute():
  cal = Calibrator()
  for _ in range(PITCH_SAMPLES):
    cal.add_pitch(0.02)
  for _ in range(PITCH_SAMPLES // 2 + 1):
    cal.add_pitch(-0.01)
  assert cal.pitch == pytest.approx(-0.01)


def test_learns_pitch_only_from_points_worth_learning_from():
  assert vanishing_point_pitch(vp_msg(0.01), 20.0, 0.0) == pytest.approx(0.01)
  assert vanishing_point_pitch(vp_msg(0.01), 20.0, -0.9 * PITCH_MAX_CURVATURE) == pytest.approx(0.01)
  assert vanishing_point_pitch(vp_msg(0.01, found=False), 20.0, 0.0) is None       # no lines met
  assert vanishing_point_pitch(vp_msg(0.01), MIN_SPEED - 1, 0.0) is None           # too slow
  assert vanishing_point_pitch(vp_msg(0.01), 20.0, 1.1 * PITCH_MAX_CURVATURE) is None   # turning hard


def model_builder(desired_curvature: float, valid: bool = True):
  msg = messaging.new_message("modelV2")
  msg.modelV2.action.desiredCurvature = desired_curvature
  msg.modelV2.valid = valid
  return msg


def model_msg(desired_curvature: float, valid: bool = True):
  return messaging.log_from_bytes(model_builder(desired_curvature, valid).to_bytes()).modelV2


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.05, 0.05), st.floats(MIN_SPEED, 40.0), st.floats(-MAX_CURVATURE, MAX_CURVATURE))
def test_yaw_error_is_what_the_model_steers_for(error, v_ego, car_curvature):
  """On a straight or in a gentle curve alike: what counts is the model's steering beyond the car's."""
  got = yaw_error(model_msg(steering_for(error, v_ego, car_curvature)), v_ego, car_curvature)
  assert got == pytest.approx(error, abs=1e-6)


def test_learns_only_from_frames_worth_learning_from():
  desired = steering_for(0.02, 20.0)
  assert yaw_error(model_msg(desired), 20.0, 0.0) == pytest.approx(0.02, abs=1e-6)
  assert yaw_error(model_msg(desired), MIN_SPEED - 1, 0.0) is None                 # too slow
  assert yaw_error(model_msg(desired), 20.0, 1.1 * MAX_CURVATURE) is None          # the car is turning
  assert yaw_error(model_msg(desired), 20.0, -1.1 * MAX_CURVATURE) is None
  assert yaw_error(model_msg(desired, valid=False), 20.0, 0.0) is None             # a torn frame


def test_fills_live_calibration():
  cal = Calibrator()
  for _ in range(MIN_BLOCKS * BLOCK_SAMPLES):
    cal.add(0.02 - cal.yaw)
  msg = messaging.new_message("liveCalibration")
  cal.fill(msg.liveCalibration)
  lc = messaging.log_from_bytes(msg.to_bytes()).liveCalibration
  assert lc.calStatus == CalStatus.uncalibrated and lc.calPerc == 0   # no pitch yet
  for _ in range(MIN_PITCH_SAMPLES):
    cal.add_pitch(-0.015)
  msg = messaging.new_message("liveCalibration")
  cal.fill(msg.liveCalibration)
  lc = messaging.log_from_bytes(msg.to_bytes()).liveCalibration
  assert lc.calStatus == CalStatus.calibrated and lc.validBlocks == MIN_BLOCKS and lc.calPerc == 100
  assert lc.rpyCalib[0] == 0.0 and lc.rpyCalib[1] == pytest.approx(-0.015)
  assert lc.rpyCalib[2] == pytest.approx(0.02, abs=1e-3)


def test_learns_while_the_driver_steers_not_while_the_stack_does():
  """Engaged, the car's curvature is the model's own: the difference says nothing about the mount."""
  from tests.test_closed_loop_sil import car_params_message
  sm = messaging.SubMaster(INPUTS)

  def frame(t_ns: int, engaged: bool | None) -> float | None:
    car = messaging.new_message("carState")
    car.carState.vEgo = 20.0
    msgs = [model_builder(steering_for(0.02, 20.0)), car, car_params_message()]
    if engaged is not None:
      sd = messaging.new_message("selfdriveState")
      sd.selfdriveState.active = sd.selfdriveState.enabled = engaged
      msgs.append(sd)
    for m in msgs:
      m.logMonoTime = t_ns
    sm.update_msgs(t_ns, [m.to_bytes() for m in msgs])
    return frame_yaw_error(sm, car_motion(sm))

  assert frame(1_000_000_000, None) == pytest.approx(0.02, abs=1e-6)    # no selfdrived yet: the driver drives
  assert frame(1_050_000_000, False) == pytest.approx(0.02, abs=1e-6)
  assert frame(1_100_000_000, True) is None
  assert frame(1_150_000_000, False) == pytest.approx(0.02, abs=1e-6)


def test_learns_pitch_whoever_steers_once_per_point():
  """The horizon does not depend on who steers; a point is learnt from once, at the model frame after it came."""
  from tests.test_closed_loop_sil import car_params_message
  sm = messaging.SubMaster(INPUTS)

  def frame(t_ns: int, engaged: bool, pitch: float | None) -> float | None:
    car = messaging.new_message("carState")
    car.carState.vEgo = 20.0
    sd = messaging.new_message("selfdriveState")
    sd.selfdriveState.active = sd.selfdriveState.enabled = engaged
    msgs = [model_builder(0.0), car, car_params_message(), sd]
    if pitch is not None:
      vp = messaging.new_message("vanishingPoint")
      vp.vanishingPoint.found, vp.vanishingPoint.pitch = True, pitch
      msgs.append(vp)
    for m in msgs:
      m.logMonoTime = t_ns
    sm.update_msgs(t_ns, [m.to_bytes() for m in msgs])
    return frame_pitch(sm, car_motion(sm))

  assert frame(1_000_000_000, False, 0.01) == pytest.approx(0.01)
  assert frame(1_050_000_000, False, None) is None
  assert frame(1_100_000_000, True, -0.02) == pytest.approx(-0.02)
