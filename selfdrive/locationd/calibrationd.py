"""calibrationd: how the road camera is mounted against the car, its pitch and yaw, from where the road's straight
lines meet in the image.

modeld finds that point (vanishingPoint, 4 Hz, selfdrive/modeld/vanishing_point.py) and the mount angles under which
it is straight ahead. On a flat road the lines meet on the horizon, whose row is the pitch; on a straight one they
meet straight down the road, whose column is the yaw, give or take the car's heading in its lane, which averages
out over a few minutes of driving. Each angle is the median of the recent points, taken whoever steers (the image
does not depend on it) at speed and while the car is not turning much: a curve's lines meet further sideways, and
only a little off the horizon, so the yaw takes straighter driving than the pitch. The car may engage once
MIN_POINTS of both are in (selfdrived: "calibration in progress" until then), five seconds of driving.

Both angles matter to the model. A pitch left uncalibrated made it read distances wrong: seed 3's camera, 1.33 degrees
down, made it read a 275 m bend at 0.1-0.3 of its curvature 10-50 m ahead (1.1-1.2 with the pitch known). A yaw off
turns the lane it sees: the car holds a line off the centre where the turned lane looks centred.

The yaw used to be learnt from the steering instead, before the car engaged: the yaw at which the model steered as the
driver did. That carried whatever the model's steering got wrong in those seconds into the calibration, for the rest
of the drive: over ten 10-minute simulator drives it landed 0.0003-0.027 rad off the mount (0.027 on seed 67, 0.022 on
101, 0.012 on 43), where the median of the same drives' vanishing points is 0.0001-0.0055 off (first five seconds:
within 0.0068; any 600-point window: within 0.0068; 240-point windows: within 0.012, hence the longer window for the
yaw). The model's lane lines then sit within 0.05 m of the truth at the pursuit's lookahead on seeds 67, 97 and 43
(0.07-0.44 m with the steering's yaw; 0.16 on 127, a heading error of the model's own), while its curvature alone held
seeds 67 and 97 0.18 m right: plannerd's trim (lane_pursuit) steers the slow part by the lines since, and centring
improved (seed 67: mean error 0.184 -> 0.079 m, 97: 0.150 -> 0.051).
Roll is left at zero.
"""
import math
import sys
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cereal import log, messaging
from selfdrive.common.process import exit_on_sigterm
from selfdrive.controls.lib.vehicle_model import VehicleModel

MIN_SPEED = 8.0                  # m/s
PITCH_POINTS = 240               # vanishing points the pitch is the median of (a minute at 4 Hz)
YAW_POINTS = 600                 # ... the yaw, which the car's heading in its lane and gentle bends scatter more
MIN_POINTS = 20                  # 5 s of them before the car may engage
YAW_MAX_CURVATURE = 1.5e-3       # 1/m: a curve's lines meet sideways of straight ahead, so only near-straight driving
PITCH_MAX_CURVATURE = 4e-3       # 1/m: a 250 m bend's lines still meet close to the horizon
MAX_YAW = math.radians(10.0)     # beyond this the device is mounted wrong: invalid
MAX_PITCH = math.radians(10.0)
PUBLISH_EVERY = 5                # model frames per liveCalibration (4 Hz)
CalStatus = log.LiveCalibrationData.Status
INPUTS = ["vanishingPoint", "modelV2", "carState", "carParams", "liveParameters"]


@dataclass(frozen=True)
class MountAngles:
  """What one vanishing point says of the mount: None for an angle it is not one to learn from."""
  pitch: float | None
  yaw: float | None


@dataclass
class Calibrator:
  """The pitch and the yaw each vanishing point says -> their medians over the latest points."""
  pitches: deque[float] = field(default_factory=lambda: deque(maxlen=PITCH_POINTS))
  yaws: deque[float] = field(default_factory=lambda: deque(maxlen=YAW_POINTS))

  @property
  def pitch(self) -> float:
    return float(np.median(self.pitches)) if self.pitches else 0.0

  @property
  def yaw(self) -> float:
    return float(np.median(self.yaws)) if self.yaws else 0.0

  def add(self, angles: MountAngles) -> None:
    if angles.pitch is not None:
      self.pitches.append(angles.pitch)
    if angles.yaw is not None:
      self.yaws.append(angles.yaw)

  @property
  def points(self) -> int:
    """Points learnt from: the fewer of the two angles'."""
    return min(len(self.pitches), len(self.yaws))

  def status_of(self, pitch: float, yaw: float) -> int:
    if self.points < MIN_POINTS:
      return CalStatus.uncalibrated
    return CalStatus.invalid if abs(yaw) > MAX_YAW or abs(pitch) > MAX_PITCH else CalStatus.calibrated

  @property
  def status(self) -> int:
    return self.status_of(self.pitch, self.yaw)

  def fill(self, cal) -> None:
    pitch, yaw = self.pitch, self.yaw   # each a median over up to YAW_POINTS: taken once
    cal.calStatus = self.status_of(pitch, yaw)
    cal.validBlocks = self.points
    cal.calPerc = min(100 * self.points // MIN_POINTS, 100)
    cal.rpyCalib = [0.0, pitch, yaw]
    cal.rpyCalibSpread = [0.0, float(np.std(self.pitches)) if self.pitches else 0.0,
                          float(np.std(self.yaws)) if self.yaws else 0.0]


def learnable_angles(vp, v_ego: float, car_curvature: float) -> MountAngles:
  """The camera pitch and yaw (rad) a vanishing point says, each only where the car's motion lets it tell them."""
  if not vp.found or v_ego < MIN_SPEED:
    return MountAngles(None, None)
  return MountAngles(vp.pitch if abs(car_curvature) <= PITCH_MAX_CURVATURE else None,
                     vp.yaw if abs(car_curvature) <= YAW_MAX_CURVATURE else None)


def car_motion(sm: messaging.SubMaster) -> tuple[float, float] | None:
  """(speed, the curvature the steering angle makes) now; None before the car is known."""
  if not (sm.alive["carState"] and sm.seen["carParams"]):
    return None
  cs = sm["carState"]
  return cs.vEgo, VehicleModel.from_submaster(sm["carParams"], sm).curvature(cs.steeringAngleDeg, cs.vEgo)


def frame_angles(sm: messaging.SubMaster, motion: tuple[float, float] | None) -> MountAngles | None:
  """The angles to learn from the vanishing point received since the last model frame, if one came."""
  if motion is None or not (sm.updated["vanishingPoint"] and sm.valid["vanishingPoint"]):
    return None
  return learnable_angles(sm["vanishingPoint"], *motion)


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="modelV2")
  pm = messaging.PubMaster(["liveCalibration"])
  cal, frames = Calibrator(), 0
  while True:
    sm.update(1000)
    if not sm.updated["modelV2"]:
      continue
    if (angles := frame_angles(sm, car_motion(sm))) is not None:
      cal.add(angles)
    frames += 1
    if frames % PUBLISH_EVERY == 0:
      msg = messaging.new_message("liveCalibration")
      cal.fill(msg.liveCalibration)   # valid while uncalibrated too: the status says how far it got
      pm.send("liveCalibration", msg)


if __name__ == "__main__":
  sys.exit(main())
