"""The initData header that opens every segment's logs: what recorded the drive, with which software and params."""
import importlib.metadata
import subprocess
from pathlib import Path

from cereal import messaging
from hardware import pc
from selfdrive.common.params import KEYS, Params, encode

REPO = Path(__file__).resolve().parents[2]
GIT_TIMEOUT_S = 5.0


def git_commit() -> str:
  """HEAD of the checkout we run from; empty when it is not a git checkout."""
  try:
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                         timeout=GIT_TIMEOUT_S)
  except (OSError, subprocess.TimeoutExpired):
    return ""
  return out.stdout.strip() if out.returncode == 0 else ""


def version() -> str:
  try:
    return importlib.metadata.version("localpilot")
  except importlib.metadata.PackageNotFoundError:
    return "unknown"


def init_data(route: str, segment: int, t_ns: int, wall_time_ns: int, commit: str, params: Params | None,
              device_type: str | None = None) -> bytes:
  """An initData event stamped `t_ns` (the segment's start on the stack clock)."""
  msg = messaging.new_message("initData")
  msg.logMonoTime = t_ns
  d = msg.initData
  d.routeName, d.segmentNum, d.wallTimeNanos = route, segment, wall_time_ns
  d.version, d.gitCommit, d.deviceType = version(), commit, device_type or pc.device_type()
  values = [] if params is None else [(k, v) for k in KEYS if (v := params.get(k)) is not None]
  for out, (key, value) in zip(d.init("params", len(values)), values, strict=True):
    out.key, out.value = key, encode(key, KEYS[key], value)
  return msg.to_bytes()
