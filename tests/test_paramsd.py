"""paramsd: the steer ratio learnt from the rear wheels' speed difference, on the simulator's car through its CAN
and opendbc, and on samples whose truth is known."""
import math
from dataclasses import replace
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import messaging
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.convert import fill_car_params
from selfdrive.car.rear_track import rear_track
from selfdrive.controls.lib.vehicle_model import VehicleModel
from selfdrive.locationd.paramsd import (
  MAX_LAT_ACCEL,
  MIN_INFORMATION,
  RATIO_RANGE,
  LearntRatio,
  Paramsd,
  SteerRatioLearner,
  sample,
)
from tools.sim import constants as C
from tools.sim.ecu import CarTruth, DriverInputs, ToyotaEcu
from tools.sim.vehicle import Controls, Vehicle, VehicleState

PLATFORM = "TOYOTA_RAV4_TSS2"


def car_params(platform: str = PLATFORM):
  msg = messaging.new_message("carParams")
  fill_car_params(msg.carParams, CarAdapter(platform).car_params)
  return msg.carParams.as_reader()


def car_state(v: float, angle_deg: float, curvature: float, track: float, rate_deg: float = 0.0):
  """A carState whose rear wheels roll as a car on `curvature` does, quantized as Toyota's 0.01 km/h."""
  q = 0.01 / 3.6
  rl, rr = (round((v - s * track / 2 * curvature * v) / q) * q for s in (1, -1))
  return SimpleNamespace(vEgo=v, steeringAngleDeg=angle_deg, steeringRateDeg=rate_deg,
                         wheelSpeeds=SimpleNamespace(fl=rl, fr=rr, rl=rl, rr=rr))


