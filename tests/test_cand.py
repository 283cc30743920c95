"""cand's TX gate: on random command sequences, exactly the frames opendbc's safety model allows reach the wire,
none beyond the limits, and a lost sendcan heartbeat stops everything until the driver engages again. Before the
car is known only diagnostic frames (opendbc's ELM327 mode) may go out, for the firmware query.

Cand runs in-process on python-can's virtual bus pair with the stack clock driven by the test, so every safety
decision can be replayed through a fresh safety model at the same instants.
"""
import itertools

import can
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opendbc.can import CANPacker
from opendbc.car.toyota.values import CarControllerParams

from cereal.clock import mono_time, set_replay_time
from hardware.can.interfaces import CanSpec
from hardware.cand import ELM327, ELM327_PARAM, HEARTBEAT_TIMEOUT_S, SILENT, Cand
from hardware.safety import SafetyModel
from selfdrive.car import CarParams
from selfdrive.car.adapter import CarAdapter

PLATFORM = "TOYOTA_RAV4_TSS2"
ADAPTER = CarAdapter(PLATFORM)
MODE = (ADAPTER.safety_configs[0].model, ADAPTER.safety_configs[0].param)
PACKER = CANPacker("toyota_nodsu_pt_generated")
LIMITS = CarControllerParams(ADAPTER.car_params)
T0 = 10**12
_channels = itertools.count()


class RecordingSafety:
  """Passes every call to the real safety model and remembers it, with the time it was made."""
  def __init__(self, model: SafetyModel):
    self.model = model
    self.calls: list[tuple] = []

  def __getattr__(self, name):  # properties (controls_allowed, tx_blocked, ...) come from the real model
    return getattr(self.model, name)

  def set_safety_hooks(self, mode, param):
    self.calls.append((mono_time(), "mode", mode, param, None))
    return self.model.set_safety_hooks(mode, param)

  def rx(self, address, data, bus):
    ok = self.model.rx(address, data, bus)
    self.calls.append((mono_time(), "rx", address, bytes(data), bus, ok))
    return ok

  def tx(self, address, data, bus):
    ok = self.model.tx(address, data, bus)
    self.calls.append((mono_time(), "tx", address, bytes(data), bus, ok))
    return ok

  def heartbeat(self, engaged):
    self.calls.append((mono_time(), "hb", engaged, None, None))
    return self.model.heartbeat(engaged)

  def tick(self):
    self.calls.append((mono_time(), "tick", None, None, None))
    return self.model.tick()


def car_frame(name: str, values: dict) -> can.Message:
  addr, data, bus = PACKER.make_can_msg(name, 0, values)
  return can.Message(arbitration_id=addr, data=data, channel=bus, is_extended_id=False)


def make_cand():
  channel = f"cand-test-{next(_channels)}"
  car = can.Bus(interface="virtual", channel=channel)
  stack = can.Bus(interface="virtual", channel=channel)
  set_replay_time(T0)
  cand = Cand(stack, CanSpec("virtual", channel))
  cand.safety = RecordingSafety(cand.safety)
  cand.set_car_mode(*MODE)
  return cand, car


def advance(ms: float) -> None:
  set_replay_time(mono_time() + int(ms * 1e6))


@pytest.fixture(autouse=True)
def live_clock_after():
  yield
  set_replay_time(None)


