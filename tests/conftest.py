import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from cereal import prefix as lp_prefix
from cereal.clock import set_replay_time

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser):
  parser.addoption("--run-slow", action="store_true", help="also run the long suites marked slow")


def pytest_collection_modifyitems(config, items):
  if config.getoption("--run-slow"):
    return
  skip = pytest.mark.skip(reason="slow suite: run with --run-slow")
  for item in items:
    if "slow" in item.keywords:
      item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_prefix(monkeypatch, tmp_path):
  """Every test gets its own socket/shared-memory prefix and params dir, and must leave nothing behind."""
  name = f"t{uuid.uuid4().hex[:10]}"
  monkeypatch.setenv(lp_prefix.PREFIX_ENV, name)
  monkeypatch.setenv("LP_PARAMS_DIR", str(tmp_path / "params"))
  monkeypatch.setenv("LP_ROUTES_DIR", str(tmp_path / "routes"))
  monkeypatch.setenv("LP_LOG_DIR", str(tmp_path / "logs"))
  yield name
  lp_prefix.cleanup()
  set_replay_time(None)  # a test that drove the message clock (lock-step, SIL) must not leave it frozen


@pytest.fixture
def shared_data() -> Path:
  if not SHARED_DATA.exists():
    pytest.skip(f"real recorded data not found at {SHARED_DATA} (clone ../shared beside the repository)")
  return SHARED_DATA


def subprocess_env() -> dict[str, str]:
  """Environment for child processes started by tests: this test's prefix, the repository importable."""
  env = dict(os.environ)
  env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
  env["PYTHONUNBUFFERED"] = "1"
  return env


def stop_processes(procs) -> None:
  """Terminate test-started processes (resuming any the test stopped) and reap them; kill what will not go."""
  for p in procs:
    if p.poll() is None:
      os.kill(p.pid, signal.SIGCONT)
      p.terminate()
  for p in procs:
    try:
      p.wait(10)
    except subprocess.TimeoutExpired:
      p.kill()
      p.wait()
