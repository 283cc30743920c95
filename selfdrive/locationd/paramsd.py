"""paramsd: the car's real steer ratio, learnt from how much it turns for its steering wheel angle.

opendbc gives each platform one steer ratio; a given car's differs (tyres, alignment, wear). controlsd, plannerd and
radard read the car's curvature off its steering angle through that ratio, so a car that turns less than the ratio
says settles short of every plan: the simulator's RAV4 (15.3 against opendbc's 14.3) made 0.935 of the curvature
controlsd thought, and its tight bends at speed were taken 0.25 m to the outside.

How much the car really turns comes from its rear wheels: in a turn the outer one rolls faster, by the yaw rate times
the track (selfdrive/car/rear_track.py). That curvature, times the wheelbase and the understeer term, is the road
wheels' angle; its least-squares slope against the steering wheel's angle is one over the steer ratio. Only near
steady steering is taken (the yaw rate lags the wheel), at speed, in the tyres' linear range, and the sums forget over
WINDOW_SAMPLES of such driving. The intercept takes up what wheel speeds cannot tell apart, a steering angle offset
and a tyre rolling a little larger than its twin (0.3 % on a 1.6 m track reads as a 0.0019 1/m bend), so no angle
offset is learnt: angleOffsetDeg stays 0. Nor is the tyre stiffness: the speeds of one drive hardly separate it from
the ratio.

The ratio is published valid once the steering has moved enough to tell it (MIN_INFORMATION) and it lies within
RATIO_RANGE of carParams'; consumers use carParams' until then, and always on a car whose rear track is not known or
whose wheel speeds are not reported. The learnt ratio is kept in the LiveParameters param for the next drive of the
same car.
"""
import math
import sys
import time
from dataclasses import dataclass

from cereal import messaging
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm
from selfdrive.controls.lib.vehicle_model import VehicleModel

MIN_SPEED = 8.0               # m/s: slower, a wheel speed's resolution is a large part of the rear wheels' difference
MAX_STEER_RATE_DEG = 5.0      # deg/s: the yaw rate lags the steering wheel by a tenth of a second or two
MAX_LAT_ACCEL = 3.0           # m/s^2: beyond, the tyres leave their linear range
WINDOW_SAMPLES = 30_000       # accepted carStates the sums forget over (5 min of steady steering at 100 Hz)
KEEP = 1.0 - 1.0 / WINDOW_SAMPLES   # what each accepted sample keeps of the sums
PRIOR_INFORMATION = 0.1       # rad^2 of steering wheel angle that carParams' ratio counts as (0.2 s of bends)
MIN_INFORMATION = 1.0         # rad^2 before the learnt ratio is used (~2 s of 4-degree bends): carParams' weighs 10 %
INTERCEPT_PRIOR = 1.0         # the intercept's prior (0) counts as one sample: defined before any sample
RATIO_RANGE = (0.7, 1.4)      # of carParams' ratio; learnt outside: a wrong track or platform, not used
PUBLISH_EVERY = 5             # carStates per liveParameters (20 Hz)
SAVE_EVERY_S = 60.0
INPUTS = ["carState", "carParams"]


