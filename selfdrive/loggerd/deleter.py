"""Disk housekeeping: the oldest routes go while the disk is too full or the routes too big, never the live one."""
import shutil
from collections import defaultdict
from pathlib import Path

from selfdrive.loggerd.config import MIN_FREE_PERCENT, parse_segment_dir


def _size(path: Path) -> int:
  return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def route_segments(root: Path) -> dict[str, list[Path]]:
  """Segment directories by route, routes oldest first (their names sort by recording order)."""
  routes: dict[str, list[Path]] = defaultdict(list)
  for p in root.iterdir():
    if (seg := parse_segment_dir(p.name)) is not None and p.is_dir():
      routes[seg.route].append(p)
  return dict(sorted(routes.items()))


def free_percent(root: Path) -> float:
  usage = shutil.disk_usage(root)
  return 100.0 * usage.free / usage.total


def delete_old_routes(root: Path, keep: str, max_bytes: int | None = None,
                      min_free_percent: float = MIN_FREE_PERCENT) -> list[str]:
  """Delete whole routes, oldest first, until free space and total size are within bounds; returns their names."""
  routes = route_segments(root)
  sizes = {r: sum(_size(p) for p in segs) for r, segs in routes.items()}
  total = sum(sizes.values())
  deleted = []
  for route, segs in routes.items():
    if route == keep:
      continue
    if free_percent(root) >= min_free_percent and (max_bytes is None or total <= max_bytes):
      break
    for p in segs:
      shutil.rmtree(p)
    total -= sizes[route]
    deleted.append(route)
  return deleted
