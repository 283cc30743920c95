"""FastCANParser against opendbc's own CANParser: the same signal values from any bytes, and, frame for frame, the
same values, histories, timestamps, counter and checksum verdicts and validity — on drawn streams and on a real
2018 RAV4's CAN (comma2k19, when ../shared is present)."""
import math
from itertools import groupby

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opendbc.can import CANPacker, CANParser
from opendbc.can.dbc import DBC
from opendbc.can.parser import get_raw_value
from opendbc.car import gen_empty_fingerprint
from opendbc.car.can_definitions import CanData
from opendbc.car.carlog import carlog
from opendbc.car.toyota.interface import CarInterface

from selfdrive.car.adapter import CarAdapter
from selfdrive.car.can_parser import FastCANParser, FastMessageState
from tests.test_car_adapter import rav4_log  # noqa: F401 (a fixture)
from tools.lib.canlog import read_can_log

# little- and big-endian layouts, signed signals, CAN FD frames of 64 bytes, and the checksums of five brands
DBCS = ("toyota_nodsu_pt_generated", "toyota_adas", "honda_civic_touring_2016_can_generated",
        "hyundai_canfd_generated", "vw_mqb", "chrysler_pacifica_2017_hybrid_generated", "subaru_global_2017_generated")
TOYOTA = "toyota_nodsu_pt_generated"
# what a CarState reads, with rates (NaN: not checked for timeouts), and messages it reads later on: Toyota's frames
# carry checksums, Honda's checksums and counters
READS = {
  TOYOTA: ((("STEER_ANGLE_SENSOR", 80), ("WHEEL_SPEEDS", 80), ("PCM_CRUISE", 33), ("EPS_STATUS", 25),
            ("BODY_CONTROL_STATE", 3), ("BLINKERS_STATE", math.nan), ("GEAR_PACKET", 1)),
           ("LIGHT_STALK", "BSM", "ESP_CONTROL")),
  "honda_civic_touring_2016_can_generated": ((("STEERING_SENSORS", 100), ("POWERTRAIN_DATA", 100),
                                              ("VSA_STATUS", 50), ("SCM_BUTTONS", 25), ("DOORS_STATUS", 3),
                                              ("SEATBELT_STATUS", math.nan), ("WHEEL_SPEEDS", 50)),
                                             ("CAR_SPEED", "STANDSTILL", "CRUISE")),
}


def signed_raw(dat: bytes, sig) -> int:
  raw = get_raw_value(dat, sig)
  return raw - (1 << sig.size) if sig.is_signed and raw >> (sig.size - 1) & 1 else raw


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(DBCS), st.data())
def test_signals_decode_as_opendbc_reads_them(dbc_name, data):
  """Any bytes, of any length (short frames included, where opendbc reads a part), give opendbc's raw values."""
  msg = data.draw(st.sampled_from(sorted(DBC(dbc_name).msgs.values(), key=lambda m: m.address)))
  dat = data.draw(st.binary(min_size=0, max_size=max(msg.size, 8) + 2))
  state = FastMessageState(msg.address, msg.name, msg.size, list(msg.sigs.values()))
  assert state.raw_values(dat) == [signed_raw(dat, s) for s in msg.sigs.values()]


def same_state(a: CANParser, b: CANParser) -> None:
  assert dict(a.vl) == dict(b.vl)
  assert a.vl_all == b.vl_all and a.ts_nanos == b.ts_nanos
  assert (a.can_valid, a.bus_timeout, a.can_invalid_cnt) == (b.can_valid, b.bus_timeout, b.can_invalid_cnt)
  for address, s in a.message_states.items():
    f = b.message_states[address]
    assert (s.counter, s.counter_fail, list(s.timestamps), s.frequency, s.timeout_threshold) == \
      (f.counter, f.counter_fail, list(f.timestamps), f.frequency, f.timeout_threshold)


