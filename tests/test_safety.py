"""The CAN safety model (opendbc's C safety code via hardware.safety) in Toyota TSS2 modes.

Frames are real: opendbc's CANPacker with the RAV4's DBC and real checksums. Limits are never restated here:
they come from opendbc's python-side safety test definitions (the values opendbc's own C tests check against)
and its car port (CarControllerParams, safetyParam).
"""
import threading
from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opendbc.can import CANPacker
from opendbc.car import Bus
from opendbc.car.lateral import apply_meas_steer_torque_limits
from opendbc.car.structs import CarParams
from opendbc.car.toyota.interface import CarInterface
from opendbc.car.toyota.values import CAR, DBC, EPS_SCALE, CarControllerParams, ToyotaSafetyFlags
from opendbc.safety.tests import common as od_common
from opendbc.safety.tests import test_toyota as od_toyota

import hardware.safety.safety as safety_mod
from hardware.safety import SafetyLibraryError, SafetyModeError, SafetyModel

OP_LONG_CAR = CAR.TOYOTA_RAV4_TSS2          # TSS2 with camera ACC: openpilot longitudinal
STOCK_LONG_CAR = CAR.TOYOTA_RAV4_TSS2_2022  # TSS2 with radar ACC: stock longitudinal unless alpha long
CP_OP_LONG = CarInterface.get_non_essential_params(OP_LONG_CAR)
CP_STOCK_LONG = CarInterface.get_non_essential_params(STOCK_LONG_CAR)
PACKER = CANPacker(DBC[OP_LONG_CAR][Bus.pt])

# limits as opendbc's own Toyota safety tests declare them (instantiating the TestCase runs nothing)
LIM = od_toyota.TestToyotaSafetyTorque()
TX_WHITELIST = {(a, b) for a, b in od_toyota.TOYOTA_COMMON_TX_MSGS + od_toyota.TOYOTA_COMMON_LONG_TX_MSGS}
STEER_ADDR = PACKER.make_can_msg("STEERING_LKA", 0, {})[0]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def safety_config(CP: CarParams) -> tuple[int, int]:
  sc = CP.safetyConfigs[0]
  return sc.safetyModel.raw, sc.safetyParam


class Clock:
  """Fake monotonic clock (ns) so tests control the time the safety hooks see. It starts 3 s before opendbc's
  32-bit microsecond timer wraps, so every test also crosses the wrap."""
  def __init__(self):
    self.ns = ((1 << 32) - 3_000_000) * 1000

  def __call__(self) -> int:
    return self.ns

  def advance_us(self, us: int) -> None:
    self.ns += us * 1000


def make_model(CP: CarParams = CP_OP_LONG, testing: bool = False) -> tuple[SafetyModel, Clock]:
  clock = Clock()
  model = SafetyModel(clock=clock, testing=testing)
  model.set_safety_hooks(*safety_config(CP))
  return model, clock


def corrupt_checksum(msg: tuple[int, bytes, int]) -> tuple[int, bytes, int]:
  addr, dat, bus = msg
  return addr, dat[:-1] + bytes([dat[-1] ^ 0xA5]), bus  # Toyota's checksum is the last byte


def pcm(active: bool, gas: bool = False):
  return PACKER.make_can_msg("PCM_CRUISE", 0, {"CRUISE_ACTIVE": int(active), "GAS_RELEASED": int(not gas)})


def brake(pressed: bool):
  return PACKER.make_can_msg("BRAKE_MODULE", 0, {"BRAKE_PRESSED": int(pressed)})


def wheel_speeds(speed_ms: float):
  return PACKER.make_can_msg("WHEEL_SPEEDS", 0, {f"WHEEL_SPEED_{w}": speed_ms * 3.6 for w in ("FL", "FR", "RL", "RR")})


def eps(raw: int):
  return PACKER.make_can_msg("STEER_TORQUE_SENSOR", 0, {"STEER_TORQUE_EPS": raw})