@dataclass
class SteerRatioLearner:
  """Forgetting least squares of y = a x + b: x the steering wheel angle, y the road wheels' angle the car turned
  by (rad); the ratio is 1 / a. The prior holds a at 1 / prior_ratio with prior_information rad^2 of weight."""
  prior_ratio: float
  prior_information: float = PRIOR_INFORMATION
  sxx: float = 0.0
  sx: float = 0.0
  s1: float = 0.0
  sxy: float = 0.0
  sy: float = 0.0
  syy: float = 0.0

  def add(self, x: float, y: float) -> None:
    keep = KEEP
    self.sxx, self.sx, self.s1 = keep * self.sxx + x * x, keep * self.sx + x, keep * self.s1 + 1.0
    self.sxy, self.sy, self.syy = keep * self.sxy + x * y, keep * self.sy + y, keep * self.syy + y * y

  def slope_intercept(self) -> tuple[float, float]:
    w, a0, s1 = self.prior_information, 1.0 / self.prior_ratio, self.s1 + INTERCEPT_PRIOR
    m11, m12, r1, r2 = self.sxx + w, self.sx, self.sxy + w * a0, self.sy
    det = m11 * s1 - m12 * m12
    return (r1 * s1 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det

  @property
  def information(self) -> float:
    """rad^2: the steering's spread that the ratio is learnt from, plus the prior's."""
    spread = self.sxx - self.sx * self.sx / self.s1 if self.s1 > 0 else 0.0
    return max(spread, 0.0) + self.prior_information

  @property
  def ratio(self) -> float:
    """inf for a car that does not turn, or turns the wrong way, as it steers."""
    a = self.slope_intercept()[0]
    return 1.0 / a if a > 0 else math.inf

  @property
  def ratio_std(self) -> float:
    a, b = self.slope_intercept()
    if self.s1 < 2 or a <= 0:
      return math.inf
    residual = (self.syy - 2 * a * self.sxy - 2 * b * self.sy + a * a * self.sxx + 2 * a * b * self.sx
                + b * b * self.s1) / self.s1
    return math.sqrt(max(residual, 0.0) / self.information) / (a * a)


@dataclass(frozen=True)
class LearntRatio:
  """What a drive leaves the next drive of the same car (the LiveParameters param, JSON)."""
  car: str
  steer_ratio: float
  information: float

  def to_json(self) -> dict:
    return {"carFingerprint": self.car, "steerRatio": self.steer_ratio, "information": self.information}

  @staticmethod
  def from_json(saved) -> "LearntRatio | None":
    """None for anything but what to_json wrote (an older or hand-edited param is ignored, not trusted)."""
    if not isinstance(saved, dict):
      return None
    car, ratio, information = saved.get("carFingerprint"), saved.get("steerRatio"), saved.get("information")
    if isinstance(car, str) and isinstance(ratio, float) and isinstance(information, float):
      return LearntRatio(car, ratio, information)
    return None


@dataclass(frozen=True)
class WheelYaw:
  """One carState as a sample: None where it is not one to learn from."""
  x: float   # steering wheel angle, rad
  y: float   # the road wheels' angle the car turned by, rad


def sample(cs, vm: VehicleModel, rear_track: float) -> WheelYaw | None:
  ws, v = cs.wheelSpeeds, cs.vEgo
  v_rear = (ws.rl + ws.rr) / 2
  if v < MIN_SPEED or v_rear <= 0 or abs(cs.steeringRateDeg) > MAX_STEER_RATE_DEG:
    return None
  curvature = (ws.rr - ws.rl) / (rear_track * v_rear)
  if abs(curvature) * v * v > MAX_LAT_ACCEL:
    return None
  return WheelYaw(math.radians(cs.steeringAngleDeg), vm.road_wheel_angle(curvature, v))


def wheel_speeds_reported(cs) -> bool:
  ws = cs.wheelSpeeds
  return cs.vEgo < MIN_SPEED or (ws.rl, ws.rr) != (0.0, 0.0)


class Paramsd:
  def __init__(self, car_params, saved: LearntRatio | None):
    self.cp = car_params
    self.vm = VehicleModel.from_car_params(car_params)
    self.rear_track = car_params.rearTrack
    lo, hi = (r * car_params.steerRatio for r in RATIO_RANGE)
    self.range = (lo, hi)
    prior = self.cp.steerRatio, PRIOR_INFORMATION
    if saved is not None and saved.car == car_params.carFingerprint and lo <= saved.steer_ratio <= hi:
      prior = saved.steer_ratio, min(max(saved.information, PRIOR_INFORMATION), MIN_INFORMATION)
    self.learner = SteerRatioLearner(*prior)
    self.sensor_valid = True

  def update(self, cs) -> None:
    self.sensor_valid = wheel_speeds_reported(cs)
    if self.rear_track > 0 and self.sensor_valid and (s := sample(cs, self.vm, self.rear_track)) is not None:
      self.learner.add(s.x, s.y)

  @property
  def valid(self) -> bool:
    lo, hi = self.range
    return (self.rear_track > 0 and self.sensor_valid and self.learner.information >= MIN_INFORMATION
            and lo <= self.learner.ratio <= hi)

  def fill(self, lp) -> None:
    """The learnt ratio within RATIO_RANGE (outside it is not valid anyway: a zero slope is an infinite ratio)."""
    lo, hi = self.range
    lp.valid, lp.sensorValid = self.valid, self.sensor_valid and self.rear_track > 0
    lp.steerRatio = min(max(self.learner.ratio, lo), hi)
    lp.steerRatioStd = min(self.learner.ratio_std, 1e3)
    lp.stiffnessFactor, lp.angleOffsetDeg, lp.angleOffsetAverageDeg = 1.0, 0.0, 0.0

  def learnt(self) -> LearntRatio | None:
    """What the next drive of this car starts from, once this one has learnt something usable."""
    if not self.valid:
      return None
    return LearntRatio(self.cp.carFingerprint, self.learner.ratio, self.learner.information)


def main() -> int:
  exit_on_sigterm()
  params = Params()
  sm = messaging.SubMaster(INPUTS, poll="carState")
  pm = messaging.PubMaster(["liveParameters"])
  paramsd, steps, next_save = None, 0, time.monotonic() + SAVE_EVERY_S
  while True:
    sm.update(1000)
    if not sm.updated["carState"] or not sm.seen["carParams"]:
      continue
    if paramsd is None:
      paramsd = Paramsd(sm["carParams"], LearntRatio.from_json(params.get("LiveParameters")))
    if sm.valid["carState"]:   # a CAN error's carState is no measurement
      paramsd.update(sm["carState"])
    steps += 1
    if steps % PUBLISH_EVERY == 0:
      msg = messaging.new_message("liveParameters")
      msg.valid = sm.all_checks(["carState"])
      paramsd.fill(msg.liveParameters)
      pm.send("liveParameters", msg)
    if time.monotonic() > next_save:
      next_save = time.monotonic() + SAVE_EVERY_S
      if (learnt := paramsd.learnt()) is not None:
        params.put_nonblocking("LiveParameters", learnt.to_json())


if __name__ == "__main__":
  sys.exit(main())