def test_the_simulators_car_teaches_its_steer_ratio():
  """The simulator's RAV4 (steer ratio 15.3, opendbc says 14.3), steered through slow bends around 20 m/s, its CAN
  decoded by opendbc as card does: paramsd learns the car's ratio, scaled by our rear track over the simulator's.
  (The speed varies, as on a road: at one constant speed the wheel speeds' 0.01 km/h steps fall the same way every
  bend, and the ratio came out 2 % high.)"""
  cp = car_params()
  paramsd, ecu, adapter = Paramsd(cp, None), ToyotaEcu(PLATFORM), CarAdapter(PLATFORM)
  car = Vehicle(state=VehicleState(v=20.0))
  valid_at = None
  for i in range(round(90.0 / C.DT)):
    t = i * C.DT
    car.step(Controls(driver_torque=1.2 * math.sin(2 * math.pi * t / 15.0),
                      accel=0.3 * math.sin(2 * math.pi * t / 23.0), long_active=True))
    s = car.state
    truth = CarTruth(v_ego=s.v, a_ego=s.a, wheel_speeds=s.wheel_speeds, yaw_rate=s.yaw_rate,
                     steering_angle_deg=s.steer_deg, steering_rate_deg=s.steer_rate_dps,
                     driver_torque=s.driver_torque, eps_torque=s.eps_torque, gas_pressed=False, brake_pressed=False,
                     gear="D")
    cs = adapter.update(ecu.step(int(t * 1e9), truth, DriverInputs()), int(t * 1e9))
    paramsd.update(cs)
    if valid_at is None and paramsd.valid:
      valid_at = t
  assert cp.steerRatio < 14.5
  expected = C.RAV4_STEER_RATIO * rear_track(PLATFORM) / C.RAV4_TRACK
  assert abs(paramsd.learner.ratio / expected - 1) < 0.01, (paramsd.learner.ratio, expected)
  assert valid_at is not None and valid_at < 30.0
  msg = messaging.new_message("liveParameters")
  paramsd.fill(msg.liveParameters)
  live = msg.liveParameters
  assert live.valid and live.sensorValid and live.stiffnessFactor == 1.0 and live.angleOffsetDeg == 0.0
  # ... which is what every consumer's vehicle model then turns the steering angle into a curvature with
  vm = VehicleModel.from_car_params(cp, live)
  assert math.isclose(vm.steer_ratio, paramsd.learner.ratio, rel_tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(ratio=st.floats(11.0, 19.0), offset_deg=st.floats(-3.0, 3.0), tyre=st.floats(-0.003, 0.003),
       v=st.floats(10.0, 30.0))
def test_learns_any_ratio_whatever_the_offsets(ratio, offset_deg, tyre, v):
  """A ratio far from carParams', a steering angle offset and one tyre rolling larger than its twin: the ratio is
  learnt within 1 % from two minutes of 3-degree weaves, and never published outside RATIO_RANGE."""
  cp = car_params()
  truth = replace(VehicleModel.from_car_params(cp), steer_ratio=ratio, angle_offset_deg=offset_deg)
  track = rear_track(PLATFORM)
  paramsd = Paramsd(cp, None)
  for i in range(12_000):
    angle, speed = 3.0 * math.sin(2 * math.pi * i / 1500) + offset_deg, v + math.sin(2 * math.pi * i / 2300)
    curvature = truth.curvature(angle, speed)
    paramsd.update(car_state(speed, angle, curvature + tyre / track, track))
  lo, hi = (r * cp.steerRatio for r in RATIO_RANGE)
  assert abs(paramsd.learner.ratio / ratio - 1) < 0.01
  assert paramsd.valid == (lo <= paramsd.learner.ratio <= hi)


def test_what_is_not_learnt_from():
  cp = car_params()
  vm, track = VehicleModel.from_car_params(cp), rear_track(PLATFORM)
  assert sample(car_state(20.0, 3.0, 0.002, track), vm, track) is not None
  assert sample(car_state(5.0, 3.0, 0.002, track), vm, track) is None              # too slow
  assert sample(car_state(20.0, 3.0, 0.002, track, rate_deg=20.0), vm, track) is None  # the yaw rate lags
  fast = 1.1 * MAX_LAT_ACCEL / 20.0 ** 2
  assert sample(car_state(20.0, 3.0, fast, track), vm, track) is None              # past the tyres' linear range


def test_a_car_that_does_not_turn_as_it_steers_is_not_believed():
  """Wheel speeds that never differ while the wheel weaves 3 degrees: the slope goes to zero, the ratio far outside
  RATIO_RANGE; published clipped to it, and not valid."""
  cp = car_params()
  paramsd = Paramsd(cp, None)
  bends(paramsd, 1e9, rear_track(PLATFORM))
  msg = messaging.new_message("liveParameters")
  paramsd.fill(msg.liveParameters)
  assert not paramsd.valid and math.isclose(msg.liveParameters.steerRatio, RATIO_RANGE[1] * cp.steerRatio, rel_tol=1e-6)


def test_straight_driving_does_not_move_the_ratio_nor_validate_it():
  cp = car_params()
  paramsd = Paramsd(cp, None)
  for _ in range(30_000):
    paramsd.update(car_state(25.0, 0.5, 0.0003, rear_track(PLATFORM)))
  assert math.isclose(paramsd.learner.ratio, cp.steerRatio, rel_tol=1e-3) and not paramsd.valid
  assert paramsd.learner.information < MIN_INFORMATION


def bends(paramsd: Paramsd, ratio: float, track: float, seconds: float = 60.0) -> None:
  truth = replace(paramsd.vm, steer_ratio=ratio)   # the car's own ratio, the model's understeer
  for i in range(round(seconds * 100)):
    angle, v = 3.0 * math.sin(2 * math.pi * i / 1500), 20.0 + math.sin(2 * math.pi * i / 2300)
    paramsd.update(car_state(v, angle, truth.curvature(angle, v), track))


def test_unknown_track_or_missing_wheel_speeds_keep_carparams():
  """A platform whose rear track is not known, and a car whose wheel speeds read zero: nothing learnt, not valid."""
  corolla = car_params("TOYOTA_COROLLA_TSS2")
  assert corolla.rearTrack == 0.0
  paramsd = Paramsd(corolla, None)
  bends(paramsd, 16.0, 1.6)
  assert not paramsd.valid and math.isclose(paramsd.learner.ratio, corolla.steerRatio, rel_tol=1e-6)
  paramsd = Paramsd(car_params(), None)
  bends(paramsd, 16.0, rear_track(PLATFORM))
  assert paramsd.valid
  for _ in range(100):   # then wheel speeds of zero at 20 m/s: the car stopped reporting them
    paramsd.update(SimpleNamespace(vEgo=20.0, steeringAngleDeg=3.0, steeringRateDeg=0.0,
                                   wheelSpeeds=SimpleNamespace(fl=0.0, fr=0.0, rl=0.0, rr=0.0)))
  msg = messaging.new_message("liveParameters")
  paramsd.fill(msg.liveParameters)
  assert not paramsd.valid and not msg.liveParameters.valid and not msg.liveParameters.sensorValid


def test_a_drive_leaves_its_ratio_to_the_next_of_the_same_car():
  cp = car_params()
  first = Paramsd(cp, None)
  bends(first, 15.5, rear_track(PLATFORM))
  learnt = first.learnt()
  assert learnt is not None and abs(learnt.steer_ratio - 15.5) < 0.1
  again = LearntRatio.from_json(learnt.to_json())
  assert again == learnt
  nxt = Paramsd(cp, again)
  assert nxt.valid and math.isclose(nxt.learner.ratio, learnt.steer_ratio, rel_tol=1e-9)
  other = Paramsd(cp, LearntRatio("TOYOTA_COROLLA_TSS2", 15.5, 50.0))    # another car's: not taken
  assert not other.valid and math.isclose(other.learner.ratio, cp.steerRatio, rel_tol=1e-6)
  wild = Paramsd(cp, LearntRatio(PLATFORM, 3.0 * cp.steerRatio, 50.0))   # outside RATIO_RANGE: not taken
  assert math.isclose(wild.learner.ratio, cp.steerRatio, rel_tol=1e-6)
  for corrupt in (None, [], {"carFingerprint": PLATFORM, "steerRatio": "15"}, {"steerRatio": 15.5}):
    assert LearntRatio.from_json(corrupt) is None


def test_learner_is_least_squares_with_its_prior():
  """With no prior weight the learner is ordinary least squares of y on x with an intercept."""
  learner = SteerRatioLearner(prior_ratio=14.0, prior_information=1e-12)
  xs = [0.01 * i for i in range(-20, 21)]
  for x in xs:
    learner.add(x, x / 16.0 + 0.002)
  assert math.isclose(learner.ratio, 16.0, rel_tol=1e-3)


@given(st.floats(-30.0, 30.0), st.floats(0.0, 40.0))
def test_road_wheel_angle_is_the_vehicle_models_curvature_inverted(angle_deg, v):
  """paramsd's y: the road wheels' angle a curvature takes, as the vehicle model every consumer reads."""
  vm = VehicleModel.from_car_params(car_params())
  assert math.isclose(vm.road_wheel_angle(vm.curvature(angle_deg, v), v), math.radians(angle_deg) / vm.steer_ratio,
                      rel_tol=1e-9, abs_tol=1e-12)