def lka(torque: int, req: bool = True):
  return PACKER.make_can_msg("STEERING_LKA", 0, {"STEER_TORQUE_CMD": torque, "STEER_REQUEST": int(req)})


def acc(accel_raw: int, cancel: bool = False):
  """ACC_CONTROL with ACCEL_CMD = accel_raw / 1000 m/s^2 (its DBC factor), so the frame holds exactly accel_raw."""
  return PACKER.make_can_msg("ACC_CONTROL", 0, {"ACCEL_CMD": accel_raw / 1000, "CANCEL_REQ": int(cancel)})


def car_state(model: SafetyModel, speed_ms: float = 20.0, cruise: bool = True, eps_raw: int = 0) -> None:
  """One round of every message Toyota safety checks, all valid."""
  for msg in (wheel_speeds(speed_ms), brake(False), eps(eps_raw), pcm(cruise)):
    assert model.rx(*msg)


def engaged_model(CP: CarParams = CP_OP_LONG) -> tuple[SafetyModel, Clock]:
  model, clock = make_model(CP)
  model.heartbeat(True)
  car_state(model, cruise=False)
  car_state(model, cruise=True)
  assert model.controls_allowed
  return model, clock


def eps_meas(raw: int, eps_scale: int) -> int:
  """Motor torque as the safety code scales STEER_TORQUE_EPS (integer math, truncating toward zero)."""
  return (1 if raw >= 0 else -1) * (abs(raw) * eps_scale // 100)


@dataclass
class TorqueLimitTracker:
  """Bounds on the next STEERING_LKA command under opendbc's declared Toyota torque limits. Follows the
  documented limit semantics: rates are relative to the last command checked while engaged, and a blocked
  command restarts them from zero."""
  last: int = 0
  rt_last: int = 0
  ts_rt: int = 0
  ts_cut: int = 0
  valid_frames: int = 0
  cut_frames: int = 0
  meas: deque = field(default_factory=lambda: deque([0] * 6, maxlen=6))

  def reset(self, ts: int) -> None:
    self.last, self.rt_last, self.ts_rt, self.ts_cut, self.valid_frames, self.cut_frames = 0, 0, ts, ts, 0, 0

  def violations(self, torque: int, req: bool, ts: int) -> list[str]:
    up, down, err, tol = LIM.MAX_RATE_UP, LIM.MAX_RATE_DOWN, LIM.MAX_TORQUE_ERROR, LIM.TORQUE_MEAS_TOLERANCE
    out = []
    if abs(torque) > LIM.MAX_TORQUE:
      out.append("max torque")
    if not (min(self.last, 0) - up <= torque <= max(self.last, 0) + up):
      out.append("rate up")
    hi = max(self.last - down, max(max(self.meas), 0) + tol + err)
    lo = min(self.last + down, min(min(self.meas), 0) - tol - err)
    if not (lo <= torque <= hi):
      out.append("rate down / motor torque error")
    if not (min(self.rt_last, 0) - LIM.MAX_RT_DELTA <= torque <= max(self.rt_last, 0) + LIM.MAX_RT_DELTA):
      out.append("real-time rate")
    if not req and torque != 0:
      if self.cut_frames == 0 and (self.valid_frames < LIM.MIN_VALID_STEERING_FRAMES or
                                   ts - self.ts_cut < LIM.MIN_VALID_STEERING_RT_INTERVAL):
        out.append("steer request cut too early")
      if self.cut_frames >= LIM.MAX_INVALID_STEERING_FRAMES:
        out.append("steer request cut too long")
    return out

  def sent(self, torque: int, req: bool, ts: int) -> None:
    self.last = torque
    if ts - self.ts_rt > od_common.RT_INTERVAL:
      self.rt_last, self.ts_rt = torque, ts
    if not req and torque != 0:
      self.valid_frames, self.ts_cut = 0, ts
      self.cut_frames = min(self.cut_frames + 1, LIM.MAX_INVALID_STEERING_FRAMES)
    else:
      self.valid_frames = min(self.valid_frames + 1, LIM.MIN_VALID_STEERING_FRAMES)
      self.cut_frames = 0


# *** setup and API ***

def test_safety_config_from_opendbc():
  """The mode/param cand will use come from opendbc's car port: Toyota mode, EPS scale in the low byte, flags above."""
  mode, param = safety_config(CP_OP_LONG)
  assert mode == CarParams.SafetyModel.toyota
  assert param == EPS_SCALE[OP_LONG_CAR] == LIM.EPS_SCALE
  assert CP_OP_LONG.openpilotLongitudinalControl
  mode, param = safety_config(CP_STOCK_LONG)
  assert mode == CarParams.SafetyModel.toyota
  assert param == EPS_SCALE[STOCK_LONG_CAR] | ToyotaSafetyFlags.STOCK_LONGITUDINAL
  assert not CP_STOCK_LONG.openpilotLongitudinalControl


def test_starts_silent_and_reports_mode():
  model = SafetyModel(clock=Clock())
  assert model.mode == CarParams.SafetyModel.silent and not model.controls_allowed
  assert not model.tx(*lka(0))
  model.set_safety_hooks(*safety_config(CP_OP_LONG))
  assert (model.mode, model.param) == safety_config(CP_OP_LONG)
  assert model.tx(*lka(0))


def test_unknown_mode_raises_and_falls_back_to_silent():
  model, _ = make_model()
  with pytest.raises(SafetyModeError, match="mode 5 "):
    model.set_safety_hooks(CarParams.SafetyModel.hondaBoschGiraffe, 0)
  assert model.mode == CarParams.SafetyModel.silent
  assert not model.tx(*lka(0))
  with pytest.raises(SafetyModeError):
    model.set_safety_hooks(70000, 0)
  # built like release panda firmware (no ALLOW_DEBUG): the debug modes, allOutput included, do not exist
  with pytest.raises(SafetyModeError):
    model.set_safety_hooks(CarParams.SafetyModel.allOutput, 0)


def test_missing_library_names_build_command(monkeypatch, tmp_path):
  monkeypatch.setattr(safety_mod, "_lib", None)
  monkeypatch.setattr(safety_mod, "LIB_PATH", tmp_path / "libsafety.so")
  with pytest.raises(SafetyLibraryError, match="scons"):
    SafetyModel()


def test_stale_instance_refuses_use():
  old, _ = make_model()
  new, _ = make_model()
  with pytest.raises(RuntimeError, match="stale"):
    old.tx(*lka(0))
  assert new.tx(*lka(0))


def test_controls_allowed_setter_only_for_tests():
  model, _ = make_model()
  with pytest.raises(PermissionError):
    model.controls_allowed = True
  model, _ = make_model(testing=True)
  model.controls_allowed = True
  assert model.controls_allowed


def test_malformed_frames_raise():
  model, _ = make_model()
  assert model.tx(STEER_ADDR, bytearray(lka(0)[1]), 0)  # bytes-like data (python-can's bytearray) is fine
  with pytest.raises(ValueError):
    model.tx(STEER_ADDR, b"\x00" * 9, 0)  # 9 bytes is no CAN FD length
  with pytest.raises(ValueError):
    model.rx(0x260, b"\x00" * 8, 8)  # bus out of range
  with pytest.raises(ValueError):
    model.tx(1 << 29, b"\x00" * 8, 0)


def test_threads_share_one_consistent_state():
  """cand receives and sends on different threads and the calls release the GIL: the C side serializes them (a
  smoke test: no deadlock, no lost counts)."""
  model, _ = engaged_model()
  blocked, n = lka(1000), 5_000

  def send():
    for _ in range(n):
      model.tx(*blocked)

  def receive():
    for _ in range(n):
      model.rx(*pcm(True))

  threads = [threading.Thread(target=f) for f in (send, send, receive)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert model.tx_blocked == 2 * n and model.rx_invalid == 0


# *** controls_allowed ***

def test_engage_on_pcm_cruise_rising_edge():
  model, _ = make_model()
  car_state(model, cruise=False)
  assert not model.controls_allowed
  assert model.rx(*pcm(True))
  assert model.controls_allowed
  model.set_safety_hooks(*safety_config(CP_OP_LONG))
  assert not model.controls_allowed
  car_state(model, cruise=True)  # a mode change forgets the cruise state: already-active cruise counts as an edge
  assert model.controls_allowed


def test_cancel_disengages():
  model, _ = engaged_model()
  assert model.rx(*pcm(False))
  assert not model.controls_allowed
  assert not model.tx(*lka(10))


def test_brake_press_disengages():
  model, _ = engaged_model()
  assert model.rx(*brake(True))
  assert not model.controls_allowed
  # held brake at standstill does not block engagement (opendbc: only the rising edge or moving)
  model, _ = make_model()
  for msg in (wheel_speeds(0.0), brake(True), pcm(False), brake(True), pcm(True)):
    model.rx(*msg)
  assert model.controls_allowed
  assert model.rx(*wheel_speeds(5.0)) and model.rx(*brake(True))
  assert not model.controls_allowed


@pytest.mark.parametrize("msg", [pcm(True), eps(0)], ids=["PCM_CRUISE", "STEER_TORQUE_SENSOR"])
def test_bad_checksum_disengages(msg):
  model, _ = engaged_model()
  assert not model.rx(*corrupt_checksum(msg))
  assert not model.controls_allowed
  assert model.rx_invalid == 1


def test_rx_timeout_disengages():
  model, clock = engaged_model()
  for _ in range(20):  # the car goes quiet but for PCM_CRUISE; the host keeps its heartbeat
    clock.advance_us(60_000)
    model.heartbeat(True)
    assert model.rx(*pcm(True))
    model.tick()
  assert not model.controls_allowed
  assert model.rx_checks_invalid
  car_state(model)  # messages back, but re-engaging takes a new rising edge of cruise
  clock.advance_us(900_000)
  model.tick()
  assert not model.rx_checks_invalid and not model.controls_allowed


def test_heartbeat_not_engaged_disengages():
  model, clock = engaged_model()
  model.heartbeat(False)  # the host is alive but openpilot is not engaged
  for _ in range(2):
    clock.advance_us(1_000_000)
    car_state(model)
    model.tick()
    assert model.controls_allowed
  clock.advance_us(1_000_000)
  car_state(model)
  model.tick()
  assert not model.controls_allowed


def test_heartbeat_lost_goes_silent():
  model, clock = engaged_model()
  for _ in range(4):
    clock.advance_us(1_000_000)
    car_state(model)
    assert model.tx(*lka(0))
  assert not model.heartbeat_lost
  clock.advance_us(1_000_000)
  assert not model.tx(*lka(0))  # the due tick runs before the hook, even with no explicit tick()
  assert model.heartbeat_lost and model.mode == CarParams.SafetyModel.silent and not model.controls_allowed
  model.heartbeat(True)
  assert not model.tx(*lka(0))  # a heartbeat alone does not bring the mode back: the host must set it
  model.set_safety_hooks(*safety_config(CP_OP_LONG))
  assert model.tx(*lka(0))


def test_relay_malfunction_blocks_everything():
  model, clock = engaged_model()
  for _ in range(2):  # opendbc ignores the stock ECU until two 1 Hz ticks after a mode change
    clock.advance_us(1_000_000)
    model.heartbeat(True)
    car_state(model)
  assert model.tx(*lka(0)) and model.controls_allowed and not model.relay_malfunction
  model.rx(*lka(0))  # the stock camera's LKA frame on the car side: our harness relay is not cutting it
  assert model.relay_malfunction
  assert not model.tx(*lka(0)) and not model.tx(*acc(0))
  assert model.fwd(2, STEER_ADDR) == -1 and model.fwd(0, 0x123) == -1


def test_fwd_blocks_our_messages_from_the_camera():
  model, _ = make_model()
  assert model.fwd(2, STEER_ADDR) == -1
  assert model.fwd(2, 0x123) == 0 and model.fwd(0, STEER_ADDR) == 2


# *** tx ***

@pytest.mark.parametrize("CP", [CP_OP_LONG, CP_STOCK_LONG], ids=["op_long", "stock_long"])
def test_no_actuation_without_controls(CP):
  model, _ = make_model(CP)
  car_state(model, cruise=False)
  assert not model.controls_allowed
  assert model.tx(*lka(0)) and model.tx(*lka(0, req=False))
  assert not model.tx(*lka(1)) and not model.tx(*lka(-1))
  assert model.tx(*acc(0, cancel=True))  # cancelling the stock ACC is always allowed
  assert not model.tx(*acc(500)) and not model.tx(*acc(-500))
  assert model.tx_blocked == 4


@pytest.mark.parametrize("CP", [CP_OP_LONG, CP_STOCK_LONG], ids=["op_long", "stock_long"])
def test_accel_limits_exhaustive(CP):
  """Every ACCEL_CMD value from -5 to +3 m/s^2, engaged or not, gas or not, with and without the cancel bit."""
  frames = {(a, c): acc(a, c) for a in range(-5000, 3001) for c in (False, True)}
  for engaged, gas in ((True, False), (True, True), (False, False)):
    model, _ = make_model(CP)
    car_state(model, cruise=False)
    model.rx(*pcm(engaged, gas))
    assert model.controls_allowed == engaged
    for (a, cancel), frame in frames.items():
      if CP.openpilotLongitudinalControl:
        should = a == LIM.INACTIVE_ACCEL or (engaged and not gas and LIM.MIN_ACCEL <= a / 1000 <= LIM.MAX_ACCEL)
      else:
        should = cancel and a == LIM.INACTIVE_ACCEL
      assert model.tx(*frame) == should, f"accel {a / 1000} {cancel=} {engaged=} {gas=}"


@SETTINGS
@given(addr=st.integers(0, 0x7FF) | st.integers(0x800, (1 << 29) - 1), bus=st.integers(0, 3),
       length=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 32, 64]))
