"""FastCANPacker against opendbc's own CANPacker: the same bytes and the same counters, call after call, for any
values (out of range, negative, fractional) of any signals of the messages of seven brands' DBCs; and a car's
controller packs with it."""
import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opendbc.can import CANPacker
from opendbc.can.dbc import DBC, Msg

from selfdrive.car.adapter import CarAdapter
from selfdrive.car.can_packer import FastCANPacker, layout
from selfdrive.car.can_parser import SignalDecoder
from tests.test_can_parser import DBCS


def values_of(msg: Msg, draw) -> dict[str, float]:
  """Some of the message's signals in any order (a counter among them sometimes), with values inside and outside
  their range; now and then a name the message lacks."""
  names = draw(st.lists(st.sampled_from(sorted(msg.sigs)), unique=True, max_size=len(msg.sigs))) if msg.sigs else []
  if draw(st.integers(0, 19)) == 0:
    names.append("NOT_A_SIGNAL")
  values = {}
  for name in names:
    sig = msg.sigs.get(name)
    span, mid = (abs((1 << min(sig.size, 20)) * sig.factor), sig.offset) if sig else (1.0, 0.0)
    values[name] = draw(st.one_of(st.floats(mid - 2 * span, mid + 2 * span), st.integers(-3, 3), st.booleans()))
  return values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(DBCS), st.data())
def test_frames_pack_as_opendbc_packs_them(dbc_name, data):
  ref, fast = CANPacker(dbc_name), FastCANPacker(dbc_name)
  msgs = sorted(DBC(dbc_name).msgs.values(), key=lambda m: m.address)
  sites = [data.draw(st.sampled_from(msgs)) for _ in range(data.draw(st.integers(1, 6)))]
  for _ in range(data.draw(st.integers(1, 4))):   # each call site packs again, counting on
    for msg in sites:
      values = values_of(msg, data.draw)
      assert fast.pack(msg.address, values) == ref.pack(msg.address, values), (msg.name, values)
      assert fast.counters == ref.counters
  assert fast.make_can_msg(0x7FFFFFFF, 0, {}) == ref.make_can_msg(0x7FFFFFFF, 0, {})   # an unknown message


def test_most_messages_of_a_toyota_are_compiled():
  """The fast path is taken: a message opendbc's pack would have to write is the exception."""
  msgs = DBC("toyota_nodsu_pt_generated").msgs.values()
  compiled = [m for m in msgs if layout(m, tuple(m.sigs)) is not None]
  assert len(compiled) > 0.9 * len(msgs)


def test_what_an_or_cannot_write_goes_to_opendbc():
  """A signal past the frame's end (opendbc writes the part that fits), two sharing bits (the later one wins)."""
  msg = DBC("toyota_nodsu_pt_generated").name_to_msg["STEERING_LKA"]
  past = tuple(n for n, s in msg.sigs.items() if SignalDecoder(s).min_len > 2)
  assert past and layout(msg, past) is not None
  assert layout(Msg(msg.name, msg.address, 2, msg.sigs), past) is None
  sig = msg.sigs["STEER_TORQUE_CMD"]
  twin = dataclasses.replace(sig, name="TWIN")
  assert layout(Msg(msg.name, msg.address, msg.size, {**msg.sigs, "TWIN": twin}), ("STEER_TORQUE_CMD", "TWIN")) is None


def test_the_adapter_s_car_controller_packs_with_the_fast_packer():
  adapter = CarAdapter("TOYOTA_RAV4_TSS2", source="fixed")
  assert isinstance(adapter._ci.CC.packer, FastCANPacker)
