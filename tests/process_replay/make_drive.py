"""Record the reference drive of process replay: the whole stack in the simulator, under loggerd, for a short
while; what every process in CONFIGS takes as input is kept in drives/sim.rlog.zst (small, committed).

Where a process that publishes an input is not in the manager's table yet, a stand-in plays its part (carControl
now: a lane keeper on the simulator's truth, engaged when the car's cruise is). Then regenerate the references:

  python -m tests.process_replay.make_drive && python -m tests.process_replay --update-refs
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from cereal import messaging
from selfdrive.common.params import Params
from selfdrive.common.ratekeeper import Ratekeeper
from selfdrive.loggerd import config as loggerd_config
from selfdrive.loggerd.logwriter import LogWriter
from selfdrive.manager.process_config import PROCESSES
from tools.lib.logreader import LogReader
from tools.lib.route import list_routes, resolve
from tools.replay.process_replay import CONFIGS
from tools.sim import constants as C
from tools.sim.cli import sim_env

DRIVE = Path(__file__).with_name("drives") / "sim.rlog.zst"
SEED = 5
SECONDS = 15.0
CONTROL_HZ = 100.0
WEAVE_TORQUE, WEAVE_PERIOD_S = 0.15, 4.0
START_TIMEOUT_S = 60.0


def stand_in_controls(seconds: float) -> None:
  """carControl at 100 Hz as controlsd would send it: keep the lane (weaving a little) and hold a speed."""
  sm = messaging.SubMaster(["simState", "carState"])
  pm = messaging.PubMaster(["carControl"])
  rk = Ratekeeper(CONTROL_HZ)
  end = time.monotonic() + seconds
  while time.monotonic() < end:
    sm.update(0)
    gt, engaged = sm["simState"].truth, sm["simState"].driver.cruiseEngaged
    msg = messaging.new_message("carControl")
    cc = msg.carControl
    cc.enabled = cc.latActive = cc.longActive = engaged
    lat = 0.25 * gt.lateralOffset + 0.8 * gt.speed * gt.headingError + gt.curvature * gt.speed ** 2
    weave = WEAVE_TORQUE * np.sin(2 * np.pi * sm["simState"].t / WEAVE_PERIOD_S)  # so the drive has steering in it
    cc.actuators.torque = float(np.clip(lat / C.LAT_ACCEL_FACTOR + weave, -1.0, 1.0))
    cc.actuators.accel = float(np.clip(0.4 * (22.0 - sm["carState"].vEgo), -2.0, 1.5))
    pm.send("carControl", msg)
    rk.keep_time()
  pm.close()
  sm.close()


def record(seconds: float, tmp: Path) -> Path:
  env = {**sim_env(), "LP_PREFIX": f"mkdrive-{uuid.uuid4().hex[:8]}", "LP_PARAMS_DIR": str(tmp / "params"),
         "LP_LOG_DIR": str(tmp / "logs"), loggerd_config.ROUTES_DIR_ENV: str(tmp / "routes"),
         loggerd_config.SEGMENT_S_ENV: str(seconds + 60), "LP_LOGGERD_VIDEO": "0"}
  os.environ.update({k: env[k] for k in ("LP_PREFIX", "LP_PARAMS_DIR")})
  Params().put("SimSeed", SEED)
  names = {p.name for p in PROCESSES}
  procs = [subprocess.Popen([sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim"], env=env)]
  if "loggerd" not in names:
    procs.append(subprocess.Popen([sys.executable, "-m", "selfdrive.loggerd.loggerd"], env=env))
  try:
    sm = messaging.SubMaster(["carState"])
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sm.seen["carState"]:
      if time.monotonic() > deadline:
        raise SystemExit(f"the stack did not come up within {START_TIMEOUT_S} s; see {tmp / 'logs'}")
      sm.update(100)
    if "controlsd" not in names:
      stand_in_controls(seconds)
    else:
      time.sleep(seconds)
  finally:
    for p in procs:
      p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
    for p in procs:
      p.wait(30)
  routes = list_routes(tmp / "routes")
  if not routes:
    raise SystemExit(f"loggerd recorded nothing; see {tmp / 'logs'}")
  return tmp / "routes" / routes[-1]


def keep_inputs(route: Path, out: Path) -> int:
  """Write the messages every config takes (and the segment headers) to `out`, in time order."""
  keep = {"initData"} | {s for cfg in CONFIGS.values() for s in cfg.inputs}
  msgs = [m for seg in resolve(route).segments for m in LogReader(seg.path, sort_by_time=True).messages()
          if m.which in keep]
  out.unlink(missing_ok=True)
  w = LogWriter(out)
  last = msgs[0].logMonoTime
  for m in msgs:
    w.write(m.data)
    if m.logMonoTime - last > loggerd_config.FLUSH_S * 1e9:
      w.flush()
      last = m.logMonoTime
  w.close()
  return len(msgs)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--seconds", type=float, default=SECONDS, help=f"how long to drive (default {SECONDS})")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory(prefix="lp-mkdrive-") as tmp:
    route = record(args.seconds, Path(tmp))
    n = keep_inputs(route, DRIVE)
  print(f"wrote {DRIVE}: {n} messages, {DRIVE.stat().st_size / 1e3:.0f} kB")
  return 0


if __name__ == "__main__":
  sys.exit(main())