def test_unsupported_address_blocked(addr, bus, length):
  model, _ = make_model(testing=True)
  model.controls_allowed = True
  if (addr, bus) in TX_WHITELIST:
    return
  assert not model.tx(addr, b"\x00" * length, bus)
  assert model.tx_blocked == 1


step = st.fixed_dictionaries({
  "dt_us": st.sampled_from([10_000]) | st.integers(0, 300_000) | st.integers(900_000, 2_500_000),
  "speed": st.sampled_from([0.0, 20.0]),
  "cruise": st.integers(0, 9).map(lambda x: x > 0),
  "gas": st.integers(0, 9).map(lambda x: x == 0),
  "brake": st.integers(0, 19).map(lambda x: x == 0),
  "bad": st.sampled_from([None] * 18 + ["pcm", "eps"]),
  "eps_err": st.integers(-600, 600),
  "torque": st.tuples(st.just("delta"), st.integers(-45, 45)) | st.tuples(st.just("abs"), st.integers(-1800, 1800)),
  "req": st.integers(0, 9).map(lambda x: x > 0),
  "accel_raw": st.integers(-5000, 3000) | st.just(0) | st.sampled_from([LIM.MIN_ACCEL, LIM.MAX_ACCEL]).flatmap(
    lambda b: st.integers(-80, 80).map(lambda d: round(b * 1000) + d)),
  "cancel": st.booleans(),
})