OPS = st.lists(st.one_of(
  st.tuples(st.just("cruise"), st.booleans()),
  st.tuples(st.just("brake"), st.booleans()),
  st.tuples(st.just("steer"), st.integers(-3000, 3000)),
  st.tuples(st.just("accel"), st.floats(-6.0, 4.0)),
  st.tuples(st.just("wait"), st.integers(1, 700)),
), min_size=1, max_size=80)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPS)
def test_only_allowed_frames_reach_the_wire(ops):
  cand, car = make_cand()
  cruise, brake = False, False
  for op, arg in ops:
    advance(10)
    if op == "cruise":
      cruise = arg
    elif op == "brake":
      brake = arg
    elif op == "wait":
      advance(arg)
      cand.transmit()  # no sendcan meanwhile: the heartbeat may be lost
    car.send(car_frame("PCM_CRUISE", {"CRUISE_ACTIVE": int(cruise), "GAS_RELEASED": 1}))
    car.send(car_frame("BRAKE_MODULE", {"BRAKE_PRESSED": int(brake)}))
    cand.receive(mono_time() + 1)
    if op == "steer":
      addr, data, bus = PACKER.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": arg})
      cand.forward([(addr, data, bus)])
    elif op == "accel":
      addr, data, bus = PACKER.make_can_msg("ACC_CONTROL", 0, {"ACCEL_CMD": arg})
      cand.forward([(addr, data, bus)])
  on_wire = []
  while (msg := car.recv(0)) is not None:
    on_wire.append((msg.arbitration_id, bytes(msg.data)))

  allowed = [(c[2], c[3]) for c in cand.safety.calls if c[1] == "tx" and c[5]]
  assert on_wire == allowed, "cand sent something the safety model refused, or dropped something it allowed"
  for addr, data in on_wire:
    if addr == 0x2E4:   # STEERING_LKA
      torque = int.from_bytes(data[1:3], "big", signed=True)
      assert abs(torque) <= LIMITS.STEER_MAX
    if addr == 0x343:   # ACC_CONTROL
      accel = int.from_bytes(data[0:2], "big", signed=True) * 0.001
      assert LIMITS.ACCEL_MIN - 1e-6 <= accel <= LIMITS.ACCEL_MAX + 1e-6

  # the same calls at the same instants, straight into a fresh safety model, decide the same
  replay_t = [T0]
  fresh = SafetyModel(clock=lambda: replay_t[0])
  for t, kind, a, b, c, *ok in cand.safety.calls:
    replay_t[0] = t
    if kind == "mode":
      fresh.set_safety_hooks(a, b)
    elif kind == "hb":
      fresh.heartbeat(a)
    elif kind == "tick":
      fresh.tick()
    else:
      assert (fresh.rx if kind == "rx" else fresh.tx)(a, b, c) == ok[0], f"{kind} 0x{a:X} at {t}"
  cand.bus.shutdown()
  car.shutdown()


def engage(cand, car) -> None:
  for _ in range(3):
    advance(10)
    car.send(car_frame("PCM_CRUISE", {"CRUISE_ACTIVE": 1, "GAS_RELEASED": 1}))
    cand.receive(mono_time() + 1)


def steer(cand, torque: int) -> int:
  addr, data, bus = PACKER.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": torque})
  return cand.forward([(addr, data, bus)])


def test_lost_heartbeat_stops_tx_until_engaged_again():
  cand, car = make_cand()
  steer(cand, 0)
  engage(cand, car)
  assert cand.safety.controls_allowed
  assert steer(cand, 5) == 1
  advance(HEARTBEAT_TIMEOUT_S * 1000 + 10)
  cand.transmit()
  assert cand.heartbeat_lost and cand.safety.mode == SILENT and not cand.safety.controls_allowed
  assert steer(cand, 5) == 0, "after the heartbeat returns, controls stay off until the driver engages"
  assert cand.safety.mode == MODE[0] and not cand.heartbeat_lost
  engage(cand, car)
  advance(10)
  assert steer(cand, 5) == 1
  cand.bus.shutdown()
  car.shutdown()


def is_diagnostic(address: int, data: bytes) -> bool:
  """ISO 15765-4 (diagnostics on CAN): 8-byte frames, to 0x600-0x7FF, 0x18DA__F1 (physical) or 0x18DB33F1
  (functional), or to GM's camera on 0x24B, as ISO-TP frames. Nothing a car's controls listen to."""
  if len(data) != 8:
    return False
  gm_camera = address == 0x24B and data[0] >> 4 <= 3
  return 0x600 <= address <= 0x7FF or address == 0x18DB33F1 or address & 0x1FFF00FF == 0x18DA00F1 or gm_camera


