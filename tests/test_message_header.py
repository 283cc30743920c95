"""The header read off an Event's bytes (cereal/messaging/header.py) always agrees with pycapnp's own parse, and
SubMaster's deferred parse gives what an eager parse would."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import log, messaging
from cereal.messaging.header import WHICH, _peek, read_header
from cereal.messaging.sockets import LIST_SERVICES, log_from_bytes

SERVICES = sorted(WHICH.values())


def _event(service: str, t: int, valid: bool, size: int):
  """Any union member, retired ones too (old logs hold them)."""
  msg = log.Event.new_message(logMonoTime=t, valid=valid)
  if service in LIST_SERVICES:
    msg.init(service, size)
  else:
    msg.init(service)
  return msg


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SERVICES), st.integers(0, 2**64 - 1), st.booleans(), st.integers(0, 3000))
def test_header_matches_pycapnp(service, t, valid, size):
  data = _event(service, t, valid, size).to_bytes()  # big lists spill into more segments
  assert _peek(data) is not None, "pycapnp's own layout must take the fast path"
  event = log_from_bytes(data)
  assert read_header(data) == (event.logMonoTime, event.valid, event.which()) == (t, valid, service)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SERVICES), st.integers(0, 2**64 - 1), st.booleans(), st.data())
def test_damaged_bytes_read_as_pycapnp_reads_them(service, t, valid, data):
  """Truncated or bit-flipped bytes: the header is pycapnp's, or pycapnp would fail too, never a different answer."""
  raw = bytearray(_event(service, t, valid, 4).to_bytes())
  if data.draw(st.booleans()):
    raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
  else:
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << data.draw(st.integers(0, 7))
  raw = bytes(raw)
  try:
    event = log_from_bytes(raw)
    expected = (event.logMonoTime, event.valid, event.which())
  except Exception:  # pycapnp refuses it (a KjException) or cannot name the union member
    expected = None
  peeked = _peek(raw)
  if peeked is not None:
    assert expected is None or tuple(peeked) == expected
  if expected is not None:
    assert tuple(read_header(raw)) == expected


def test_far_root_pointer_goes_to_pycapnp():
  data = bytearray(_event("carState", 5, True, 0).to_bytes())
  data[8] |= 2  # the root pointer's type bits: a far pointer
  assert _peek(bytes(data)) is None


def test_submaster_parses_a_body_only_when_read():
  sm = messaging.SubMaster(["carState", "modelV2"])
  cs = _event("carState", 1_000, False, 0)
  cs.carState.vEgo = 12.5
  sm.update_msgs(2_000, [cs.to_bytes()])
  assert sm.updated["carState"] and not sm.updated["modelV2"]
  assert (sm.logMonoTime["carState"], sm.valid["carState"], sm.recv_time["carState"]) == (1_000, False, 2_000)
  assert "carState" in sm._unparsed
  assert sm["carState"].vEgo == 12.5 and "carState" not in sm._unparsed
  cs = _event("carState", 2_500, True, 0)
  cs.carState.vEgo = 20.0
  sm.update_msgs(3_000, [cs.to_bytes()])
  sm.update_msgs(4_000, [])  # nothing new: the last message stays, parsed once
  assert not sm.updated["carState"] and sm["carState"].vEgo == 20.0
  assert sm["modelV2"].frameId == 0  # never received: the default message


def test_messages_never_looked_at_are_still_taken_in():
  """update() leaves taking its messages in to the first look; an update before any look takes them in first."""
  sm = messaging.SubMaster(["carState"])
  sm.update_msgs(2_000, [_event("carState", 1_000, True, 0).to_bytes()])
  sm.update_msgs(3_000, [])
  assert sm.frame == 1 and sm.seen["carState"] and not sm.updated["carState"]
  assert (sm.logMonoTime["carState"], sm.recv_time["carState"], sm.recv_frame["carState"]) == (1_000, 2_000, 0)


def test_publisher_refuses_a_message_of_another_service():
  pm = messaging.PubMaster(["carState"])
  try:
    with pytest.raises(ValueError, match="carControl"):
      pm.send("carState", messaging.new_message("carControl").to_bytes())
    with pytest.raises(ValueError, match="carControl"):
      pm.send("carState", messaging.new_message("carControl"))
    with pytest.raises(ValueError, match="not 'carControl'"):
      pm.send("carControl", messaging.new_message("carControl"))
  finally:
    pm.close()


def test_header_layout_is_the_schemas():
  assert set(WHICH.values()) == set(log.Event.schema.union_fields)


def test_a_body_that_fails_to_parse_fails_every_read():
  """A damaged body behind an intact header: every read raises, none shows the previous message's body."""
  import struct
  sm = messaging.SubMaster(["carState"])
  cs = _event("carState", 1_000, True, 0)
  cs.carState.vEgo = 1.0
  sm.update_msgs(2_000, [cs.to_bytes()])
  assert sm["carState"].vEgo == 1.0
  data = bytearray(_event("carState", 3_000, True, 0).to_bytes())
  lo, data_words, ptr_words = struct.unpack_from("<IHH", data, 8)   # the root struct pointer, after the segment table
  start = 16 + 8 * (lo >> 2) + 8 * data_words
  for i in range(ptr_words):   # every pointer of the Event out of its segment: the header is untouched
    struct.pack_into("<II", data, start + 8 * i, 0x7FFFFFF0, 0x00010001)
  assert read_header(bytes(data)).which == "carState"
  sm.update_msgs(4_000, [bytes(data)])
  assert sm.logMonoTime["carState"] == 3_000
  for _ in range(2):
    with pytest.raises(Exception):  # noqa: B017  (pycapnp raises its KjException)
      _ = sm["carState"].vEgo
