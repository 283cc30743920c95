"""Where and how drives are recorded: the routes directory, segment and file names, and their timing.

A route is one drive, named `<counter>--<YYYY-MM-DD--HH-MM-SS>`: the 8-hex-digit counter goes up with every route
recorded in a directory, so names sort by recording order even when the wall clock is wrong. Its segments are
directories `<route>--<n>` beside each other (as openpilot lays them out), each holding `rlog.zst` (every logged
message), `qlog.zst` (a decimated copy, cheap to skim) and `fcamera.avi` (the road camera).
"""
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

ROUTES_DIR_ENV = "LP_ROUTES_DIR"
DEFAULT_ROUTES_DIR = "~/.localpilot/routes"
SEGMENT_S_ENV = "LP_SEGMENT_S"     # tests record short segments
SEGMENT_S = 60.0
FLUSH_S = 0.5                      # logs reach the disk at least this often: a power cut loses under a second
LOOP_S = 0.02                      # loggerd drains its sockets at 50 Hz: one wake-up per batch, not per message
ZSTD_LEVEL = 3

RLOG, QLOG, VIDEO = "rlog.zst", "qlog.zst", "fcamera.avi"
# Motion JPEG in AVI, by OpenCV's own writer: every player plays it, and it reaches the disk frame by frame, so a
# power cut loses the last frame or two (OpenCV's FFmpeg writers hold back 256 kB: seconds of MPEG-4, and a cut .mp4
# does not play at all). About 20 kB a frame at 512x256.
VIDEO_FOURCC = "MJPG"
VIDEO_FPS = 20.0

# disk housekeeping: oldest routes go first while free space is under MIN_FREE_PERCENT or the routes take more
# than $LP_ROUTES_MAX_MB; never the route being recorded
MIN_FREE_PERCENT = 10.0
MAX_MB_ENV = "LP_ROUTES_MAX_MB"

# services loggerd writes itself instead of subscribing to them
WRITTEN_BY_LOGGERD = frozenset({"initData", "roadEncodeIdx"})

_ROUTE = re.compile(r"^([0-9a-f]{8})--(\d{4}-\d\d-\d\d--\d\d-\d\d-\d\d)$")
_SEGMENT = re.compile(r"^([0-9a-f]{8}--\d{4}-\d\d-\d\d--\d\d-\d\d-\d\d)--(\d+)$")


def routes_dir() -> Path:
  return Path(os.environ.get(ROUTES_DIR_ENV) or DEFAULT_ROUTES_DIR).expanduser()


def segment_seconds() -> float:
  value = os.environ.get(SEGMENT_S_ENV)
  if value is None:
    return SEGMENT_S
  try:
    seconds = float(value)
  except ValueError:
    raise ValueError(f"{SEGMENT_S_ENV}={value!r} is not a number of seconds") from None
  if seconds <= FLUSH_S:
    raise ValueError(f"{SEGMENT_S_ENV}={value!r}: segments must be longer than the {FLUSH_S} s flush period")
  return seconds


def max_routes_bytes() -> int | None:
  value = os.environ.get(MAX_MB_ENV)
  if not value:
    return None
  try:
    return int(float(value) * 1e6)
  except ValueError:
    raise ValueError(f"{MAX_MB_ENV}={value!r} is not a number of megabytes") from None


@dataclass(frozen=True, order=True)
class SegmentName:
  route: str
  num: int

  def __str__(self) -> str:
    return f"{self.route}--{self.num}"


def is_route_name(name: str) -> bool:
  return _ROUTE.match(name) is not None


def parse_segment_dir(name: str) -> SegmentName | None:
  """`<route>--<n>` → SegmentName; None for anything else in the directory."""
  m = _SEGMENT.match(name)
  return None if m is None else SegmentName(m.group(1), int(m.group(2)))


def route_counter(route: str) -> int:
  m = _ROUTE.match(route)
  if m is None:
    raise ValueError(f"{route!r} is not a route name like 000000a3--2026-11-22--05-12-33")
  return int(m.group(1), 16)


def new_route_name(root: Path, wall_time_s: float | None = None) -> str:
  """The next route's name in `root`: one past the highest counter there, stamped with the (local) wall time."""
  names = [p.name for p in root.iterdir()] if root.exists() else []
  counters = [route_counter(s.route) for name in names if (s := parse_segment_dir(name)) is not None]
  stamp = time.strftime("%Y-%m-%d--%H-%M-%S", time.localtime(time.time() if wall_time_s is None else wall_time_s))
  return f"{max(counters, default=-1) + 1:08x}--{stamp}"
