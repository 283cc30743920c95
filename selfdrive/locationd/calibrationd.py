"""calibrationd: how the road camera is mounted (its yaw against the car), learnt from how the driving model would
steer against how the driver does.

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

Pitch and roll are left at zero: they barely move the steering, and the model's lane heights are not reliable
enough to learn them from.
"""
import math
import sys
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
PUBLISH_EVERY = 5                # model frames per liveCalibration (4 Hz)
CalStatus = log.LiveCalibrationData.Status
INPUTS = ["modelV2", "carState", "carParams", "liveParameters", "selfdriveState"]


@dataclass
class Calibrator:
  """Yaw samples (the yaw the frame was warped with, plus the error its model frame showed) -> block means -> yaw."""
  yaw: float = 0.0                 # what modeld warps with now
  samples: list[float] = field(default_factory=list)
  blocks: list[float] = field(default_factory=list)

  def add(self, yaw_error: float) -> None:
    self.samples.append(self.yaw + yaw_error)
    if len(self.samples) == BLOCK_SAMPLES:
      self.blocks = [*self.blocks[-(MAX_BLOCKS - 1):], float(np.mean(self.samples))]
      self.samples = []
      self.yaw = float(np.mean(self.blocks))

  @property
  def status(self) -> int:
    if len(self.blocks) < MIN_BLOCKS:
      return CalStatus.uncalibrated
    return CalStatus.invalid if abs(self.yaw) > MAX_YAW else CalStatus.calibrated

  def fill(self, cal) -> None:
    cal.calStatus = self.status
    cal.validBlocks = len(self.blocks)
    cal.calPerc = min(100, 100 * len(self.blocks) // MIN_BLOCKS)
    cal.rpyCalib = [0.0, 0.0, self.yaw]
    cal.rpyCalibSpread = [0.0, 0.0, float(np.std(self.blocks)) if self.blocks else 0.0]


def yaw_error(md, v_ego: float, car_curvature: float) -> float | None:
  """The yaw (rad) by which this model frame's warp is off the mount, or None if the frame is not one to learn from."""
  if not md.valid or v_ego < MIN_SPEED or abs(car_curvature) > MAX_CURVATURE:
    return None
  return (md.action.desiredCurvature - car_curvature) * float(pursuit_lookahead(v_ego)) / 2


def frame_yaw_error(sm: messaging.SubMaster) -> float | None:
  """The yaw error to learn from in the model frame just received: None while the stack steers, or before the car is
  known."""
  if sm.seen["selfdriveState"] and sm["selfdriveState"].active:
    return None
  if not (sm.alive["carState"] and sm.seen["carParams"]):
    return None
  cs = sm["carState"]
  car_curvature = VehicleModel.from_submaster(sm["carParams"], sm).curvature(cs.steeringAngleDeg, cs.vEgo)
  return yaw_error(sm["modelV2"], cs.vEgo, car_curvature)


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="modelV2")
  pm = messaging.PubMaster(["liveCalibration"])
  cal, frames = Calibrator(), 0
  while True:
    sm.update(1000)
    if not sm.updated["modelV2"]:
      continue
    if (error := frame_yaw_error(sm)) is not None:
      cal.add(error)
    frames += 1
    if frames % PUBLISH_EVERY == 0:
      msg = messaging.new_message("liveCalibration")
      cal.fill(msg.liveCalibration)   # valid while uncalibrated too: the status says how far it got
      pm.send("liveCalibration", msg)


if __name__ == "__main__":
  sys.exit(main())
