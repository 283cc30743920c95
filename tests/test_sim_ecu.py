"""The simulated Toyota's ECUs, checked by what reads their CAN in the real stack: opendbc's CarInterface for the
platform (through selfdrive.car.adapter), its CarController's frames back into the car, passive fingerprinting,
and opendbc's C safety model."""
from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opendbc.can import CANPacker

from hardware.can.frame import CanFrame
from hardware.safety import SafetyLibraryError, SafetyModel
from selfdrive.car import CarControl, CarState, platform_info
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.fingerprinting import FINGERPRINT_S, CarMatch, fingerprint, platforms
from tools.sim.constants import EPS_MAX_NM
from tools.sim.ecu import CarCommands, CarTruth, DriverInputs, ToyotaEcu
from tools.sim.ecu import toyota as ecu_mod
from tools.sim.ecu.radar import RADAR_BUS

PLATFORM = "TOYOTA_RAV4_TSS2"
STEP_NS = 10_000_000
KPH = 1 / 3.6
STACK_ADDRESSES = {0x2E4, 0x412, 0x191, 0x343}  # the stack sends these on bus 0: the car never may (relay check)
TOYOTAS = [p for p in platforms() if platform_info.brand(p) == "toyota"]
UNMODELED = {"LEXUS_GS_F", "LEXUS_IS", "LEXUS_RC",                         # DSU_CRUISE: no camera ACC
             "TOYOTA_RAV4_PRIME", "TOYOTA_SIENNA_4TH_GEN", "TOYOTA_YARIS",  # SecOC
             "TOYOTA_RAV4_TSS2_2023"}                                        # angle (LTA) steering
GEARS = {"P": CarState.GearShifter.park, "D": CarState.GearShifter.drive, "N": CarState.GearShifter.neutral,
         "R": CarState.GearShifter.reverse}


def cruising(v: float = 25.0, angle: float = 0.0, **kw) -> CarTruth:
  return replace(CarTruth(v_ego=v, a_ego=0.0, wheel_speeds=(v, v, v, v), yaw_rate=0.0, steering_angle_deg=angle,
                          steering_rate_deg=0.0, driver_torque=0.0, eps_torque=0.0, gas_pressed=False,
                          brake_pressed=False, gear="D"), **kw)


def lat_control(torque: float, cancel: bool = False) -> CarControl:
  cc = CarControl.new_message()
  cc.enabled = cc.latActive = True
  cc.actuators.torque = torque
  cc.cruiseControl.cancel = cancel
  return cc


def long_control(accel: float) -> CarControl:
  cc = CarControl.new_message()
  cc.enabled = cc.longActive = True
  cc.actuators.accel = accel
  cc.actuators.longControlState = CarControl.Actuators.LongControlState.pid
  return cc


class Rig:
  """The ECU and the stack's opendbc adapter on one simulated bus, one 10 ms step at a time. With a CarControl,
  opendbc's CarController answers each step and the ECU takes its frames; the EPS motor follows the request."""

  def __init__(self, platform: str = PLATFORM, safety: SafetyModel | None = None):
    self.ecu = ToyotaEcu(platform)
    self.car = CarAdapter(platform)
    self.safety = safety   # as in cand: every frame in passes its RX hook, every frame out its TX hook
    self.t = 0
    self.log: list[tuple[int, CanFrame]] = []
    self.actuators = None
    self.rx_rejected = self.tx_blocked = 0

  def step(self, truth: CarTruth, driver: DriverInputs | None = None, cc: CarControl | None = None) -> CarState:
    truth = replace(truth, eps_torque=self.ecu.commands.steer_torque * EPS_MAX_NM)
    frames = self.ecu.step(self.t, truth, driver or DriverInputs())
    self.log += [(self.t, f) for f in frames]
    if self.safety is not None:
      self.rx_rejected += sum(not self.safety.rx(f.address, f.data, f.bus) for f in frames)
      self.safety.tick()
    cs = self.car.update(frames, self.t)
    if cc is not None:
      self.actuators, sends = self.car.apply(cc, self.t)
      if self.safety is not None:
        allowed = [f for f in sends if self.safety.tx(f.address, f.data, f.bus)]
        self.tx_blocked += len(sends) - len(allowed)
        sends = allowed
      self.ecu.receive([CanFrame(f.address, f.data, f.bus) for f in sends])
    self.t += STEP_NS
    return cs

  def run(self, seconds: float, truth: CarTruth, driver: DriverInputs | None = None,
          cc: CarControl | None = None) -> CarState:
    for _ in range(round(seconds * 100)):
      cs = self.step(truth, driver, cc)
    return cs

  def engage(self, truth: CarTruth, cc: CarControl | None = None) -> CarState:
    self.step(truth, DriverInputs(cruise_set=True), cc)
    return self.run(0.1, truth, cc=cc)