def unknown_car_cand() -> tuple[Cand, can.BusABC]:
  channel = f"cand-test-{next(_channels)}"
  car, stack = can.Bus(interface="virtual", channel=channel), can.Bus(interface="virtual", channel=channel)
  set_replay_time(T0)
  return Cand(stack, CanSpec("virtual", channel)), car


def wire(car: can.BusABC) -> list[tuple[int, bytes]]:
  out = []
  while (msg := car.recv(0)) is not None:
    out.append((msg.arbitration_id, bytes(msg.data)))
  return out


def test_only_diagnostic_frames_before_the_car_is_known():
  cand, car = unknown_car_cand()
  assert cand.safety.mode == SILENT, "nothing at all before the stack's first sendcan"
  assert steer(cand, 0) == 0 and cand.safety.mode == ELM327
  addr, data, bus = PACKER.make_can_msg("ACC_CONTROL", 0, {"ACCEL_CMD": 0.0})
  assert cand.forward([(addr, data, bus)]) == 0
  tester_present = (0x7E0, bytes([0x02, 0x3E, 0x00, 0, 0, 0, 0, 0]), 0)
  assert cand.forward([tester_present]) == 1
  assert wire(car) == [tester_present[:2]]
  advance(HEARTBEAT_TIMEOUT_S * 1000 + 10)  # the heartbeat is lost: SILENT, then diagnostics again, not more
  cand.transmit()
  assert cand.safety.mode == SILENT
  assert steer(cand, 0) == 0 and cand.forward([tester_present]) == 1 and cand.safety.mode == ELM327
  cand.set_car_mode(SILENT, 0)  # carParams of an unrecognized car: nothing at all
  assert cand.forward([tester_present]) == 0
  cand.bus.shutdown()
  car.shutdown()


DLC_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]
NOTABLE = [0x2E4, 0x343, 0x412, 0x191, 0x24B, 0x614, 0x750, 0x7DF, 0x18DA10F1, 0x18DB33F1]  # controls, diagnostics
FRAMES = st.lists(st.one_of(
  st.tuples(st.one_of(st.integers(0, 0x7FF), st.integers(0x800, 0x1FFFFFFF), st.sampled_from(NOTABLE)),
            st.sampled_from(DLC_LENGTHS).flatmap(lambda n: st.binary(min_size=n, max_size=n)), st.integers(0, 2)),
  st.builds(lambda torque: PACKER.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": torque}),
            st.integers(-1500, 1500)),
  st.builds(lambda accel: PACKER.make_can_msg("ACC_CONTROL", 0, {"ACCEL_CMD": accel}), st.floats(-3.5, 2.0)),
), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRAMES)
@example([(0x24B, bytes([0x02, 0x3E, 0, 0, 0, 0, 0, 0]), 0), (0x24B, bytes([0x40, 0, 0, 0, 0, 0, 0, 0]), 0),
          (0x24B, b"", 0), (0x7E0, bytes(8), 0), (0x7E0, bytes(7), 0), (0x18DA10F1, bytes(8), 1)])
def test_elm327_lets_out_nothing_but_diagnostic_frames(frames):
  cand, car = unknown_car_cand()
  for address, data, bus in frames:
    advance(1)
    cand.forward([(address, data, bus)])
  assert cand.safety.mode == ELM327
  sent = wire(car)
  assert sent == [(a, d) for a, d, _ in frames if is_diagnostic(a, d)]
  assert not {a for a, _ in sent} & {0x2E4, 0x343, 0x412, 0x191}, "a steering or accel frame reached the car"
  cand.bus.shutdown()
  car.shutdown()


def test_elm327_is_opendbcs():
  assert (CarParams.SafetyModel.elm327, 1) == (ELM327, ELM327_PARAM)  # pandad's mode before the car is known


def test_republished_car_params_do_not_reset_the_safety_state():
  cand, car = make_cand()
  steer(cand, 0)
  engage(cand, car)
  for torque in range(0, 300, 10):
    advance(10)
    assert steer(cand, torque) == 1
    cand.set_car_mode(*MODE)  # card republishes carParams every second; cand sees the same mode again
  assert cand.safety.controls_allowed
  cand.bus.shutdown()
  car.shutdown()
