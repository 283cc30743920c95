"""Outputs of a process replay against its reference: field by field, within tolerances, as a readable diff.

Messages are paired per service in order (the n-th carState with the n-th carState). Identical bytes are equal
without a look inside; otherwise every field is compared, numbers within the tolerance given for their field
("carState.vEgo": 0.01; list indices left out of the name) and packed float32 arrays element by element within
theirs, everything else exactly.
"""
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tools.lib.logreader import LogMessage

MAX_LINES_PER_SERVICE = 12


@dataclass(frozen=True)
class Diff:
  service: str
  frame: int            # the message's number among its service's
  t_s: float            # seconds into the drive
  field: str            # "carState.wheelSpeeds.fl", "sendcan[2].dat"; "(count)" when the numbers differ
  ref: object
  new: object


def _leaves(value, path: str) -> Iterator[tuple[str, object]]:
  """(path, value) of every leaf of a to_dict() tree."""
  if isinstance(value, dict):
    for k, v in value.items():
      yield from _leaves(v, f"{path}.{k}")
  elif isinstance(value, list):
    for i, v in enumerate(value):
      yield from _leaves(v, f"{path}[{i}]")
  else:
    yield path, value


def _key(path: str) -> str:
  """The tolerance key of a field: its path without list indices."""
  out, depth = [], 0
  for ch in path:
    depth += ch == "["
    if not depth:
      out.append(ch)
    depth -= ch == "]"
  return "".join(out)


def _fields(m: LogMessage) -> dict[str, object]:
  d = m.event.to_dict()
  return {"logMonoTime": d.get("logMonoTime"), "valid": d.get("valid", True),
          **dict(_leaves(d.get(m.which), m.which))}


def _close(a: object, b: object, tol: float) -> bool:
  if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
    return a == b or abs(a - b) <= tol
  if isinstance(a, bytes) and isinstance(b, bytes) and tol > 0 and len(a) == len(b) and len(a) % 4 == 0:
    # a packed float32 array (cereal.arrays), element by element
    return a == b or bool(np.all(np.abs(np.frombuffer(a, "<f4") - np.frombuffer(b, "<f4")) <= tol))
  return a == b


def compare(ref: Sequence[LogMessage], new: Sequence[LogMessage], tolerance: dict[str, float], t0_ns: int,
            ignore: frozenset[str] = frozenset()) -> list[Diff]:
  """Every difference; fields named in `ignore` (paths without list indices) are not compared."""
  by_ref: dict[str, list[LogMessage]] = defaultdict(list)
  by_new: dict[str, list[LogMessage]] = defaultdict(list)
  for m in ref:
    by_ref[m.which].append(m)
  for m in new:
    by_new[m.which].append(m)
  diffs = []
  for service in sorted(by_ref.keys() | by_new.keys()):
    r, n = by_ref[service], by_new[service]
    if len(r) != len(n):
      diffs.append(Diff(service, min(len(r), len(n)), 0.0, "(count)", len(r), len(n)))
    for i, (a, b) in enumerate(zip(r, n, strict=False)):
      if a.data == b.data:
        continue
      fa, fb = _fields(a), _fields(b)
      t_s = (a.logMonoTime - t0_ns) * 1e-9
      for path in sorted(fa.keys() | fb.keys()):
        key = _key(path)
        if key in ignore:
          continue
        va, vb = fa.get(path), fb.get(path)
        if not _close(va, vb, tolerance.get(key, 0.0)):
          diffs.append(Diff(service, i, t_s, path, va, vb))
  return diffs


def _show(v: object) -> str:
  if isinstance(v, bytes):
    return v.hex()
  if isinstance(v, float):
    return f"{v:.6g}"
  return str(v)


def format_diffs(name: str, diffs: Sequence[Diff], ref_count: int) -> str:
  """A table: service, field, frame, time, ref and new value; at most MAX_LINES_PER_SERVICE lines a service."""
  if not diffs:
    return f"{name}: {ref_count} messages match the reference"
  lines = [f"{name}: {len(diffs)} differences from the reference", f"  {'service':<16} {'field':<40} {'frame':>6} "
           f"{'t (s)':>8}  {'ref':<20} new"]
  shown: dict[str, int] = defaultdict(int)
  for d in diffs:
    shown[d.service] += 1
    if shown[d.service] <= MAX_LINES_PER_SERVICE:
      lines.append(f"  {d.service:<16} {d.field:<40} {d.frame:>6} {d.t_s:>8.2f}  {_show(d.ref):<20} {_show(d.new)}")
  for service, n in shown.items():
    if n > MAX_LINES_PER_SERVICE:
      lines.append(f"  ... and {n - MAX_LINES_PER_SERVICE} more in {service}")
  return "\n".join(lines)