def healthy(cs: CarState) -> bool:
  return (cs.canValid and not cs.canTimeout and not cs.steerFaultTemporary and not cs.steerFaultPermanent and
          not cs.accFaulted and not cs.carFaultedNonCritical and not cs.espDisabled and not cs.doorOpen and
          not cs.seatbeltUnlatched and not cs.parkingBrake and not cs.stockAeb and not cs.stockFcw and
          cs.cruiseState.available and not cs.vehicleSensorsInvalid)


def test_platform_info_reads_opendbc():
  assert platform_info.dbc_names(PLATFORM) == {"pt": "toyota_nodsu_pt_generated", "radar": "toyota_tss2_adas"}
  assert platform_info.openpilot_longitudinal(PLATFORM)
  assert not platform_info.openpilot_longitudinal("TOYOTA_RAV4_TSS2_2022")  # radar ACC: alpha toggle only
  assert platform_info.safety_config(PLATFORM) == platform_info.SafetyConfig("toyota", 2, 73)
  assert platform_info.toyota_eps_scale(PLATFORM) == 0.73
  assert platform_info.steer_torque_limits(PLATFORM) == platform_info.SteerTorqueLimits(1500, 15, 25)
  reads = platform_info.state_messages(PLATFORM)
  assert reads[2] == {0x283: ("PRE_COLLISION", 7), 0x343: ("ACC_CONTROL", 8), 0x411: ("PCS_HUD", 8),
                      0x412: ("LKAS_HUD", 8)}
  assert reads[0][0x614] == ("BLINKERS_STATE", 8)  # read without a timeout check, still read
  assert platform_info.can_fingerprint("CHEVROLET_BOLT_EUV")[0][0x1E1] > 0  # opendbc's GM CAN fingerprint
  assert ecu_mod.PERIOD_MS.keys() == ToyotaEcu().fill.keys()


def test_carstate_follows_the_car():
  rig = Rig()
  truth = cruising(v=25.0, angle=3.0)   # the torque sensor's angle is zeroed here: opendbc learns the offset
  cs = rig.run(1.0, truth)
  assert healthy(cs) and rig.car.missing_messages() == []
  assert cs.vEgo == pytest.approx(25.0, rel=0.01) and cs.gearShifter == CarState.GearShifter.drive
  assert not cs.cruiseState.enabled and not cs.gasPressed and not cs.brakePressed and not cs.standstill
  for k in range(300):   # a slow turn of the wheel, the driver holding it
    angle = 3.0 + 20.0 * math.sin(k / 300)
    cs = rig.step(replace(truth, steering_angle_deg=angle, steering_rate_deg=0.0, driver_torque=1.5))
    assert abs(cs.steeringAngleDeg - angle) < 0.5 and healthy(cs)
  assert cs.steeringAngleOffsetDeg == pytest.approx(-3.0, abs=0.1)
  assert cs.steeringTorque == 150 and cs.steeringPressed
  cs = rig.run(0.2, replace(truth, gear="R", gas_pressed=True, left_blinker=True, v_ego=0.0,
                            wheel_speeds=(0.0,) * 4))
  assert cs.gearShifter == CarState.GearShifter.reverse and cs.gasPressed and cs.leftBlinker and cs.standstill


