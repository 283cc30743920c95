"""Logs recorded before carState, carControl and carOutput became opendbc's structs read as today's, every field
carried over by name (tools/lib/migration.py)."""
import math
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import log
from cereal.messaging import log_from_bytes
from cereal.services import RETIRED
from selfdrive.loggerd.logwriter import LogWriter
from tools.lib.logreader import LogReader, LogWarning

FLOATS = st.floats(width=32, allow_nan=True, allow_infinity=False)


def _fill(builder, data) -> None:
  """Draw a value for every field of a struct builder (nested structs and lists of them too)."""
  for name, field in builder.schema.fields.items():
    kind = field.proto.slot.type.which()
    if kind == "bool":
      setattr(builder, name, data.draw(st.booleans()))
    elif kind == "float32":
      setattr(builder, name, data.draw(FLOATS))
    elif kind == "int8":
      setattr(builder, name, data.draw(st.integers(-128, 127)))
    elif kind == "enum":
      setattr(builder, name, data.draw(st.sampled_from(sorted(field.schema.enumerants))))
    elif kind == "struct":
      _fill(getattr(builder, name), data)
    elif kind == "list":
      items = builder.init(name, data.draw(st.integers(0, 3)))
      for item in items:
        _fill(item, data)
    else:
      raise AssertionError(f"{name}: a {kind} field; teach this test to draw one")


def _same(old, new, path: str) -> None:
  """Every field of the retired struct reads the same, by name, in today's."""
  for name, field in old.schema.fields.items():
    a, b, kind = getattr(old, name), getattr(new, name), field.proto.slot.type.which()
    if kind == "struct":
      _same(a, b, f"{path}.{name}")
    elif kind == "list":
      assert len(a) == len(b), f"{path}.{name}"
      for i, (x, y) in enumerate(zip(a, b, strict=True)):
        _same(x, y, f"{path}.{name}[{i}]")
    elif kind == "enum":
      assert str(a) == str(b), f"{path}.{name}: {a} -> {b}"
    elif kind == "float32" and math.isnan(a):
      assert math.isnan(b), f"{path}.{name}"
    else:
      assert a == b, f"{path}.{name}: {a} -> {b}"


def test_every_retired_field_has_a_namesake_today():
  """Field names and enumerants: a retired struct's all live on in today's, else old logs would lose them."""
  def check(old, new, path):
    for name, field in old.fields.items():
      assert name in new.fields, f"{path}.{name} has no namesake in opendbc's struct"
      kind = field.proto.slot.type.which()
      if kind == "struct":
        check(field.schema, new.fields[name].schema, f"{path}.{name}")
      elif kind == "list":
        check(field.schema.elementType, new.fields[name].schema.elementType, f"{path}.{name}[]")
      elif kind == "enum":
        missing = set(field.schema.enumerants) - set(new.fields[name].schema.enumerants)
        assert not missing, f"{path}.{name}: {sorted(missing)} are not opendbc's"
  for retired, today in RETIRED.items():
    check(log.Event.schema.fields[retired].schema, log.Event.schema.fields[today].schema, retired)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(RETIRED)), st.integers(0, 2**63), st.booleans(), st.data())
def test_an_old_log_reads_as_today_s(tmp_path_factory, retired, t, valid, data):
  old = log.Event.new_message(logMonoTime=t, valid=valid)
  _fill(old.init(retired), data)
  other = log.Event.new_message(logMonoTime=t + 1)
  other.init("radarState").leadOne.dRel = 12.5
  path = tmp_path_factory.mktemp("old") / "rlog.zst"
  w = LogWriter(path)
  w.write(old.to_bytes())
  w.write(other.to_bytes())
  w.close()

  msgs = list(LogReader(path).messages())
  assert [m.which for m in msgs] == [RETIRED[retired], "radarState"]
  new = msgs[0]
  assert (new.logMonoTime, new.event.valid, new.event.which()) == (t, valid, RETIRED[retired])
  republished = log_from_bytes(new.data)   # what replay republishes is the upgraded message too
  assert republished.which() == RETIRED[retired]
  for ev in (new.event, republished):
    _same(getattr(old.as_reader(), retired), getattr(ev, RETIRED[retired]), retired)
  assert msgs[1].event.radarState.leadOne.dRel == 12.5


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(RETIRED)), st.data())
def test_a_damaged_old_message_is_reported_not_raised(tmp_path_factory, retired, data):
  """A bit flipped in an old log (plain, no checksum to vouch for it): the reader warns and reads on, as for any
  message; what it hands on is today's service, never the retired one."""
  old = log.Event.new_message(logMonoTime=1)
  _fill(old.init(retired), data)
  raw = bytearray(old.to_bytes() * 2)
  i = data.draw(st.integers(0, len(raw) - 1))
  raw[i] ^= 1 << data.draw(st.integers(0, 7))
  path = tmp_path_factory.mktemp("damaged") / "rlog"
  path.write_bytes(bytes(raw))
  reader = LogReader(path)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", LogWarning)
    msgs = list(reader.messages())
  assert len(msgs) <= 2 and all(m.which not in RETIRED for m in msgs)
