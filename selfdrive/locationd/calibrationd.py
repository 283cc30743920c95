"""calibrationd: how the road camera is mounted (its yaw against the car), learnt from the driving model's lane lines.

modeld warps each frame with the latest liveCalibration. Averaged over a drive the car runs parallel to its lane, so
if the ego lane the model sees keeps pointing off to one side, the frame is warped with the wrong yaw: the lane's
mean heading in the model frame is the yaw still to be corrected. Samples are taken only where that holds well
(speed, the car itself not turning, a straight lane ahead, both lines seen), collected into blocks, and
the calibration is the mean of the recent blocks. The car may engage once MIN_BLOCKS are in (selfdrived:
"calibration in progress" until then).

It learns only while the driver steers. Engaged, the stack steers by the model's lanes in a frame warped with this
very calibration: a yaw error puts the car off its lane centre, and the model reads part of an offset as a heading,
which the calibration then learns and makes worse (seed 7: +1.47 degrees learnt for a true -0.05 over 9 engaged
minutes, the car 0.5 m off centre).

Pitch and roll are left at zero: the model's lane heights are not reliable enough to learn them from, and they move
the lane lines far less than yaw does.
"""
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from cereal import arrays, log, messaging
from selfdrive.common.process import exit_on_sigterm
from selfdrive.controls.lib.vehicle_model import VehicleModel

MIN_SPEED = 8.0                  # m/s
MAX_CURVATURE = 1.5e-3           # 1/m: the car must not be turning (the curvature its steering angle makes) ...
MAX_LANE_CURVATURE = 5e-4        # ... nor its lane bend ahead: a bend past the fit's start reads as a heading
MIN_LINE_PROB = 0.5
FIT_X = (6.0, 40.0)              # m: the stretch of lane whose heading is measured
BLOCK_SAMPLES = 20               # model frames per block (1 s at 20 Hz)
MIN_BLOCKS = 4
MAX_BLOCKS = 60                  # the calibration follows the last minute of qualifying driving
MAX_YAW = math.radians(10.0)     # beyond this the device is mounted wrong: invalid
PUBLISH_EVERY = 5                # model frames per liveCalibration (4 Hz)
CalStatus = log.LiveCalibrationData.Status
INPUTS = ["modelV2", "carState", "carParams", "liveParameters", "selfdriveState"]
_FIT_MASK = (FIT_X[0] <= arrays.X_IDXS) & (FIT_X[1] >= arrays.X_IDXS)


def lane_heading(lane_lines: np.ndarray, probs: np.ndarray) -> float | None:
  """The ego lane's heading in the model frame (rad, its centre line's slope dy/dx at the camera, y right), or None
  when either of its lines is not seen or the lane ahead curves. The centre is fitted with a curvature term: a
  straight line through a curve tilts towards it (a 1.5e-3 1/m curve tilts it by 1.8 degrees), which the car then
  learnt as a mount yaw, warped with, and steered by. A bend that starts inside the fitted stretch still tilts the
  heading, the other way (the fit's curvature spreads it back to the camera): only gentle ones are kept."""
  if probs[1] < MIN_LINE_PROB or probs[2] < MIN_LINE_PROB:
    return None
  x = arrays.X_IDXS[_FIT_MASK].astype(np.float64)
  y = (lane_lines[1, _FIT_MASK, 0] + lane_lines[2, _FIT_MASK, 0]).astype(np.float64) / 2
  half_curvature, slope, _ = np.polyfit(x, y, 2)
  return math.atan(float(slope)) if abs(2.0 * half_curvature) <= MAX_LANE_CURVATURE else None


@dataclass
class Calibrator:
  """Yaw samples (the yaw the frame was warped with, minus the lane heading seen in it) -> block means -> yaw."""
  yaw: float = 0.0                 # what modeld warps with now
  samples: list[float] = field(default_factory=list)
  blocks: list[float] = field(default_factory=list)

  def add(self, heading: float) -> None:
    # a camera yawed right by psi sees a straight-ahead lane heading left (-psi) in a frame warped with yaw 0
    self.samples.append(self.yaw - heading)
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


def qualifies(md, v_ego: float, car_curvature: float) -> float | None:
  """The lane heading of this model frame, if the frame is one to learn from. Whether the car turns is the curvature
  its steering angle makes, not the model's desired curvature: until calibrated, a crooked mount makes the model steer
  (seed 3's 1.6 degrees: -2.4e-3 1/m on a straight), and gating on that kept the very frames that would correct it
  out (54 s to calibrate). The car's yaw rate would do too, but not every car reports one (Toyotas do not)."""
  if not md.valid or v_ego < MIN_SPEED or abs(car_curvature) > MAX_CURVATURE:
    return None
  shapes = arrays.MODEL_V2_SHAPES
  return lane_heading(arrays.unpack(md.laneLines, shapes["laneLines"]),
                      arrays.unpack(md.laneLineProbs, shapes["laneLineProbs"]))


def frame_heading(sm: messaging.SubMaster) -> float | None:
  """The lane heading to learn from in the model frame just received: None while the stack steers (see above), or
  before the car is known."""
  if sm.seen["selfdriveState"] and sm["selfdriveState"].active:
    return None
  if not (sm.alive["carState"] and sm.seen["carParams"]):
    return None
  cs = sm["carState"]
  car_curvature = VehicleModel.from_submaster(sm["carParams"], sm).curvature(cs.steeringAngleDeg, cs.vEgo)
  return qualifies(sm["modelV2"], cs.vEgo, car_curvature)


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="modelV2")
  pm = messaging.PubMaster(["liveCalibration"])
  cal, frames = Calibrator(), 0
  while True:
    sm.update(1000)
    if not sm.updated["modelV2"]:
      continue
    if (heading := frame_heading(sm)) is not None:
      cal.add(heading)
    frames += 1
    if frames % PUBLISH_EVERY == 0:
      msg = messaging.new_message("liveCalibration")
      cal.fill(msg.liveCalibration)   # valid while uncalibrated too: the status says how far it got
      pm.send("liveCalibration", msg)


if __name__ == "__main__":
  sys.exit(main())
