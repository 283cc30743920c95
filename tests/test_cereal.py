"""The schema is a contract: every service is declared, and field numbers are never reused or renumbered."""
import json
from pathlib import Path

from cereal import log
from cereal.services import RETIRED, SERVICES

SNAPSHOT = Path(__file__).with_name("cereal_schema_snapshot.json")


def _fields(schema, prefix: str, out: dict[str, dict[str, int]], seen: set) -> None:
  if schema.node.id in seen:
    return
  seen.add(schema.node.id)
  out[prefix] = {f.name: f.ordinal.explicit for f in schema.node.struct.fields if f.ordinal.which() == "explicit"}
  for name, field in schema.fields.items():
    if field.proto.which() == "slot" and field.proto.slot.type.which() == "struct":
      _fields(field.schema, f"{prefix}.{name}", out, seen)
    elif (field.proto.which() == "slot" and field.proto.slot.type.which() == "list"
          and field.proto.slot.type.list.elementType.which() == "struct"):
      _fields(field.schema.elementType, f"{prefix}.{name}[]", out, seen)


def schema_fields() -> dict[str, dict[str, int]]:
  out: dict[str, dict[str, int]] = {}
  _fields(log.Event.schema, "Event", out, set())
  return out


def test_every_union_member_is_a_service():
  assert set(log.Event.schema.union_fields) - set(RETIRED) == set(SERVICES)


def test_a_retired_member_is_marked_and_names_its_successor():
  """Its number is held by test_field_numbers_are_never_reused."""
  for retired, today in RETIRED.items():
    assert retired.endswith("DEPRECATED") and retired in log.Event.schema.union_fields, retired
    assert today in SERVICES, f"{retired} became {today!r}, which is no service"


def test_services_are_sane():
  for name, s in SERVICES.items():
    assert s.frequency >= 0 and s.queue_size >= 1, name
    assert s.qlog_decimation >= 0, name


def test_field_numbers_are_never_reused():
  """Compare with the committed snapshot: fields may be added, never renumbered or renamed onto an old number. A
  retired field keeps its number under its name with a DEPRECATED suffix (its old name may then go to a new field).

  After adding fields on purpose, refresh the snapshot: python -m tests.test_cereal
  """
  old = json.loads(SNAPSHOT.read_text())
  new = schema_fields()
  for struct, fields in old.items():
    if struct not in new:
      continue  # a struct reachable by a path no longer used is fine; its fields live on in the file
    for name, ordinal in fields.items():
      assert ordinal in (new[struct].get(name), new[struct].get(f"{name}DEPRECATED")), \
        f"{struct}.{name} was @{ordinal}; field numbers are forever"
    by_ordinal = {o: n for n, o in new[struct].items()}
    for name, ordinal in fields.items():
      assert by_ordinal[ordinal] in (name, f"{name}DEPRECATED"), f"{struct}: @{ordinal} reused"


if __name__ == "__main__":
  merged = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
  for struct, fields in schema_fields().items():
    merged.setdefault(struct, {}).update(fields)
  SNAPSHOT.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
  print(f"wrote {SNAPSHOT}")