def test_rates_and_buses():
  rig = Rig()
  rig.run(10.0, cruising())
  counts: dict[tuple[int, str], int] = {}
  radar: dict[int, int] = {}
  for _, f in rig.log:
    if f.bus == RADAR_BUS:
      radar[f.address] = radar.get(f.address, 0) + 1
      continue
    name = rig.ecu.codec.name_of(f.address)
    counts[(f.bus, name)] = counts.get((f.bus, name), 0) + 1
  expected = [(bus, name) for bus, msgs in platform_info.state_messages(PLATFORM).items() for name, _ in msgs.values()]
  assert set(counts) == {*expected, (ecu_mod.CAMERA_BUS, "STEERING_LKA")}
  for bus, name in counts:
    assert counts[(bus, name)] == pytest.approx(10_000 / ecu_mod.PERIOD_MS[name], abs=1.5), name
  assert not STACK_ADDRESSES & {f.address for _, f in rig.log if f.bus == 0}
  assert {f.bus for _, f in rig.log} == {0, RADAR_BUS, 2}
  assert sorted(radar) == list(range(0x180, 0x1A0)) and set(radar.values()) <= {200, 201}, "32 tracks at 20 Hz"


def test_fingerprint():
  """opendbc 0.3.1 keeps no CAN fingerprints for Toyota (they are told apart by firmware versions), so from CAN
  alone the stack narrows the car to the TSS2 platforms that read the same messages; every one of them is sent,
  with the DBC's length, within the fingerprinting window."""
  rig = Rig()
  rig.run(FINGERPRINT_S, cruising())
  frames = list(rig.log)
  match = fingerprint(frames)
  if isinstance(match, CarMatch):
    assert match.platform == PLATFORM
  else:
    assert match.same_layout and PLATFORM in match.candidates
  seen = {bus: m for bus, m in match.fingerprint.items() if m}
  expected = platform_info.can_fingerprint(PLATFORM)
  expected[ecu_mod.CAMERA_BUS][0x2E4] = 5   # the camera's own STEERING_LKA
  expected[RADAR_BUS] = dict.fromkeys(range(0x180, 0x1A0), 8)   # the radar's tracks
  assert seen == expected
  # and the fingerprint opendbc builds CarParams from gives the same car as a named one
  assert CarAdapter(PLATFORM, fingerprint=match.fingerprint).car_params.to_dict() == \
    CarAdapter(PLATFORM).car_params.to_dict()


def test_set_engages_brake_and_cancel_disengage():
  rig = Rig()
  truth = cruising(v=20.0)
  rig.run(0.5, truth)
  cs = rig.engage(replace(truth, brake_pressed=True))
  assert not cs.cruiseState.enabled                       # SET with the brake pressed: refused
  cs = rig.engage(replace(truth, v_ego=5.0, wheel_speeds=(5.0,) * 4))
  assert not cs.cruiseState.enabled                       # below 30 km/h and no lead: refused
  cs = rig.engage(truth)
  assert cs.cruiseState.enabled and rig.ecu.cruise_engaged and healthy(cs)
  assert cs.cruiseState.speed == pytest.approx(72 * KPH)  # 20 m/s, rounded to km/h

  assert not rig.run(0.1, replace(truth, brake_pressed=True)).cruiseState.enabled
  rig.run(0.1, truth)
  assert rig.engage(truth).cruiseState.enabled
  assert not rig.run(0.1, truth, DriverInputs(cruise_cancel=True)).cruiseState.enabled
  assert rig.engage(truth).cruiseState.enabled
  assert not rig.run(0.1, truth, DriverInputs(cruise_main_on=False)).cruiseState.available


def test_stack_cancel_and_lead_engage():
  """opendbc's CarController cancels the PCM with ACC_CONTROL.CANCEL_REQ; its lead flag lets the PCM engage slow."""
  rig = Rig()
  slow = cruising(v=5.0)
  rig.run(0.5, slow, cc=CarControl.new_message())   # not enabled: lead is assumed below 12 m/s
  assert rig.engage(slow, cc=CarControl.new_message()).cruiseState.enabled
  cs = rig.run(0.1, slow, cc=lat_control(0.0, cancel=True))
  assert not cs.cruiseState.enabled and not rig.ecu.cruise_engaged


