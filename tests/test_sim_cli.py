"""`localpilot sim` stopped from outside: a SIGTERM ends the drive as Ctrl-C does (the stack stopped, the report
printed), and killed outright it still takes the manager, and with it the stack, down: no orphaned stack drives on."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cereal import messaging
from tests.conftest import subprocess_env
from tools.sim import constants as C

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def _parent(pid: str) -> int | None:
  try:
    stat = Path(f"/proc/{pid}/stat").read_text()
  except OSError:   # gone meanwhile
    return None
  return int(stat.rsplit(")", 1)[1].split()[1])


def _children(pid: int) -> list[int]:
  return [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(p) == pid]


def _alive(pid: int) -> bool:
  try:
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
  except OSError:
    return False
  return state != "Z"


def _start(tmp_path) -> tuple[subprocess.Popen, int]:
  """The sim CLI and its manager, once the manager reports its processes."""
  env = {**subprocess_env(), "LP_LOG_DIR": str(tmp_path / "logs"), "LP_CAR_PLATFORM": C.SIM_PLATFORM}
  cli = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "--perception", "oracle", "--minutes", "5",
                          "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  sm = messaging.SubMaster(["managerState"])
  deadline = time.monotonic() + START_TIMEOUT_S
  try:
    while not sm.seen["managerState"]:
      assert time.monotonic() < deadline and cli.poll() is None, "the stack did not start"
      sm.update(100)
  finally:
    sm.close()
  managers = _children(cli.pid)
  assert len(managers) == 1
  return cli, managers[0]


def _wait_gone(pid: int) -> None:
  deadline = time.monotonic() + STOP_TIMEOUT_S
  while _alive(pid):
    assert time.monotonic() < deadline, f"process {pid} still runs"
    time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_cli_stops_the_stack(tmp_path, sig):
  cli, manager = _start(tmp_path)
  stack = _children(manager)
  assert stack, "the manager started the stack"
  try:
    cli.send_signal(sig)
    try:
      out, _ = cli.communicate(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
      pytest.fail("the CLI's output stayed open: its manager outlived it")
    _wait_gone(manager)
    for pid in stack:
      _wait_gone(pid)
  finally:
    if cli.poll() is None:
      cli.kill()
      cli.wait()
    if _alive(manager):
      os.killpg(manager, signal.SIGKILL)
  if sig == signal.SIGTERM:
    report = json.loads(out.strip().splitlines()[-1])
    assert report["manager_exit_code"] == 0, "the manager stopped cleanly"
