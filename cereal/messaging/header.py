"""An Event's header — logMonoTime, valid and which service — read straight off its serialized capnp bytes.

Taking a message in needs only these; a whole pycapnp parse costs a few microseconds warm but ~40 us on a busy
2-core machine, where every subscriber's work after waking delays the others. So SubMaster and PubMaster read
the header here and leave the body to pycapnp until someone reads it. This reads capnp's wire format (segment
table, root struct pointer, data section) for the layout pycapnp writes: the root struct right behind its
pointer in the first segment. Anything else is left to pycapnp, which is always right.
"""
import struct
from typing import NamedTuple

from cereal import log
from cereal.messaging.sockets import log_from_bytes

_SCHEMA = log.Event.schema
_TIME, _VALID = _SCHEMA.fields["logMonoTime"].proto.slot, _SCHEMA.fields["valid"].proto.slot
# capnp never moves a field once it has its number: these hold for as long as the schema is compatible
assert (_TIME.offset * 64, _VALID.offset, _SCHEMA.node.struct.discriminantOffset * 16) == (0, 64, 80), \
  "Event's header fields moved: _ROOT below no longer reads them"
_VALID_DEFAULT = _VALID.defaultValue.bool   # capnp stores a bool XOR its default
_ROOT = struct.Struct("<QQBxH")             # root pointer; data section: logMonoTime, valid's byte, the union tag
_ONE_SEGMENT = struct.Struct("<IIQQBxH")    # segment count - 1, first segment's words, _ROOT: one unpack
_MAX_SEGMENTS = 512
WHICH = {f.proto.discriminantValue: name for name, f in _SCHEMA.fields.items()
         if f.proto.discriminantValue != 0xFFFF}  # 0xFFFF: not a union member


class Header(NamedTuple):
  logMonoTime: int
  valid: bool
  which: str


def _peek(data: bytes) -> Header | None:
  """The header by the wire format alone, or None where the bytes are not laid out as pycapnp writes them.

  Every subscriber runs this on every message it takes in, on a machine where a wake-up's cache is cold: the
  common one-segment message costs one unpack."""
  if len(data) < _ONE_SEGMENT.size:
    return None
  more_segments, seg0_words, root, t, valid_byte, tag = _ONE_SEGMENT.unpack_from(data)
  if more_segments == 0:
    table = 8
  elif more_segments < _MAX_SEGMENTS:
    table = (4 + 4 * (more_segments + 1) + 7) & ~7
    if len(data) < table + _ROOT.size:
      return None
    root, t, valid_byte, tag = _ROOT.unpack_from(data, table)
  else:
    return None
  data_words, pointer_words = (root >> 32) & 0xFFFF, root >> 48
  # low 32 bits zero: a struct pointer whose struct starts right behind it, holding at least our two data words
  if (root & 0xFFFFFFFF or data_words < 2 or 1 + data_words + pointer_words > seg0_words
      or len(data) < table + 8 * seg0_words or tag not in WHICH):
    return None
  return Header(t, _VALID_DEFAULT ^ bool(valid_byte & 1), WHICH[tag])


def read_header(data: bytes) -> Header:
  """The header of a serialized Event. Bytes that are not even a capnp frame raise as pycapnp's parse does; a
  damaged body behind a sound header raises when the body is read (SubMaster parses it then)."""
  header = _peek(data)
  if header is None:
    event = log_from_bytes(data)
    header = Header(event.logMonoTime, event.valid, event.which())
  return header