def test_openpilot_longitudinal_accel():
  rig = Rig()
  truth = cruising(v=20.0)
  rig.run(0.5, truth, cc=CarControl.new_message())
  assert rig.ecu.commands.accel_active is False and rig.ecu.commands.accel == 0.0
  rig.engage(truth, cc=CarControl.new_message())
  rig.run(1.0, truth, cc=long_control(1.0))
  cmd = rig.ecu.commands
  assert cmd.accel_active and cmd.accel == pytest.approx(rig.actuators.accel, abs=1e-3) and cmd.accel > 0.5
  rig.run(1.0, truth, cc=long_control(-2.0))
  assert rig.ecu.commands.accel == pytest.approx(rig.actuators.accel, abs=1e-3) and rig.ecu.commands.accel < -1.5
  rig.run(0.1, replace(truth, gas_pressed=True), cc=long_control(-2.0))
  assert rig.ecu.commands.accel_active is False       # the driver's foot overrides


def test_stalk_up_raises_the_set_speed_the_car_reports():
  rig = Rig()
  truth = cruising(v=10.0)
  rig.run(0.5, truth)
  assert not rig.run(0.1, truth, DriverInputs(cruise_accel=True)).cruiseState.enabled   # disengaged: nothing to raise
  assert rig.engage(truth).cruiseState.speed == pytest.approx(36 * KPH)
  held = rig.run(0.5, truth, DriverInputs(cruise_accel=True))                 # held: one push
  assert held.cruiseState.speed == pytest.approx((36 + ecu_mod.SET_SPEED_STEP_KPH) * KPH)
  for _ in range(40):
    rig.run(0.05, truth)
    cs = rig.run(0.05, truth, DriverInputs(cruise_accel=True))
  assert cs.cruiseState.enabled and cs.cruiseState.speed == pytest.approx(ecu_mod.MAX_SET_SPEED_KPH * KPH)


def test_stock_longitudinal_holds_set_speed():
  rig = Rig("TOYOTA_RAV4_TSS2_2022")  # radar ACC: the car's own cruise drives, its ACC_CONTROL is on bus 0
  truth = cruising(v=30.0)
  assert healthy(rig.run(1.0, truth))
  assert rig.engage(truth).cruiseState.enabled
  assert rig.run(0.1, replace(truth, v_ego=28.0, wheel_speeds=(28.0,) * 4)).cruiseState.enabled
  assert not rig.ecu.commands.accel_active and rig.ecu.commands.accel > 0.5


@pytest.mark.parametrize("platform", TOYOTAS)
def test_other_toyotas(platform):
  """Every Toyota whose CarState reads only what the ECU fills drives healthy and engages; the rest are refused."""
  if platform in UNMODELED:
    with pytest.raises(ValueError, match=platform):
      ToyotaEcu(platform)
    return
  rig = Rig(platform)
  truth = cruising(v=30.0)
  assert healthy(rig.run(1.0, truth)) and rig.car.missing_messages() == []
  assert rig.engage(truth).cruiseState.enabled
  assert not (STACK_ADDRESSES - {0x343}) & {f.address for _, f in rig.log if f.bus == 0}  # radar ACC: its own 0x343


def test_controller_torque_is_decoded():
  rig = Rig()
  truth = cruising()
  rig.run(0.5, truth)
  for target in (0.6, -1.0, 0.3):
    for _ in range(150):   # opendbc ramps 15 units up, 25 down per frame: all of it is obeyed, none faults
      cs = rig.step(truth, cc=lat_control(target))
      cmd = rig.ecu.commands
      assert cmd.steer_active and not cmd.eps_fault and not cs.steerFaultTemporary
      assert cmd.steer_torque == pytest.approx(rig.actuators.torque, abs=1e-6)
    assert cmd.steer_torque == pytest.approx(target, abs=1e-3)
  assert cs.steeringTorqueEps == pytest.approx(0.3 * 1500, abs=2)
  cs = rig.run(0.1, truth, cc=CarControl.new_message())
  assert rig.ecu.commands == CarCommands()