def packed_frame(packer: CANPacker, dbc: DBC, name: str, draw) -> bytes:
  """A frame as the car sends it (its counter and checksum right), then maybe damaged or cut short."""
  msg = dbc.name_to_msg[name]
  values = {s.name: draw(st.integers(0, (1 << min(s.size, 16)) - 1)) * s.factor + s.offset
            for s in msg.sigs.values() if s.calc_checksum is None and s.type != 1}
  dat = bytes(packer.pack(msg.address, values))
  damage = draw(st.sampled_from(["none", "none", "none", "flip", "short", "counter"]))
  if damage == "flip":
    i = draw(st.integers(0, len(dat) - 1))
    dat = dat[:i] + bytes([dat[i] ^ draw(st.integers(1, 255))]) + dat[i + 1:]
  elif damage == "short":
    dat = dat[:draw(st.integers(0, len(dat) - 1))]
  elif damage == "counter":
    packer.counters[msg.address] = draw(st.integers(0, 15))   # a skipped or repeated counter
  return dat


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(READS)), st.data())
def test_parser_matches_opendbc_frame_for_frame(dbc_name, data):
  """Cycles of frames — good, damaged, cut short, on the wrong bus, late, with skipped counters, and reads of
  messages not yet subscribed — leave both parsers in the same state after every update."""
  carlog.setLevel("CRITICAL")
  dbc, packer = DBC(dbc_name), CANPacker(dbc_name)
  reads, later = READS[dbc_name]
  ref = CANParser(dbc_name, list(reads), 0)
  fast = FastCANParser.like(ref)
  late_read = data.draw(st.sampled_from(later))
  t = 0
  for cycle in range(data.draw(st.integers(1, 40))):
    t += data.draw(st.sampled_from([10_000_000, 10_000_000, 10_000_000, 600_000_000, 0]))
    frames = []
    for name in data.draw(st.lists(st.sampled_from([n for n, _ in reads] + [late_read]), max_size=8)):
      frames.append(CanData(dbc.name_to_msg[name].address, packed_frame(packer, dbc, name, data.draw),
                            data.draw(st.sampled_from([0, 0, 0, 2]))))
    batch = [(t, frames)] if data.draw(st.booleans()) else [(t, frames[:2]), (t + 5_000_000, frames[2:])]
    assert ref.update(batch) == fast.update(batch)
    if cycle == 3:   # CarState reading a message first subscribes the parser to it
      assert ref.vl[late_read] == fast.vl[late_read]
    same_state(ref, fast)


def test_like_keeps_the_subscriptions_and_their_rates():
  ref = CANParser(TOYOTA, list(READS[TOYOTA][0]), 0)
  fast = FastCANParser.like(ref)
  assert (fast.dbc_name, fast.bus, list(fast.message_states)) == (ref.dbc_name, ref.bus, list(ref.message_states))
  for address, s in ref.message_states.items():
    f = fast.message_states[address]
    assert isinstance(f, FastMessageState)
    assert (f.ignore_alive, f.frequency, f.timeout_threshold) == (s.ignore_alive, s.frequency, s.timeout_threshold)


def test_the_adapter_reads_with_fast_parsers_that_opendbc_subscribed():
  adapter = CarAdapter("TOYOTA_RAV4_TSS2", source="fixed")
  parsers = adapter._parsers()
  assert parsers and all(isinstance(cp, FastCANParser) for cp in parsers)
  assert {s.name for cp in parsers for s in cp.message_states.values()} >= {"WHEEL_SPEEDS", "STEER_TORQUE_SENSOR"}


def test_a_real_rav4_drive_parses_as_opendbc_parses_it(rav4_log):  # noqa: F811 (the fixture)
  """Every 10 ms cycle of a minute of a real car's CAN, through the parsers a RAV4's CarState subscribes."""
  _, path = rav4_log
  ci = CarInterface(CarInterface.get_params("TOYOTA_RAV4", gen_empty_fingerprint(), [], False, False, False))
  ci.update([(0, [])])   # CarState's first read subscribes the parsers to what it reads
  pairs = [(cp, FastCANParser.like(cp)) for cp in ci.can_parsers.values()]
  assert sum(len(ref.message_states) for ref, _ in pairs) > 10
  cycles = 0
  with_values = set()
  for _, group in groupby(read_can_log(path), key=lambda tf: tf[0] // 10_000_000):
    group = list(group)
    batch = [(group[-1][0], [CanData(f.address, f.data, f.bus) for _, f in group])]
    for ref, fast in pairs:
      updated = ref.update(batch)
      assert updated == fast.update(batch)
      with_values |= updated
      assert ref.vl_all == fast.vl_all and ref.can_valid == fast.can_valid
      if cycles % 50 == 0:
        same_state(ref, fast)
    cycles += 1
  assert cycles > 5000 and len(with_values) > 10
