"""The manager: runs every process of the stack from one table, restarts crashes, stops everything cleanly."""
import argparse
import os
import signal
import sys
import time
from pathlib import Path

from cereal import messaging, prefix
from selfdrive.common.errors import UserError
from selfdrive.common.params import Params
from selfdrive.common.params_keys import ParamFlag
from selfdrive.manager.process import ManagedProcess
from selfdrive.manager.process_config import PROCESSES, ProcessConfig

LOOP_TIMEOUT_MS = 500   # managerState at 2 Hz
DEFAULT_LOG_DIR = Path.home() / ".localpilot" / "logs"


class Manager:
  def __init__(self, processes: tuple[ProcessConfig, ...], flags: frozenset[str], log_dir: Path,
               only: set[str] | None = None):
    unknown = (only or set()) - {p.name for p in processes}
    if unknown:
      known = ", ".join(p.name for p in processes)
      raise UserError(f"unknown process(es) {', '.join(sorted(unknown))}; known: {known}")
    self.flags = flags
    self.procs = [ManagedProcess(p, log_dir) for p in processes if only is None or p.name in only]
    self.env = dict(os.environ)
    self.stopping = False
    self.params = Params()
    self.onroad = False
    self.pm = messaging.PubMaster(["managerState"])
    self.sm = messaging.SubMaster(["deviceState"])

  def request_stop(self, _signum=None, _frame=None) -> None:
    self.stopping = True

  def started(self) -> bool:
    return self.sm.alive["deviceState"] and self.sm["deviceState"].started

  def step(self) -> None:
    now = time.monotonic()
    started = self.started()
    if started != self.onroad:
      self.transition(started)
    for p in self.procs:
      if p.check(now):
        print(f"manager: {p.config.name} exited with {p.exit_code}; restart #{p.restart_count} "
              f"in {p.next_start_at - now:.1f} s", file=sys.stderr, flush=True)
      should_run = p.config.should_run(started, self.flags)
      if should_run and not p.running and now >= p.next_start_at:
        p.start(self.env)
      elif not should_run and p.running:
        p.stop()
    self.publish_state(started)

  def transition(self, onroad: bool) -> None:
    """Clear the keys that belong to one drive (or to the time between drives) before the processes of the new
    state start, so card never takes the last drive's car for this one's."""
    self.params.clear_all(ParamFlag.CLEAR_ON_ONROAD_TRANSITION if onroad else ParamFlag.CLEAR_ON_OFFROAD_TRANSITION)
    self.params.put("IsOnroad", onroad)
    self.onroad = onroad

  def publish_state(self, started: bool) -> None:
    msg = messaging.new_message("managerState")
    states = msg.managerState.init("processes", len(self.procs))
    for state, p in zip(states, self.procs, strict=True):
      state.name = p.config.name
      state.pid = p.pid
      state.running = p.running
      state.shouldBeRunning = p.config.should_run(started, self.flags)
      state.exitCode = p.exit_code
      state.restartCount = p.restart_count
      state.startedMonoTime = int(p.started_at * 1e9)
    self.pm.send("managerState", msg)

  def run(self, duration_s: float | None = None) -> None:
    end = None if duration_s is None else time.monotonic() + duration_s
    while not self.stopping and (end is None or time.monotonic() < end):
      self.step()
      self.sm.update(LOOP_TIMEOUT_MS)

  def shutdown(self) -> None:
    """Stop every process in parallel, then remove every socket and shared-memory file of the prefix."""
    for p in self.procs:
      p.signal_stop()
    deadline = time.monotonic() + 5.0
    for p in self.procs:
      p.wait_stopped(deadline)
      p.close_log()
    self.sm.close()
    self.pm.close()
    prefix.cleanup()


def manager_init(params: Params) -> None:
  params.clear_all(ParamFlag.CLEAR_ON_MANAGER_START)
  params.put("ManagerStartTime", time.strftime("%Y-%m-%dT%H:%M:%S"))


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m selfdrive.manager.manager", description=__doc__)
  parser.add_argument("--flag", action="append", default=[], help="enable processes behind this flag (repeatable)")
  parser.add_argument("--only", action="append", help="run only this process (repeatable)")
  parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("LP_LOG_DIR", DEFAULT_LOG_DIR)),
                      help="where each process's output goes (one file per process)")
  parser.add_argument("--seconds", type=float, help="stop after this long")
  args = parser.parse_args(argv)
  manager_init(Params())
  try:
    manager = Manager(PROCESSES, frozenset(args.flag), args.log_dir, set(args.only) if args.only else None)
  except UserError as e:
    print(f"manager: error: {e}", file=sys.stderr)
    return 2
  signal.signal(signal.SIGINT, manager.request_stop)
  signal.signal(signal.SIGTERM, manager.request_stop)
  try:
    manager.run(args.seconds)
  finally:
    manager.shutdown()
  return 0


if __name__ == "__main__":
  sys.exit(main())