@pytest.mark.parametrize("CP", [CP_OP_LONG, CP_STOCK_LONG], ids=["op_long", "stock_long"])
@SETTINGS
@given(steps=st.lists(step, min_size=1, max_size=60))
def test_random_sequences_never_exceed_limits(CP, steps):
  """Random car states, engagement events, corrupt frames, timing and commands: every frame let through
  stays inside opendbc's declared limits, and controls_allowed changes as opendbc defines."""
  model, clock = make_model(CP)
  eps_scale = EPS_SCALE[CP.carFingerprint]
  op_long = CP.openpilotLongitudinalControl
  trk = TorqueLimitTracker()
  cruise_prev = brake_prev = gas = False
  cmd = 0
  for s in steps:
    clock.advance_us(s["dt_us"])
    ts = clock.ns // 1000
    model.heartbeat(True)

    assert model.rx(*wheel_speeds(s["speed"]))
    if s["dt_us"] > 1_000_000:  # a 1 Hz tick ran during the gap and found every checked message lagging
      assert not model.controls_allowed
    assert model.rx(*brake(s["brake"]))
    if s["brake"] and (not brake_prev or s["speed"] > 0):
      assert not model.controls_allowed
    brake_prev = s["brake"]

    eps_raw = round((trk.last + s["eps_err"]) * 100 / eps_scale)
    if s["bad"] == "eps":
      assert not model.rx(*corrupt_checksum(eps(eps_raw)))
      assert not model.controls_allowed
    else:
      assert model.rx(*eps(eps_raw))
      trk.meas.append(eps_meas(eps_raw, eps_scale))

    if s["bad"] == "pcm":
      assert not model.rx(*corrupt_checksum(pcm(s["cruise"], s["gas"])))
      assert not model.controls_allowed
    else:
      was_allowed = model.controls_allowed
      assert model.rx(*pcm(s["cruise"], s["gas"]))
      rising = s["cruise"] and not cruise_prev
      cruise_prev, gas = s["cruise"], s["gas"]
      if not s["cruise"]:
        assert not model.controls_allowed
      elif rising and not (s["brake"] and s["speed"] > 0):
        assert model.controls_allowed
      elif not rising:
        assert model.controls_allowed == was_allowed

    # lateral
    allowed_ctrl = model.controls_allowed
    cmd = cmd + s["torque"][1] if s["torque"][0] == "delta" else s["torque"][1]
    cmd = max(-0x8000, min(0x7FFF, cmd))
    sent = model.tx(*lka(cmd, s["req"]))
    if not allowed_ctrl:
      assert not sent or cmd == 0, "torque sent without controls allowed"
      trk.reset(ts)
    elif sent:
      assert trk.violations(cmd, s["req"], ts) == [], f"{cmd=} passed but exceeds opendbc's limits"
      trk.sent(cmd, s["req"], ts)
    else:
      trk.reset(ts)

    # longitudinal
    a = s["accel_raw"]
    sent = model.tx(*acc(a, s["cancel"]))
    in_range = LIM.MIN_ACCEL <= a / 1000 <= LIM.MAX_ACCEL
    if op_long:
      assert sent == (a == LIM.INACTIVE_ACCEL or (allowed_ctrl and not gas and in_range)), f"accel {a / 1000}"
    else:
      assert sent == (s["cancel"] and a == LIM.INACTIVE_ACCEL), "stock long: only ACC cancel frames"


