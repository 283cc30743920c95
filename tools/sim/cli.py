"""`localpilot sim`: the whole stack, under the manager, driving in the built-in simulator."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

from cereal import messaging
from selfdrive.common.params import Params

STATUS_PERIOD_S = 1.0
STOP_TIMEOUT_S = 15.0


def _status_line(sm: messaging.SubMaster, elapsed_s: float) -> str:
  ms = sm["managerState"]
  running = sum(p.running for p in ms.processes)
  wanted = sum(p.shouldBeRunning for p in ms.processes)
  down = [p.name for p in ms.processes if p.shouldBeRunning and not p.running]
  ds = sm["deviceState"]
  cpu = sum(ds.cpuUsagePercent) / max(1, len(ds.cpuUsagePercent))
  line = f"sim {int(elapsed_s // 60):02d}:{int(elapsed_s % 60):02d} | processes {running}/{wanted} running"
  if down:
    line += f" (down: {', '.join(down)})"
  return line + f" | {'onroad' if ds.started else 'offroad'} | cpu {cpu:.0f}% mem {ds.memoryUsagePercent}%"


def sim_env() -> dict[str, str]:
  """The stack's environment in the simulator: its CAN adapter and camera are the simulator's. The car is not named:
  card identifies it by its ECUs' firmware versions, as it does a real one."""
  from hardware.can.interfaces import CAN_ENV  # imported here: they pull in opendbc and OpenCV, slow for --help
  from selfdrive.camerad.sources import CAMERA_ENV
  return {**os.environ, CAN_ENV: "sim", CAMERA_ENV: "sim"}


def run(args: argparse.Namespace) -> int:
  Params().put("SimSeed", args.seed)
  cmd = [sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim"]
  manager = subprocess.Popen(cmd, env=sim_env(), start_new_session=True)
  sm = messaging.SubMaster(["managerState", "deviceState"])
  start = time.monotonic()
  end = start + args.minutes * 60 if args.minutes else None
  interactive = sys.stdout.isatty() and not args.json
  last_print = 0.0
  restarts: dict[str, int] = {}
  try:
    while manager.poll() is None and (end is None or time.monotonic() < end):
      sm.update(200)
      if sm.updated["managerState"]:
        restarts = {p.name: p.restartCount for p in sm["managerState"].processes}
      now = time.monotonic()
      if sm.seen["managerState"] and now - last_print >= STATUS_PERIOD_S and not args.json:
        line = _status_line(sm, now - start)
        print(f"\r{line}\033[K" if interactive else line, end="" if interactive else "\n", flush=True)
        last_print = now
  except KeyboardInterrupt:
    pass
  finally:
    if manager.poll() is None:
      manager.send_signal(signal.SIGINT)
      try:
        manager.wait(STOP_TIMEOUT_S)
      except subprocess.TimeoutExpired:
        os.killpg(manager.pid, signal.SIGKILL)
        manager.wait()
    sm.close()
  if interactive:
    print()
  report = {"minutes": round((time.monotonic() - start) / 60, 3), "manager_exit_code": manager.returncode,
            "process_restarts": restarts}
  print(json.dumps(report) if args.json else f"done: {report}")
  return 0 if manager.returncode == 0 else 1


def register(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("sim", help="drive in the built-in simulator", description=__doc__ + """

Starts the manager with every process of the stack plus the simulator, prints a live status line, and
stops everything cleanly on Ctrl-C or after --minutes. Each process's output is kept in a log file under
~/.localpilot/logs (or $LP_LOG_DIR).""", formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--minutes", type=float, help="stop after this many simulated minutes (default: until Ctrl-C)")
  p.add_argument("--seed", type=int, default=0, help="the simulated world's seed: roads, traffic, lighting (default 0)")
  p.add_argument("--json", action="store_true", help="no status line; print the report as one JSON object last")
  p.set_defaults(func=run)
