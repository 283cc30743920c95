"""The manager with real processes: restarts, managerState, clean shutdown, no orphans."""
import os
import signal
import subprocess
import sys
import time

import pytest

from cereal import messaging, prefix
from selfdrive.common.params import Params
from selfdrive.manager.manager import Manager
from tests.conftest import subprocess_env


def pid_alive(pid: int) -> bool:
  """True while the process exists and is not a zombie."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().split(")")[-1].split()[0] != "Z"
  except FileNotFoundError:
    return False


def start_manager(tmp_path) -> subprocess.Popen:
  return subprocess.Popen([sys.executable, "-m", "selfdrive.manager.manager", "--log-dir", str(tmp_path / "logs")],
                          env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_state(sm: messaging.SubMaster, cond, timeout_s: float):
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    sm.update(200)
    if sm.updated["managerState"]:
      procs = {p.name: p for p in sm["managerState"].processes}
      if cond(procs):
        return procs
  raise AssertionError("managerState never reached the expected state")


@pytest.fixture
def manager(tmp_path):
  proc = start_manager(tmp_path)
  yield proc
  if proc.poll() is None:
    proc.kill()
    proc.wait()


def test_restarts_a_killed_process_and_stops_cleanly(manager, tmp_path):
  sm = messaging.SubMaster(["managerState", "deviceState"])
  procs = wait_state(sm, lambda p: p["hardwared"].running and p["hardwared"].pid > 0, 30)
  first_pid = procs["hardwared"].pid
  assert procs["hardwared"].restartCount == 0
  # hardwared really runs: its deviceState arrives
  deadline = time.monotonic() + 10
  while not sm.seen["deviceState"] and time.monotonic() < deadline:
    sm.update(100)
  assert sm.seen["deviceState"] and sm["deviceState"].memoryUsagePercent > 0

  os.kill(first_pid, signal.SIGKILL)
  procs = wait_state(sm, lambda p: p["hardwared"].running and p["hardwared"].pid not in (0, first_pid), 30)
  assert procs["hardwared"].restartCount == 1
  assert procs["hardwared"].exitCode == -signal.SIGKILL
  second_pid = procs["hardwared"].pid
  sm.close()

  manager.send_signal(signal.SIGINT)
  out, _ = manager.communicate(timeout=20)
  assert manager.returncode == 0, out.decode()
  assert not pid_alive(first_pid) and not pid_alive(second_pid)
  assert prefix.leftovers() == [], "the manager must remove every socket and shared-memory file"
  log = (tmp_path / "logs" / "hardwared.log").read_text()
  assert log.count("starting hardware.hardwared") == 2


def test_sigterm_stops_everything(manager):
  sm = messaging.SubMaster(["managerState"])
  procs = wait_state(sm, lambda p: p["hardwared"].running, 30)
  sm.close()
  manager.send_signal(signal.SIGTERM)
  manager.wait(20)
  assert manager.returncode == 0
  assert not pid_alive(procs["hardwared"].pid)
  assert prefix.leftovers() == []


def test_children_die_with_a_killed_manager(manager):
  sm = messaging.SubMaster(["managerState"])
  procs = wait_state(sm, lambda p: p["hardwared"].running, 30)
  sm.close()
  manager.kill()
  manager.wait(10)
  pid = procs["hardwared"].pid
  deadline = time.monotonic() + 10
  while pid_alive(pid) and time.monotonic() < deadline:
    time.sleep(0.05)
  assert not pid_alive(pid), "a child outlived a SIGKILLed manager"


def test_unknown_process_is_a_clear_error(tmp_path):
  out = subprocess.run([sys.executable, "-m", "selfdrive.manager.manager", "--only", "nosuchd", "--seconds", "1",
                        "--log-dir", str(tmp_path)], env=subprocess_env(), capture_output=True, text=True, timeout=30)
  assert out.returncode == 2
  assert "unknown process(es) nosuchd" in out.stderr and "Traceback" not in out.stderr


def test_onroad_and_offroad_transitions_clear_their_params(tmp_path):
  """The keys of one drive go when the next drive starts, before its processes do (card would otherwise take the last
  drive's car for a restart's); the keys of an engagement go when the car is switched off."""
  params = Params()
  manager = Manager((), frozenset(), tmp_path)
  device = messaging.PubMaster(["deviceState"])

  def step_with(started: bool) -> None:
    deadline = time.monotonic() + 5
    while not (manager.sm.updated["deviceState"] and manager.sm["deviceState"].started == started):
      assert time.monotonic() < deadline, "the manager never heard deviceState"
      msg = messaging.new_message("deviceState")
      msg.deviceState.started = started
      device.send("deviceState", msg)
      manager.sm.update(100)
    manager.step()

  try:
    params.put("CarParams", b"last drive's car")
    params.put("IsEngaged", True)
    params.put("LongitudinalPersonality", 2)
    step_with(False)
    assert params.get("CarParams") == b"last drive's car" and params.get("IsOnroad") is False
    step_with(True)
    assert params.get("CarParams") is None and params.get("IsOnroad") is True
    assert params.get("IsEngaged") is True, "an engagement's keys stay until the drive ends"
    params.put("CarParams", b"this drive's car")
    step_with(True)
    assert params.get("CarParams") == b"this drive's car", "cleared on the transition only, not while onroad"
    step_with(False)
    assert params.get("IsEngaged") is False and params.get("IsOnroad") is False
    assert params.get("CarParams") == b"this drive's car" and params.get("LongitudinalPersonality") == 2
  finally:
    device.close()
    manager.shutdown()