UP, DOWN = LIM.MAX_RATE_UP, LIM.MAX_RATE_DOWN
edge_rates = st.sampled_from([UP, -UP, UP + 1, -(UP + 1), DOWN - 1, -(DOWN - 1)])
# (torque change per frame, frames, how far the EPS lags the command)
segment = st.tuples(edge_rates | st.integers(-2 * DOWN, 2 * DOWN), st.integers(1, 110),
                    st.just(0) | st.integers(-600, 600))


@settings(SETTINGS, max_examples=100)
@given(segments=st.lists(segment, min_size=1, max_size=4), dt_us=st.sampled_from([10_000]) | st.integers(0, 30_000),
       cuts=st.sets(st.integers(0, 200), max_size=6))
# the edges of each limit, derived from opendbc's declared values:
@example(segments=[(UP, 120, 0)], dt_us=10_000, cuts=set())                    # ramp into max torque
@example(segments=[(UP, 40, LIM.MAX_TORQUE_ERROR + 10)], dt_us=10_000, cuts=set())  # EPS lagging: motor error
@example(segments=[(UP, 60, 0), (-(DOWN - 1), 30, 2 * LIM.MAX_TORQUE_ERROR)], dt_us=10_000, cuts=set())  # too slow down
@example(segments=[(UP, 60, 0)], dt_us=5_000, cuts=set())                     # real-time rate window
@example(segments=[(1, 60, 0)], dt_us=6_000, cuts={20, 38})                   # cuts closer than the rt interval
@example(segments=[(1, 40, 0)], dt_us=10_000, cuts={20, 21})                  # two frames of cut in a row
@example(segments=[(1, 40, 0)], dt_us=10_000, cuts={LIM.MIN_VALID_STEERING_FRAMES - 2})  # cut too soon
def test_torque_ramps_never_exceed_limits(segments, dt_us, cuts):
  """Sustained ramps reach what random walks rarely do: max torque, the real-time rate window, a lagging EPS
  (motor torque error, ramp-down rate) and steer request cuts. Every command let through stays inside opendbc's
  limits."""
  model, clock = engaged_model()
  eps_scale = EPS_SCALE[OP_LONG_CAR]
  trk = TorqueLimitTracker()
  cmd, i = 0, 0
  for rate, frames, eps_offset in segments:
    for _ in range(frames):
      clock.advance_us(dt_us)
      ts = clock.ns // 1000
      model.heartbeat(True)
      eps_raw = round((trk.last - eps_offset) * 100 / eps_scale)
      car_state(model, eps_raw=eps_raw)
      trk.meas.append(eps_meas(eps_raw, eps_scale))
      assert model.controls_allowed
      cmd = max(-0x8000, min(0x7FFF, cmd + rate))
      req = i not in cuts
      if model.tx(*lka(cmd, req)):
        assert trk.violations(cmd, req, ts) == [], f"frame {i}: {cmd=} {req=} passed but exceeds opendbc's limits"
        trk.sent(cmd, req, ts)
      else:
        trk.reset(ts)
      i += 1


