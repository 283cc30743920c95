"""calibrationd: how the road camera is mounted: its yaw against the car, learnt from how the driving model would
steer against how the driver does, and its pitch, from the horizon the road's lines meet on.

modeld warps each frame with the latest liveCalibration. The model's desired curvature is a pure pursuit of the lane
centre L ahead (selfdrive/modeld/constants.py): a frame warped with a yaw e off the mount shows the lane turned by e,
and the model asks for 2 e / L more curvature than the road needs. While the driver steers, down the middle of a
lane on average, the car's own curvature (its steering angle's) is what the road needs, so
(desired - car curvature) L / 2 is the yaw still to be corrected. Samples are taken only where that holds well
(speed, the car not turning), collected into blocks, and the calibration is the mean of the recent blocks. The car may
engage once MIN_BLOCKS are in (selfdrived: "calibration in progress" until then).

Not the model's lane lines: the heading of their centre read the same ~0.8 degrees off on every simulator seed
measured (3, 7, 94) with the car dead centre and straight, which held the engaged car ~0.25 m off centre, steering
straight ahead at lane lines that seemed turned. The steering read here learns within 0.2 to 0.45 degrees of the
mount (seed 3: -2.0 for -1.6; seed 7: -0.27 for -0.05), and what it learns is the yaw at which the model steers as
the driver does, the model's own bias included: seed 7 with the true mount centred no better (0.054 m against 0.049).

It learns only while the driver steers: engaged, the car's curvature is the model's own and says nothing.

Pitch: modeld finds where the road's straight lines meet in the camera image (vanishingPoint, 4 Hz); on a flat road
that is on the horizon, and its row is the pitch. The steering cannot tell it (a pitched frame barely turns the model's
steering on a straight), but the model reads distances from it: seed 3's camera, 1.33 degrees down and uncalibrated,
made the model read a 275 m bend at 0.1-0.3 of its curvature 10-50 m ahead (1.1-1.2 with the pitch known).
The pitch is the median of the recent points, taken whoever steers (the image does not depend on it) while the car is
not turning much; lines of a curve still meet on the horizon, only further sideways. On simulator seeds 3, 7, 11 and
94 the median lands within 0.06 degrees of the mount. Roll is left at zero.
"""
import math
import sys
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cereal import log, messaging
from selfdrive.common.process import exit_on_sigterm
from selfdrive.controls.lib.vehicle_model import VehicleModel
from selfdrive.modeld.constants import pursuit_lookahead

MIN_SPEED = 8.0                  # m/s
MAX_CURVATURE = 1.5e-3           # 1/m: the car must not be turning (the curvature its steering angle makes)
BLOCK_SAMPLES = 20               # model frames per block (1 s at 20 Hz)
MIN_BLOCKS = 4
MAX_BLOCKS = 60                  # the calibration follows the last minute of qualifying driving
MAX_YAW = math.radians(10.0)     # beyond this the device is mounted wrong: invalid
MAX_PITCH = math.radians(10.0)
PITCH_SAMPLES = 240              # vanishing points the pitch is the median of (a minute at 4 Hz)
MIN_PITCH_SAMPLES = 20           # 5 s of them before the car may engage
PITCH_MAX_CURVATURE = 4e-3       # 1/m: a 250 m bend's lines still meet close to the horizon
PUBLISH_EVERY = 5                # model frames per liveCalibration (4 Hz)
CalStatus = log.LiveCalibrationData.Status
INPUTS = ["modelV2", "vanishingPoint", "carState", "carParams", "liveParameters", "selfdriveState"]


