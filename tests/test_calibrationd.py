"""calibrationd: the camera's pitch and yaw, each the median of what modeld's vanishing points say, learnt only from
points the car's motion lets tell them, whoever steers."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import messaging
from selfdrive.locationd.calibrationd import (
  INPUTS,
  MAX_PITCH,
  MAX_YAW,
  MIN_POINTS,
  MIN_SPEED,
  PITCH_MAX_CURVATURE,
  PITCH_POINTS,
  YAW_MAX_CURVATURE,
  YAW_POINTS,
  Calibrator,
  CalStatus,
  MountAngles,
  car_motion,
  frame_angles,
  learnable_angles,
)


@settings(max_examples=40, deadline=None)
@given(st.floats(-math.radians(3), math.radians(3)), st.floats(-math.radians(4), math.radians(4)),
       st.floats(0.0, 0.3), st.integers(0, 2**31 - 1))
def test_angles_are_the_medians_of_the_vanishing_points(pitch, yaw, outliers, seed):
  """Points scattered about the mount (the car wandering in its lane turns the yaw both ways), a share of them (a
  car's edges, a seam) anywhere: the medians hold, and the car may engage once MIN_POINTS are in."""
  rng, cal = np.random.default_rng(seed), Calibrator()
  statuses = []
  for _ in range(PITCH_POINTS):
    wild = rng.random() < outliers
    point = (rng.uniform(-0.1, 0.1, 2) if wild else
             (pitch + rng.normal(0, math.radians(0.3)), yaw + rng.normal(0, math.radians(0.5))))
    cal.add(MountAngles(float(point[0]), float(point[1])))
    statuses.append(cal.status)
  assert statuses.index(CalStatus.calibrated) == MIN_POINTS - 1
  assert cal.pitch == pytest.approx(pitch, abs=math.radians(0.2))
  assert cal.yaw == pytest.approx(yaw, abs=math.radians(0.3))


def test_needs_both_angles_before_it_is_calibrated():
  """Bends give pitches but no yaws: the car may not engage on a pitch alone."""
  cal = Calibrator()
  for _ in range(2 * MIN_POINTS):
    cal.add(MountAngles(0.01, None))
  assert cal.status == CalStatus.uncalibrated and cal.yaw == 0.0
  for _ in range(MIN_POINTS):
    cal.add(MountAngles(None, -0.02))
  assert cal.status == CalStatus.calibrated
  assert (cal.pitch, cal.yaw) == pytest.approx((0.01, -0.02))


def test_follows_the_latest_points():
  """A mount that moved: the pitch follows within half its window, the yaw within half its longer one."""
  cal = Calibrator()
  for _ in range(YAW_POINTS):
    cal.add(MountAngles(0.02, 0.03))
  for _ in range(PITCH_POINTS // 2 + 1):
    cal.add(MountAngles(-0.01, -0.015))
  assert (cal.pitch, cal.yaw) == pytest.approx((-0.01, 0.03))
  for _ in range(YAW_POINTS // 2 - PITCH_POINTS // 2):
    cal.add(MountAngles(-0.01, -0.015))
  assert (cal.pitch, cal.yaw) == pytest.approx((-0.01, -0.015))


@pytest.mark.parametrize("angles", [(0.0, 1.5 * MAX_YAW), (0.0, -1.5 * MAX_YAW), (-1.5 * MAX_PITCH, 0.0)])
def test_a_wild_mount_is_invalid(angles):
  cal = Calibrator()
  for _ in range(MIN_POINTS):
    cal.add(MountAngles(*angles))
  assert cal.status == CalStatus.invalid


def vp_msg(pitch: float, yaw: float, found: bool = True):
  msg = messaging.new_message("vanishingPoint")
  msg.vanishingPoint.found, msg.vanishingPoint.pitch, msg.vanishingPoint.yaw = found, pitch, yaw
  return messaging.log_from_bytes(msg.to_bytes()).vanishingPoint


def test_learns_only_from_points_worth_learning_from():
  """A curve's lines meet sideways of straight ahead and only a little off the horizon: a gentle bend still tells
  the pitch, only near-straight driving the yaw."""
  both = learnable_angles(vp_msg(0.01, -0.02), 20.0, 0.0)
  assert (both.pitch, both.yaw) == pytest.approx((0.01, -0.02))
  bend = learnable_angles(vp_msg(0.01, -0.02), 20.0, -1.1 * YAW_MAX_CURVATURE)
  assert bend.pitch == pytest.approx(0.01) and bend.yaw is None
  turning_hard = learnable_angles(vp_msg(0.01, -0.02), 20.0, 1.1 * PITCH_MAX_CURVATURE)
  assert turning_hard == MountAngles(None, None)
  assert learnable_angles(vp_msg(0.01, -0.02, found=False), 20.0, 0.0) == MountAngles(None, None)   # no lines met
  assert learnable_angles(vp_msg(0.01, -0.02), MIN_SPEED - 1, 0.0) == MountAngles(None, None)          # too slow


def test_fills_live_calibration():
  cal = Calibrator()
  for _ in range(MIN_POINTS // 2):
    cal.add(MountAngles(-0.015, 0.02))

  def filled():
    msg = messaging.new_message("liveCalibration")
    cal.fill(msg.liveCalibration)
    return messaging.log_from_bytes(msg.to_bytes()).liveCalibration

  lc = filled()
  assert lc.calStatus == CalStatus.uncalibrated and lc.calPerc == 50 and lc.validBlocks == MIN_POINTS // 2
  for _ in range(MIN_POINTS):
    cal.add(MountAngles(-0.015, 0.02))
  lc = filled()
  assert lc.calStatus == CalStatus.calibrated and lc.calPerc == 100 and lc.validBlocks == MIN_POINTS + MIN_POINTS // 2
  assert list(lc.rpyCalib) == pytest.approx([0.0, -0.015, 0.02])
  assert list(lc.rpyCalibSpread) == pytest.approx([0.0, 0.0, 0.0])


def test_learns_whoever_steers_once_per_point():
  """The image does not depend on who steers; a point is learnt from once, at the model frame after it came."""
  from tests.test_closed_loop_sil import car_params_message
  sm = messaging.SubMaster(INPUTS)

  def frame(t_ns: int, angles: tuple[float, float] | None) -> MountAngles | None:
    car = messaging.new_message("carState")
    car.carState.vEgo = 20.0
    msgs = [messaging.new_message("modelV2"), car, car_params_message()]
    if angles is not None:
      vp = messaging.new_message("vanishingPoint")
      vp.vanishingPoint.found = True
      vp.vanishingPoint.pitch, vp.vanishingPoint.yaw = angles
      msgs.append(vp)
    for m in msgs:
      m.logMonoTime = t_ns
    sm.update_msgs(t_ns, [m.to_bytes() for m in msgs])
    return frame_angles(sm, car_motion(sm))

  got = frame(1_000_000_000, (0.01, -0.02))
  assert (got.pitch, got.yaw) == pytest.approx((0.01, -0.02))
  assert frame(1_050_000_000, None) is None
  got = frame(1_100_000_000, (-0.02, 0.03))
  assert (got.pitch, got.yaw) == pytest.approx((-0.02, 0.03))
