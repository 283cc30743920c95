"""`localpilot sim`: the whole stack, under the manager, driving in the built-in simulator."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cereal import messaging
from selfdrive.common.params import Params
from selfdrive.common.process import die_with_parent

STATUS_PERIOD_S = 1.0
STOP_TIMEOUT_S = 15.0
LOOP_MS = 50                 # the view refreshes at the camera's 20 Hz
STARTUP_S = 60.0             # --minutes counts simulated time; the wall clock allows this for start-up ...
WALL_FACTOR = 1.5            # ... and this much slower than real time before giving up
PERCEPTIONS = ("model", "oracle")
VIEW_SERVICES = ["carState", "selfdriveState", "modelV2", "longitudinalPlan", "simState"]


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
  line += f" | {'onroad' if ds.started else 'offroad'} | cpu {cpu:.0f}% mem {ds.memoryUsagePercent}%"
  if sm.seen["carState"]:
    sd = sm["selfdriveState"]
    line += f" | {sm['carState'].vEgo * 3.6:.0f} km/h {sd.state if sm.seen['selfdriveState'] else 'no selfdrived'}"
    if sd.alertText1:
      line += f" | {sd.alertText1} {sd.alertText2}".rstrip()
  return line


def sim_env() -> dict[str, str]:
  """The stack's environment in the simulator: its CAN adapter and camera are the simulator's. The car is not named:
  card identifies it by its ECUs' firmware versions, as it does a real one."""
  from hardware.can.interfaces import CAN_ENV  # imported here: they pull in opendbc and OpenCV, slow for --help
  from selfdrive.camerad.sources import CAMERA_ENV
  return {**os.environ, CAN_ENV: "sim", CAMERA_ENV: "sim"}


def _interrupt(_signum, _frame):
  raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
  from tools.sim.report import DriveRecorder  # imported here: numpy and OpenCV are slow for --help
  from tools.sim.ui import SimView
  Params().put("SimSeed", args.seed)
  cmd = [sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim"]
  if args.perception == "oracle":
    cmd += ["--flag", "oracle"]
  # the manager stops the stack if this process is killed outright; a SIGTERM here ends the drive as Ctrl-C does
  manager = subprocess.Popen(cmd, env=sim_env(), start_new_session=True, preexec_fn=die_with_parent)
  signal.signal(signal.SIGTERM, _interrupt)
  sm = messaging.SubMaster(["managerState", "deviceState", *VIEW_SERVICES])
  sim_sock = messaging.sub_sock("simState")   # every frame, for the report (the SubMaster keeps only the latest)
  recorder = DriveRecorder(args.perception, args.seed)
  view = SimView(args.ui, args.video) if args.ui or args.video else None
  start = time.monotonic()
  end = start + STARTUP_S + WALL_FACTOR * args.minutes * 60 if args.minutes else None
  interactive = sys.stdout.isatty() and not args.json
  last_print = 0.0
  restarts: dict[str, int] = {}
  try:
    while manager.poll() is None and (end is None or time.monotonic() < end):
      sm.update(LOOP_MS)
      active = sm.seen["selfdriveState"] and sm.alive["selfdriveState"] and sm["selfdriveState"].active
      for data in messaging.drain_sock_raw(sim_sock):
        recorder.add(messaging.log_from_bytes(data).simState, active)
      if args.minutes and recorder.t and recorder.t[-1] >= args.minutes * 60:
        break
      if view is not None:
        view.update(sm)
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
    sim_sock.close()
    if view is not None:
      view.close()
  if interactive:
    print()
  run_info = {"wall_minutes": round((time.monotonic() - start) / 60, 3), "manager_exit_code": manager.returncode,
              "process_restarts": restarts}
  if not recorder.t:
    print(json.dumps(run_info) if args.json else f"done, no simulated drive: {run_info}")
    return 1
  report = recorder.report()
  if args.json:
    print(json.dumps({**json.loads(report.as_json()), **run_info}))
  else:
    print(report.text())
    print(f"done: {run_info}")
  return 0 if manager.returncode == 0 else 1


def register(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("sim", help="drive in the built-in simulator", description=__doc__ + """

Starts the manager with every process of the stack plus the simulator, prints a live status line, and
stops everything cleanly on Ctrl-C or after --minutes. Each process's output is kept in a log file under
~/.localpilot/logs (or $LP_LOG_DIR).

At the end it prints a driving report scored on the simulator's truth: distance, engaged share, lane-centring
error, lateral acceleration and jerk, the closest time gap to a lead, collisions, lane departures and
disengagements (--json: one JSON object with keys km, engaged_pct, center_err_mean_m, center_err_max_m,
lat_jerk_p99, min_gap_s, collisions, lane_departures, disengagements, and more).
""", formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--minutes", type=float, help="stop after this many simulated minutes (default: until Ctrl-C)")
  p.add_argument("--seed", type=int, default=0, help="the simulated world's seed: roads, traffic, lighting (default 0)")
  p.add_argument("--json", action="store_true", help="no status line; print the report as one JSON object last")
  p.add_argument("--perception", choices=PERCEPTIONS, default="model",
                 help="what sees the road: the driving model (default), or `oracle`, the simulator's ground truth "
                      "in the model's place, a test tool for the controls that the report names")
  p.add_argument("--ui", action="store_true", help="open a window: the camera with the planned path, lane lines, "
                 "lead and alerts drawn on it")
  p.add_argument("--video", type=Path, metavar="FILE.mp4", help="write that view to a video file")
  p.set_defaults(func=run)