@dataclass
class Calibrator:
  """Yaw samples (the yaw the frame was warped with, plus the error its model frame showed) -> block means -> yaw;
  the pitch the vanishing points say -> their median -> pitch."""
  yaw: float = 0.0                 # what modeld warps with now
  samples: list[float] = field(default_factory=list)
  blocks: list[float] = field(default_factory=list)
  pitches: deque[float] = field(default_factory=lambda: deque(maxlen=PITCH_SAMPLES))

  @property
  def pitch(self) -> float:
    return float(np.median(self.pitches)) if self.pitches else 0.0

  def add_pitch(self, pitch: float) -> None:
    self.pitches.append(pitch)

  def add(self, yaw_error: float) -> None:
    self.samples.append(self.yaw + yaw_error)
    if len(self.samples) == BLOCK_SAMPLES:
      self.blocks = [*self.blocks[-(MAX_BLOCKS - 1):], float(np.mean(self.samples))]
      self.samples = []
      self.yaw = float(np.mean(self.blocks))

  @property
  def status(self) -> int:
    if len(self.blocks) < MIN_BLOCKS or len(self.pitches) < MIN_PITCH_SAMPLES:
      return CalStatus.uncalibrated
    return CalStatus.invalid if abs(self.yaw) > MAX_YAW or abs(self.pitch) > MAX_PITCH else CalStatus.calibrated

  def fill(self, cal) -> None:
    cal.calStatus = self.status
    cal.validBlocks = len(self.blocks)
    cal.calPerc = min(100 * len(self.blocks) // MIN_BLOCKS, 100 * len(self.pitches) // MIN_PITCH_SAMPLES, 100)
    cal.rpyCalib = [0.0, self.pitch, self.yaw]
    cal.rpyCalibSpread = [0.0, float(np.std(self.pitches)) if self.pitches else 0.0,
                          float(np.std(self.blocks)) if self.blocks else 0.0]


def yaw_error(md, v_ego: float, car_curvature: float) -> float | None:
  """The yaw (rad) by which this model frame's warp is off the mount, or None if the frame is not one to learn from."""
  if not md.valid or v_ego < MIN_SPEED or abs(car_curvature) > MAX_CURVATURE:
    return None
  return (md.action.desiredCurvature - car_curvature) * float(pursuit_lookahead(v_ego)) / 2


def car_motion(sm: messaging.SubMaster) -> tuple[float, float] | None:
  """(speed, the curvature the steering angle makes) now; None before the car is known."""
  if not (sm.alive["carState"] and sm.seen["carParams"]):
    return None
  cs = sm["carState"]
  return cs.vEgo, VehicleModel.from_submaster(sm["carParams"], sm).curvature(cs.steeringAngleDeg, cs.vEgo)


def frame_yaw_error(sm: messaging.SubMaster, motion: tuple[float, float] | None) -> float | None:
  """The yaw error to learn from in the model frame just received (motion: car_motion's): None while the stack
  steers, or before the car is known."""
  if motion is None or (sm.seen["selfdriveState"] and sm["selfdriveState"].active):
    return None
  return yaw_error(sm["modelV2"], *motion)


def vanishing_point_pitch(vp, v_ego: float, car_curvature: float) -> float | None:
  """The camera pitch (rad) a vanishing point says, or None if it is not one to learn from."""
  if not vp.found or v_ego < MIN_SPEED or abs(car_curvature) > PITCH_MAX_CURVATURE:
    return None
  return vp.pitch


def frame_pitch(sm: messaging.SubMaster, motion: tuple[float, float] | None) -> float | None:
  """The pitch to learn from the vanishing point received since the last model frame, if one came."""
  if motion is None or not (sm.updated["vanishingPoint"] and sm.valid["vanishingPoint"]):
    return None
  return vanishing_point_pitch(sm["vanishingPoint"], *motion)


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="modelV2")
  pm = messaging.PubMaster(["liveCalibration"])
  cal, frames = Calibrator(), 0
  while True:
    sm.update(1000)
    if not sm.updated["modelV2"]:
      continue
    motion = car_motion(sm)
    if (error := frame_yaw_error(sm, motion)) is not None:
      cal.add(error)
    if (pitch := frame_pitch(sm, motion)) is not None:
      cal.add_pitch(pitch)
    frames += 1
    if frames % PUBLISH_EVERY == 0:
      msg = messaging.new_message("liveCalibration")
      cal.fill(msg.liveCalibration)   # valid while uncalibrated too: the status says how far it got
      pm.send("liveCalibration", msg)


if __name__ == "__main__":
  sys.exit(main())