def test_controller_avoids_the_steer_rate_fault():
  """Above 100°/s the EPS faults if torque stays requested; opendbc drops the request bit every 18 frames."""
  fast = cruising(steering_rate_deg=150.0)
  rig = Rig()
  cs = rig.run(2.0, fast, cc=lat_control(0.2))
  assert not cs.steerFaultTemporary and not rig.ecu.commands.eps_fault

  rig = Rig()
  packer = CANPacker(platform_info.dbc_names(PLATFORM)["pt"])
  for _ in range(ecu_mod.MAX_STEER_RATE_FRAMES + 5):
    rig.step(fast)
    lka = packer.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": 0, "SET_ME_1": 1})
    rig.ecu.receive([CanFrame(lka[0], lka[1], 0)])
  assert rig.ecu.commands.eps_fault


def lka_frame(packer: CANPacker, torque: int, req: bool = True) -> CanFrame:
  address, data, bus = packer.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": req, "STEER_TORQUE_CMD": torque,
                                                               "SET_ME_1": 1})
  return CanFrame(address, data, bus)


def test_torque_jump_faults_then_recovers():
  rig = Rig()
  packer = CANPacker(platform_info.dbc_names(PLATFORM)["pt"])
  truth = cruising()
  rig.run(0.5, truth)
  for torque in range(0, 300, 15):
    rig.step(truth)
    rig.ecu.receive([lka_frame(packer, torque)])
  assert rig.ecu.commands.steer_active and rig.ecu.commands.steer_torque == pytest.approx(285 / 1500)
  rig.ecu.receive([lka_frame(packer, 285 + rig.ecu.fault_delta + 1)])
  assert rig.ecu.commands.eps_fault and not rig.ecu.commands.steer_active and rig.ecu.commands.steer_torque == 0
  faults = []
  for _ in range(150):
    cs = rig.step(truth)
    rig.ecu.receive([lka_frame(packer, 300)])
    faults.append(cs.steerFaultTemporary)
  assert faults[5] and not cs.steerFaultTemporary and not cs.steerFaultPermanent     # a temporary fault, then over
  assert sum(faults) == pytest.approx(ecu_mod.EPS_FAULT_S * 100, abs=6)
  assert rig.ecu.commands.steer_active and rig.ecu.commands.steer_torque == pytest.approx(300 / 1500)


def test_lka_timeout_faults():
  rig = Rig()
  packer = CANPacker(platform_info.dbc_names(PLATFORM)["pt"])
  rig.step(cruising())
  rig.ecu.receive([lka_frame(packer, 15)])
  assert rig.ecu.commands.steer_active
  cs = rig.run(ecu_mod.LKA_TIMEOUT_S + 0.1, cruising())
  assert rig.ecu.commands.eps_fault and cs.steerFaultTemporary


def test_bad_checksum_is_ignored():
  rig = Rig()
  packer = CANPacker(platform_info.dbc_names(PLATFORM)["pt"])
  truth = cruising()
  rig.step(truth)
  rig.ecu.receive([lka_frame(packer, 15)])
  good = rig.ecu.commands
  bad = lka_frame(packer, 30)
  for corrupt in (bytes([*bad.data[:-1], bad.data[-1] ^ 0x01]), bad.data[:-1]):   # checksum, length
    rig.ecu.receive([CanFrame(bad.address, corrupt, 0)])
    assert rig.ecu.commands == good
  rig.engage(truth)
  address, data, _ = packer.make_can_msg("ACC_CONTROL", 0, {"CANCEL_REQ": 1, "ACC_TYPE": 1})
  rig.ecu.receive([CanFrame(address, bytes([*data[:-1], data[-1] ^ 0x80]), 0)])
  assert rig.ecu.cruise_engaged
  rig.ecu.receive([CanFrame(address, data, 0)])
  assert not rig.ecu.cruise_engaged


