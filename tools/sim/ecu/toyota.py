"""A Toyota's ECUs as the stack meets them on CAN: the powertrain bus (bus 0: wheel speeds, steering sensors, EPS,
PCM cruise, body), the front radar's tracks (bus 1, tools.sim.ecu.radar) and the camera's side of the harness (bus 2:
ACC_CONTROL, PRE_COLLISION, LKAS_HUD, PCS_HUD), and the car obeying the stack's STEERING_LKA and ACC_CONTROL as a
TSS2 car does.

Which messages go out is what opendbc's CarState reads for the platform (selfdrive.car.platform_info), at the
rates a Toyota sends them (PERIOD_MS); a message the ECU cannot fill is refused at start, so a platform it does not
model (SecOC, DSU, angle-steering cars) fails loudly instead of giving a carState that lies.

What the stack sends under a relay check (STEERING_LKA, LKAS_HUD, STEERING_LTA; ACC_CONTROL under openpilot
longitudinal) never appears on bus 0: the safety model would take it for a relay malfunction, as on a real car.
"""
from dataclasses import dataclass

from hardware.can.frame import CanFrame
from selfdrive.car import platform_info
from tools.sim.constants import EPS_MAX_NM, SIM_PLATFORM, STANDSTILL_SPEED
from tools.sim.ecu.bus import MS, DbcCodec, Periodic, Schedule
from tools.sim.ecu.interface import CarCommands, CarTruth, DriverInputs
from tools.sim.ecu.radar import ToyotaRadar
from tools.sim.ecu.uds import Diagnostics

KPH_TO_MS = 1 / 3.6

# How often a Toyota sends each message, ms (panda's Toyota rx checks: 0xAA 83 Hz, 0x260 50 Hz, 0x1D2 33 Hz,
# 0x226 40 Hz; the rest as openpilot's Toyota CarState checked them before opendbc learnt rates from traffic).
PERIOD_MS = {
  "STEER_ANGLE_SENSOR": 12, "WHEEL_SPEEDS": 12, "STEER_TORQUE_SENSOR": 20, "BRAKE_MODULE": 25,
  "PCM_CRUISE": 30, "PCM_CRUISE_2": 30, "EPS_STATUS": 40, "VSC1S07": 50,
  "ESP_CONTROL": 333, "BODY_CONTROL_STATE": 333, "BODY_CONTROL_STATE_2": 500,
  "PCM_CRUISE_SM": 1000, "GEAR_PACKET": 1000, "LIGHT_STALK": 1000,
  "BLINKERS_STATE": 6667,  # 0.15 Hz, and at once when a blinker switches
  # the camera (bus 2)
  "PRE_COLLISION": 30, "ACC_CONTROL": 30, "PCS_HUD": 1000, "LKAS_HUD": 1000,
  "STEERING_LKA": 24,      # 42 Hz, as opendbc's CarController notes from Toyota traces
}
CAMERA_BUS = 2
# sent by the camera whatever CarState reads: its own (idle) steering command keeps the camera's side of the harness
# as busy as a real one, which opendbc's bus timeout expects even where CarState reads only LKAS_HUD there
CAMERA_MESSAGES = ("STEERING_LKA",)
FINGERPRINT_ONLY_PERIOD_MS = 1000   # addresses a fingerprint expects that nothing here fills: zero payload

# EPS. The real RAV4 faults on a torque step near 45 units per message; opendbc commands at most 15 up and 25 down.
# This one faults on steps over EPS_FAULT_DELTA_FACTOR times opendbc's largest (100 units on a RAV4), so the stack's
# correct commands never fault, a dropped frame neither, and a jump does.
EPS_FAULT_DELTA_FACTOR = 4
EPS_FAULT_S = 1.0                   # temporary fault: LKA_STATE 25 for one message, then 9, then back to normal
LKA_TIMEOUT_S = 0.25                # request active but STEERING_LKA stopped: the EPS faults
MAX_STEER_RATE_DPS = 100            # torque requested above this wheel rate ...
MAX_STEER_RATE_FRAMES = 25          # ... for more frames faults (opendbc drops the request bit every 18)
DRIVER_TORQUE_UNITS_PER_NM = 100.0  # STEER_TORQUE_DRIVER: steeringPressed (100 units) at 1 Nm

