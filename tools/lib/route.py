"""Routes on disk: a drive's segments, their log and video files, and the names users give them.

A route is named by `[DIR/]ROUTE[--SEG | /SEGS][/q | /r]`, as in openpilot: `000000a3--2026-11-22--05-12-33`
(every segment, in the routes directory), `.../000000a3--2026-11-22--05-12-33/2:4` (segments 2 and 3),
`000000a3--2026-11-22--05-12-33--2` (segment 2), with `/q` for the small qlogs. DIR defaults to $LP_ROUTES_DIR.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from selfdrive.common.errors import UserError
from selfdrive.loggerd.config import QLOG, RLOG, VIDEO, SegmentName, is_route_name, parse_segment_dir, routes_dir

_SPEC = re.compile(r"^(?:(?P<dir>.*)/)?(?P<route>[0-9a-f]{8}--\d{4}-\d\d-\d\d--\d\d-\d\d-\d\d)(?:--(?P<seg>\d+))?"
                   r"(?:/(?P<sel>\d+|\d*:\d*))?(?:/(?P<kind>[qr]))?/?$")
ROUTE_EXAMPLE = "000000a3--2026-11-22--05-12-33"


@dataclass(frozen=True)
class Segment:
  name: SegmentName
  path: Path

  @property
  def num(self) -> int:
    return self.name.num

  @property
  def rlog(self) -> Path:
    return self.path / RLOG

  @property
  def qlog(self) -> Path:
    return self.path / QLOG

  @property
  def video(self) -> Path:
    return self.path / VIDEO

  def log(self, qlog: bool) -> Path:
    return self.qlog if qlog else self.rlog


class Route:
  """One drive's segments in a routes directory, in order (a deleted or missing segment is simply absent)."""

  def __init__(self, name: str, root: Path | None = None):
    if not is_route_name(name):
      raise UserError(f"{name!r} is not a route name like {ROUTE_EXAMPLE}")
    self.name, self.root = name, root if root is not None else routes_dir()
    found = [(s, p) for p in self.root.glob(f"{name}--*") if (s := parse_segment_dir(p.name)) is not None]
    self.segments = [Segment(s, p) for s, p in sorted(found) if s.route == name and p.is_dir()]
    if not self.segments:
      raise UserError(f"route {name} not found in {self.root} (`localpilot replay --list` shows the routes there)")

  def __repr__(self) -> str:
    return f"Route({self.name!r}, {len(self.segments)} segments in {self.root})"


def list_routes(root: Path | None = None) -> list[str]:
  """The route names in a routes directory, oldest first."""
  root = root if root is not None else routes_dir()
  names = {s.route for p in root.iterdir() if (s := parse_segment_dir(p.name)) is not None} if root.exists() else set()
  return sorted(names)


@dataclass(frozen=True)
class Selection:
  """What a route spec names: segments, and whether their qlogs (None: as the caller prefers)."""
  segments: list[Segment]
  qlog: bool | None


def resolve(spec: str | Path) -> Selection:
  """A route spec, a segment directory or a route's name → its segments. UserError says what was not found."""
  path = Path(spec)
  if path.is_dir() and (seg := parse_segment_dir(path.name)) is not None:
    return Selection([Segment(seg, path)], None)
  m = _SPEC.match(str(spec))
  if m is None:
    raise UserError(f"{spec}: neither a log file, a segment directory nor a route (e.g. {ROUTE_EXAMPLE}, "
                    f"{ROUTE_EXAMPLE}/2:4/q)")
  route = Route(m["route"], Path(m["dir"]) if m["dir"] else None)
  segments = route.segments
  if m["seg"] is not None or m["sel"] is not None:
    if m["seg"] is not None:
      lo, hi = int(m["seg"]), int(m["seg"]) + 1
    elif ":" in m["sel"]:
      a, b = m["sel"].split(":")
      lo, hi = int(a or 0), int(b) if b else None
    else:
      lo, hi = int(m["sel"]), int(m["sel"]) + 1
    segments = [s for s in segments if s.num >= lo and (hi is None or s.num < hi)]
    if not segments:
      have = ", ".join(str(s.num) for s in route.segments)
      raise UserError(f"{spec}: route {route.name} has no such segments (it has {have})")
  return Selection(segments, None if m["kind"] is None else m["kind"] == "q")