def test_safety_model_accepts_the_traffic_and_the_stack():
  """panda's Toyota safety (opendbc's C code, as cand runs it) on the car's frames: rates, checksums, relay, cruise;
  and on opendbc's CarController commanding torque against the EPS torque the car reports: nothing blocked."""
  clock = Clock()
  try:
    model = SafetyModel(clock=clock)
  except SafetyLibraryError as e:
    pytest.skip(str(e))
  sc = platform_info.safety_config(PLATFORM)
  model.set_safety_hooks(sc.model_id, sc.param)
  rig = Rig(safety=model)
  clock.rig = rig
  truth = cruising()
  rig.run(1.5, truth, cc=CarControl.new_message())
  assert not model.controls_allowed
  rig.engage(truth, cc=CarControl.new_message())
  assert model.controls_allowed
  cc = lat_control(0.8)
  cc.longActive = True
  cc.actuators.accel = 1.0
  cc.actuators.longControlState = CarControl.Actuators.LongControlState.pid
  model.heartbeat(True)
  cs = rig.run(2.0, truth, cc=cc)
  assert healthy(cs) and cs.cruiseState.enabled
  assert rig.ecu.commands.steer_torque == pytest.approx(0.8, abs=1e-3) and rig.ecu.commands.accel > 0.5
  assert rig.rx_rejected == 0 and rig.tx_blocked == 0 and model.tx_blocked == 0
  assert not model.relay_malfunction and not model.rx_checks_invalid and model.rx_invalid == 0


class Clock:
  """The safety model's monotonic clock: the rig's simulated time."""
  rig: Rig | None = None

  def __call__(self) -> int:
    return 0 if self.rig is None else self.rig.t


@settings(max_examples=40, deadline=None)
@given(v=st.floats(0.0, 60.0), spread=st.floats(-0.02, 0.02), angle=st.floats(-500.0, 500.0),
       rate=st.floats(-400.0, 400.0), driver=st.floats(-5.0, 5.0), eps=st.floats(-EPS_MAX_NM, EPS_MAX_NM),
       a=st.floats(-5.0, 5.0), gas=st.booleans(), brake=st.booleans(), gear=st.sampled_from(list(GEARS)),
       left=st.booleans(), right=st.booleans())
def test_carstate_matches_any_truth(v, spread, angle, rate, driver, eps, a, gas, brake, gear, left, right):
  wheels = (v * (1 + spread), v * (1 - spread), v, v)
  truth = CarTruth(v, a, wheels, 0.0, angle, rate, driver, eps, gas, brake, gear, left, right)
  ecu, car = ToyotaEcu(PLATFORM), CarAdapter(PLATFORM)
  for k in range(60):
    cs = car.update([CanFrame(f.address, f.data, f.bus) for f in ecu.step(k * STEP_NS, truth, DriverInputs())],
                    k * STEP_NS)
  assert healthy(cs)
  assert cs.vEgoRaw == pytest.approx(sum(wheels) / 4, abs=0.01 * KPH)
  assert cs.vEgo == pytest.approx(v, rel=0.01, abs=0.05)
  assert cs.steeringAngleDeg == pytest.approx(angle, abs=0.1)
  assert cs.steeringRateDeg == pytest.approx(rate, abs=0.5)
  assert cs.steeringTorque == pytest.approx(driver * ecu_mod.DRIVER_TORQUE_UNITS_PER_NM, abs=0.5)
  assert cs.steeringTorqueEps == pytest.approx(eps / EPS_MAX_NM * 1500, abs=0.73)
  assert (cs.gasPressed, cs.brakePressed, cs.gearShifter) == (gas, brake, GEARS[gear])
  assert (cs.leftBlinker, cs.rightBlinker) == ((left, right) if left != right else (False, False))


def test_step_cost():
  ecu, truth = ToyotaEcu(PLATFORM), cruising()
  n = 3000
  start = time.perf_counter()
  for k in range(n):
    ecu.step(k * STEP_NS, replace(truth, steering_angle_deg=k * 0.01), DriverInputs(cruise_set=k == 100))
  per_step = (time.perf_counter() - start) / n
  print(f"ToyotaEcu.step: {per_step * 1e6:.0f} us per 10 ms step")
  assert per_step < 1e-3