@SETTINGS
@given(desired=st.lists(st.tuples(st.integers(-2500, 2500), st.integers(-500, 500), st.integers(9_000, 60_000),
                                  st.floats(-6.0, 4.0)), min_size=1, max_size=150))
def test_carcontroller_output_always_passes(desired):
  """The other direction: what opendbc's Toyota carcontroller limiter produces (CarControllerParams) is never
  blocked while engaged, for any request, any EPS response and any frame timing opendbc's rt limit supports."""
  model, clock = engaged_model()
  ccp = CarControllerParams(CP_OP_LONG)
  eps_scale = EPS_SCALE[OP_LONG_CAR]
  last = 0
  for want, eps_err, dt_us, want_accel in desired:
    clock.advance_us(dt_us)
    model.heartbeat(True)
    eps_raw = round((last + eps_err) * 100 / eps_scale)
    car_state(model, eps_raw=eps_raw)
    torque = apply_meas_steer_torque_limits(want, last, eps_raw * eps_scale / 100, ccp)
    assert model.tx(*lka(torque)), f"{torque=} after {last=}"
    last = torque
    accel = round(min(max(want_accel, ccp.ACCEL_MIN), ccp.ACCEL_MAX), 3)
    assert model.tx(*acc(round(accel * 1000))), f"{accel=}"
  assert model.tx_blocked == 0