# PCM cruise
MIN_SET_SPEED_KPH, MAX_SET_SPEED_KPH = 30, 180  # set speed range; below 30 km/h it engages only behind a lead
SET_SPEED_STEP_KPH = 5                           # one push of the stalk up
CRUISE_KP = 0.4                     # the car's own cruise: m/s^2 per m/s under the set speed
ACC_CMD_TIMEOUT_S = 0.2             # the stack's ACC_CONTROL older than this is not obeyed


@dataclass
class StackCommands:
  """The stack's latest frames as the car took them (checksum good)."""
  lka_t: int = -1
  steer_req: bool = False
  steer_cmd: float = 0.0             # STEER_TORQUE_CMD units
  acc_t: int = -1
  accel: float = 0.0
  release_standstill: bool = True
  lead: bool = False
  distance_button: bool = False


class ToyotaEcu:
  """The car's side of CAN for one Toyota platform: step() every 10 ms gives the frames due, receive() takes the
  stack's frames, commands is what the actuators do. With diagnostics its ECUs answer opendbc's firmware query."""

  def __init__(self, platform: str = SIM_PLATFORM, diagnostics: bool = True):
    if platform_info.brand(platform) != "toyota" or platform_info.angle_steering(platform):
      raise ValueError(f"{platform}: the simulated Toyota ECU models torque-steered (LKA) Toyotas only")
    self.platform = platform
    self.codec = DbcCodec(platform_info.dbc_names(platform)["pt"])
    self.openpilot_long = platform_info.openpilot_longitudinal(platform)
    self.min_enable_speed = platform_info.min_enable_speed(platform)
    self.accel_min, self.accel_max = platform_info.accel_limits(platform)
    limits = platform_info.steer_torque_limits(platform)
    self.steer_max = limits.max
    self.fault_delta = EPS_FAULT_DELTA_FACTOR * max(limits.delta_up, limits.delta_down)
    self.eps_units_per_nm = limits.max / EPS_MAX_NM / platform_info.toyota_eps_scale(platform)
    finger = platform_info.can_fingerprint(platform)
    self.fingerprint_sizes = {(bus, a): n for bus, msgs in finger.items() for a, n in msgs.items()}
    self.schedule = Schedule(self._periodic(finger))
    self.diagnostics = Diagnostics(platform_info.firmware(platform) if diagnostics else ())
    self.radar = ToyotaRadar(platform) if "radar" in platform_info.dbc_names(platform) else None
    self.fill = {
      "STEER_ANGLE_SENSOR": self._steer_angle_sensor, "WHEEL_SPEEDS": self._wheel_speeds,
      "STEER_TORQUE_SENSOR": self._steer_torque_sensor, "BRAKE_MODULE": self._brake_module,
      "PCM_CRUISE": self._pcm_cruise, "PCM_CRUISE_2": self._pcm_cruise_2, "EPS_STATUS": self._eps_status,
      "VSC1S07": self._vsc1s07, "ESP_CONTROL": self._esp_control, "BODY_CONTROL_STATE": self._body_control_state,
      "BODY_CONTROL_STATE_2": self._body_control_state_2, "PCM_CRUISE_SM": self._pcm_cruise_sm,
      "GEAR_PACKET": self._gear_packet, "LIGHT_STALK": self._light_stalk, "BLINKERS_STATE": self._blinkers_state,
      "PRE_COLLISION": self._pre_collision, "ACC_CONTROL": self._acc_control, "PCS_HUD": self._pcs_hud,
      "LKAS_HUD": self._lkas_hud, "STEERING_LKA": self._steering_lka,
    }
    v = self.codec.value
    self.gears = {n: v("GEAR_PACKET", "GEAR", n) for n in ("P", "D", "N", "R")}
    self.lka_state = {n: v("EPS_STATUS", "LKA_STATE", n) for n in ("STANDBY", "ACTIVE", "TEMPORARY_FAULT",
                                                                   "TEMPORARY_FAULT2")}
    self.cruise_state = {n: v("PCM_CRUISE", "CRUISE_STATE", n) for n in ("OFF", "ADAPTIVE_ENGAGED", "STANDSTILL")}
    self.sm_state = {n: v("PCM_CRUISE_SM", "CRUISE_CONTROL_STATE", n) for n in ("DISABLED", "ENABLED")}
    self.turn_signals = {n: v("BLINKERS_STATE", "TURN_SIGNALS", n) for n in ("NONE", "LEFT", "RIGHT")}
    self.follow_far = v("PCM_CRUISE_2", "PCM_FOLLOW_DISTANCE", "FAR")
    self.follow_close = v("PCM_CRUISE_2", "PCM_FOLLOW_DISTANCE", "CLOSE")
    self.metric = v("BODY_CONTROL_STATE_2", "UNITS", "KM_(KM/L)")
    self.lockout_ok = v("PCM_CRUISE_2", "LOW_SPEED_LOCKOUT", "OK")
    self.acc_type_ok = v("ACC_CONTROL", "ACC_TYPE", "OK")

    self.t = 0
    self.truth: CarTruth | None = None
    self.angle_at_start = 0.0     # the torque sensor's angle is zeroed where the wheel was at start-up
    self.stack = StackCommands()
    # EPS
    self.fault_until = -1
    self.fault_reported = False
    self.high_rate_frames = 0
    # PCM
    self.main_on = False
    self.engaged = False
    self.standstill = False
    self.set_speed_kph = 0
    self.follow = self.follow_far
    self.prev_set = False
    self.prev_accel = False
    self.prev_blinkers = (False, False)

  def _periodic(self, finger: platform_info.Fingerprint) -> list[Periodic]:
    """What CarState reads, the camera's own messages, then what else a fingerprint expects."""
    entries, filled = [], set()
    for bus, msgs in sorted(platform_info.state_messages(self.platform).items()):
      for address, (name, _) in sorted(msgs.items()):
        if name not in PERIOD_MS:
          raise ValueError(f"{self.platform}: its CarState reads {name} (bus {bus}), which the simulated Toyota ECU "
                           "does not model")
        entries.append(Periodic(name, bus, address, PERIOD_MS[name] * MS))
        filled.add((bus, address))
    for name in CAMERA_MESSAGES:
      address = self.codec.msgs[name].address
      if (CAMERA_BUS, address) not in filled:
        entries.append(Periodic(name, CAMERA_BUS, address, PERIOD_MS[name] * MS))
        filled.add((CAMERA_BUS, address))
    for bus, addresses in sorted(finger.items()):
      for address in sorted(addresses):
        if (bus, address) not in filled:
          entries.append(Periodic(self.codec.name_of(address) or "", bus, address, FINGERPRINT_ONLY_PERIOD_MS * MS))
    return entries

  # *** the loop ***

  def step(self, t_ns: int, truth: CarTruth, driver: DriverInputs) -> list[CanFrame]:
    if self.truth is None:
      self.angle_at_start = truth.steering_angle_deg
    self.t, self.truth = t_ns, truth
    self._update_eps()
    self._update_pcm(truth, driver)
    blinkers = (truth.left_blinker, truth.right_blinker)
    if blinkers != self.prev_blinkers:
      self.schedule.send_now("BLINKERS_STATE", t_ns)
      self.prev_blinkers = blinkers
    radar = self.radar.step(t_ns, truth.radar) if self.radar is not None else []
    return [self._frame(e) for e in self.schedule.due(t_ns)] + radar + self.diagnostics.step(t_ns)

  def receive(self, frames: list[CanFrame]) -> None:
    self.diagnostics.receive(frames, self.t)
    for f in frames:
      if f.bus != 0:
        continue
      name = self.codec.name_of(f.address)
      if name not in ("STEERING_LKA", "ACC_CONTROL", "PCM_CRUISE"):
        continue
      sigs = self.codec.decode(f.address, f.data)
      if sigs is None:
        continue  # a real ECU drops a frame whose checksum or length is wrong
      if name == "STEERING_LKA":
        self._steer_command(bool(sigs["STEER_REQUEST"]), sigs["STEER_TORQUE_CMD"])
      elif name == "ACC_CONTROL":
        self._acc_command(sigs)
      elif sigs["CANCEL_REQ"]:
        self._disengage()

  @property
  def set_speed(self) -> float:
    """m/s, what the cluster shows the driver."""
    return self.set_speed_kph * KPH_TO_MS

  @property
  def cruise_engaged(self) -> bool:
    return self.engaged

  @property
  def commands(self) -> CarCommands:
    fault = self.eps_faulted
    steer_active = self.stack.steer_req and not fault
    steer = min(max(self.stack.steer_cmd / self.steer_max, -1.0), 1.0) if steer_active else 0.0
    accel, accel_active = self._accel()
    return CarCommands(steer, steer_active, accel, accel_active, fault)

  # *** EPS ***

  @property
  def eps_faulted(self) -> bool:
    return self.t < self.fault_until

  def _fault(self) -> None:
    if not self.eps_faulted:
      self.fault_until = self.t + round(EPS_FAULT_S * 1e9)
      self.fault_reported = False
      self.stack.steer_req = False

  def _steer_command(self, req: bool, cmd: float) -> None:
    jump = abs(cmd - self.stack.steer_cmd) > self.fault_delta
    self.stack.lka_t, self.stack.steer_cmd = self.t, cmd
    if self.eps_faulted:
      return
    self.stack.steer_req = req
    fast = self.truth is not None and abs(self.truth.steering_rate_deg) >= MAX_STEER_RATE_DPS
    self.high_rate_frames = self.high_rate_frames + 1 if req and fast else 0
    if req and (jump or self.high_rate_frames > MAX_STEER_RATE_FRAMES):
      self._fault()

  def _update_eps(self) -> None:
    if self.stack.steer_req and self.t - self.stack.lka_t > LKA_TIMEOUT_S * 1e9:
      self._fault()

  # *** PCM cruise ***

  def _acc_command(self, sigs: dict[str, float]) -> None:
    s = self.stack
    s.acc_t, s.accel = self.t, sigs["ACCEL_CMD"]
    s.release_standstill, s.lead = bool(sigs["RELEASE_STANDSTILL"]), bool(sigs["MINI_CAR"])
    if sigs["DISTANCE"] and not s.distance_button:  # a press: one bar shorter, from the shortest back to the longest
      self.follow = self.follow + 1 if self.follow < self.follow_close else self.follow_far
    s.distance_button = bool(sigs["DISTANCE"])
    if sigs["CANCEL_REQ"]:
      self._disengage()

  def _acc_fresh(self) -> bool:
    return self.stack.acc_t >= 0 and self.t - self.stack.acc_t <= ACC_CMD_TIMEOUT_S * 1e9

  def _can_engage(self, truth: CarTruth) -> bool:
    if not self.main_on or truth.brake_pressed or truth.gear != "D" or truth.v_ego < STANDSTILL_SPEED:
      return False
    if self.min_enable_speed > 0:
      return truth.v_ego >= self.min_enable_speed
    behind_lead = self.openpilot_long and self._acc_fresh() and self.stack.lead
    return behind_lead or truth.v_ego >= MIN_SET_SPEED_KPH * KPH_TO_MS

  def _disengage(self) -> None:
    self.engaged = self.standstill = False

  def _update_pcm(self, truth: CarTruth, driver: DriverInputs) -> None:
    self.main_on = driver.cruise_main_on
    if self.engaged and (driver.cruise_cancel or truth.brake_pressed or not self.main_on or truth.gear != "D"):
      self._disengage()
    press = driver.cruise_set and not self.prev_set
    self.prev_set = driver.cruise_set
    if press and not self.engaged and not driver.cruise_cancel and self._can_engage(truth):
      self.engaged = True
      self.set_speed_kph = min(max(round(truth.v_ego / KPH_TO_MS), MIN_SET_SPEED_KPH), MAX_SET_SPEED_KPH)
    accel_press = driver.cruise_accel and not self.prev_accel
    self.prev_accel = driver.cruise_accel
    if accel_press and self.engaged:
      self.set_speed_kph = min(self.set_speed_kph + SET_SPEED_STEP_KPH, MAX_SET_SPEED_KPH)
    # stopped under cruise: the PCM holds the car until the stack releases it with a positive request
    if self.engaged and self.openpilot_long and truth.v_ego < STANDSTILL_SPEED and self.stack.accel <= 0:
      self.standstill = True
    elif self.standstill and self.stack.release_standstill and self.stack.accel > 0:
      self.standstill = False

  def _own_cruise_accel(self) -> float:
    err = self.set_speed_kph * KPH_TO_MS - (self.truth.v_ego if self.truth else 0.0)
    return min(max(CRUISE_KP * err, self.accel_min), self.accel_max)

  def _accel(self) -> tuple[float, bool]:
    """(accel the cruise asks for, whether it is the stack's)."""
    if not self.engaged or (self.truth is not None and self.truth.gas_pressed):
      return 0.0, False
    if not self.openpilot_long:
      return self._own_cruise_accel(), False
    if not self._acc_fresh():
      return 0.0, False
    accel = min(self.stack.accel, 0.0) if self.standstill else self.stack.accel
    return accel, True

  # *** the messages ***

  def _frame(self, e: Periodic) -> CanFrame:
    if not e.name:   # not in the DBC: zeros of the fingerprint's length
      return CanFrame(e.address, bytes(self.fingerprint_sizes[(e.bus, e.address)]), e.bus)
    fill = self.fill.get(e.name)
    return self.codec.frame(e.name, e.bus, {} if fill is None else fill(self.truth))  # {}: zeros, checksum, counter

  def _steer_angle_sensor(self, t: CarTruth) -> dict[str, float]:
    coarse = 1.5 * round(t.steering_angle_deg / 1.5)   # 1.5° steps, and the rest in 0.1° steps
    return {"STEER_ANGLE": coarse, "STEER_FRACTION": t.steering_angle_deg - coarse, "STEER_RATE": t.steering_rate_deg}

  def _wheel_speeds(self, t: CarTruth) -> dict[str, float]:
    fl, fr, rl, rr = (w / KPH_TO_MS for w in t.wheel_speeds)
    return {"WHEEL_SPEED_FL": fl, "WHEEL_SPEED_FR": fr, "WHEEL_SPEED_RL": rl, "WHEEL_SPEED_RR": rr}

  def _steer_torque_sensor(self, t: CarTruth) -> dict[str, float]:
    return {"STEER_ANGLE": t.steering_angle_deg - self.angle_at_start, "STEER_ANGLE_INITIALIZING": 0,
            "STEER_TORQUE_DRIVER": t.driver_torque * DRIVER_TORQUE_UNITS_PER_NM,
            "STEER_TORQUE_EPS": t.eps_torque * self.eps_units_per_nm}

  def _eps_status(self, t: CarTruth) -> dict[str, float]:
    """A fault shows as 25 in the first message that reports it, then 9 (what opendbc's CarState documents)."""
    if self.eps_faulted:
      state = self.lka_state["TEMPORARY_FAULT2" if self.fault_reported else "TEMPORARY_FAULT"]
      self.fault_reported = True
    else:
      state = self.lka_state["ACTIVE" if self.stack.steer_req else "STANDBY"]
    return {"LKA_STATE": state}

  def _brake_module(self, t: CarTruth) -> dict[str, float]:
    return {"BRAKE_PRESSED": t.brake_pressed}

  def _pcm_cruise(self, t: CarTruth) -> dict[str, float]:
    accel = self._accel()[0]
    state = "OFF" if not self.engaged else "STANDSTILL" if self.standstill else "ADAPTIVE_ENGAGED"
    return {"GAS_RELEASED": not t.gas_pressed, "CRUISE_ACTIVE": self.engaged, "CRUISE_STATE": self.cruise_state[state],
            "ACC_BRAKING": accel < 0, "ACCEL_NET": accel}

  def _pcm_cruise_2(self, t: CarTruth) -> dict[str, float]:
    return {"MAIN_ON": self.main_on, "SET_SPEED": self.set_speed_kph, "BRAKE_PRESSED": t.brake_pressed,
            "LOW_SPEED_LOCKOUT": self.lockout_ok, "PCM_FOLLOW_DISTANCE": self.follow}

  def _pcm_cruise_sm(self, t: CarTruth) -> dict[str, float]:
    return {"MAIN_ON": self.main_on, "CRUISE_CONTROL_STATE": self.sm_state["ENABLED" if self.engaged else "DISABLED"],
            "UI_SET_SPEED": self.set_speed_kph, "DISTANCE_LINES": self.follow_close + 1 - self.follow}

  def _vsc1s07(self, t: CarTruth) -> dict[str, float]:
    return {"GVC": t.a_ego}

  def _esp_control(self, t: CarTruth) -> dict[str, float]:
    return {"TC_DISABLED": 0, "BRAKE_HOLD_ACTIVE": 0}

  def _body_control_state(self, t: CarTruth) -> dict[str, float]:
    return {}  # doors closed, seatbelt latched, parking brake off

  def _body_control_state_2(self, t: CarTruth) -> dict[str, float]:
    return {"UNITS": self.metric}

  def _gear_packet(self, t: CarTruth) -> dict[str, float]:
    return {"GEAR": self.gears[t.gear]}

  def _light_stalk(self, t: CarTruth) -> dict[str, float]:
    return {}

  def _blinkers_state(self, t: CarTruth) -> dict[str, float]:
    hazard = t.left_blinker and t.right_blinker
    signal = "NONE" if hazard or not (t.left_blinker or t.right_blinker) else "LEFT" if t.left_blinker else "RIGHT"
    return {"TURN_SIGNALS": self.turn_signals[signal], "HAZARD_LIGHT": hazard}

  def _pre_collision(self, t: CarTruth) -> dict[str, float]:
    return {}  # no pre-collision braking

  def _acc_control(self, t: CarTruth) -> dict[str, float]:
    """The camera's own ACC request: what the car obeys under stock longitudinal (blocked by the harness else)."""
    accel = self._own_cruise_accel() if self.engaged and not self.openpilot_long else 0.0
    return {"ACC_TYPE": self.acc_type_ok, "ALLOW_LONG_PRESS": 1, "ACCEL_CMD": accel, "PERMIT_BRAKING": 1,
            "RELEASE_STANDSTILL": 1}

  def _pcs_hud(self, t: CarTruth) -> dict[str, float]:
    return {"SET_ME_X20": 0x20, "SET_ME_X10": 0x10}

  def _lkas_hud(self, t: CarTruth) -> dict[str, float]:
    return {"SET_ME_X01": 1, "SET_ME_X02": 2, "LKAS_STATUS": 1, "LDA_SA_TOGGLE": 1, "LDA_SENSITIVITY": 2,
            "LDW_EXIST": 1, "LANE_SWAY_FLD": 7, "LANE_SWAY_TOGGLE": 1, "LANE_SWAY_SENSITIVITY": 2}

  def _steering_lka(self, t: CarTruth) -> dict[str, float]:
    return {"STEER_REQUEST": 0, "STEER_TORQUE_CMD": 0, "SET_ME_1": 1}
