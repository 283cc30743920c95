"""One managed child process: start, watch, restart with backoff, stop without leaving orphans."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from selfdrive.common.process import die_with_parent
from selfdrive.manager.process_config import ProcessConfig

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
STABLE_AFTER_S = 30.0     # a process that ran this long has its backoff reset
STOP_TIMEOUT_S = 5.0


def _child_setup() -> None:
  die_with_parent(signal.SIGKILL)


@dataclass
class ManagedProcess:
  config: ProcessConfig
  log_dir: Path
  proc: subprocess.Popen | None = None
  restart_count: int = 0
  exit_code: int = 0
  started_at: float = 0.0
  next_start_at: float = 0.0
  backoff_s: float = BACKOFF_START_S
  _log: IO[bytes] | None = field(default=None, repr=False)

  @property
  def running(self) -> bool:
    return self.proc is not None and self.proc.poll() is None

  @property
  def pid(self) -> int:
    return self.proc.pid if self.proc is not None else 0

  def start(self, env: dict[str, str]) -> None:
    if self._log is None:
      self.log_dir.mkdir(parents=True, exist_ok=True)
      self._log = open(self.log_dir / f"{self.config.name}.log", "ab")  # noqa: SIM115 -- open for the process's life
    self._log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.config.module}\n".encode())
    self._log.flush()
    self.proc = subprocess.Popen([sys.executable, "-m", self.config.module], stdin=subprocess.DEVNULL,
                                 stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                 preexec_fn=_child_setup)
    self.started_at = time.monotonic()

  def check(self, now: float) -> bool:
    """Reap a process that exited on its own and schedule its restart; True when it died."""
    if self.proc is None or self.proc.poll() is None:
      if self.proc is not None and now - self.started_at > STABLE_AFTER_S:
        self.backoff_s = BACKOFF_START_S
      return False
    self.exit_code = self.proc.returncode
    self.proc = None
    self.restart_count += 1
    self.next_start_at = now + self.backoff_s
    self.backoff_s = min(self.backoff_s * 2, BACKOFF_MAX_S)
    return True

  def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
    self.signal_stop()
    self.wait_stopped(time.monotonic() + timeout_s)

  def signal_stop(self) -> None:
    if self.running:
      self._signal_group(signal.SIGTERM)

  def wait_stopped(self, deadline: float) -> None:
    """Wait until `deadline` for the process to exit, then kill its whole group."""
    if self.proc is None:
      return
    try:
      self.proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
      self._signal_group(signal.SIGKILL)
      self.proc.wait()
    self._signal_group(signal.SIGKILL)  # anything the process itself started
    self.exit_code = self.proc.returncode
    self.proc = None

  def close_log(self) -> None:
    if self._log is not None:
      self._log.close()
      self._log = None

  def _signal_group(self, sig: int) -> None:
    assert self.proc is not None
    with contextlib.suppress(ProcessLookupError):  # the group is already gone: nothing left to signal
      os.killpg(self.proc.pid, sig)
