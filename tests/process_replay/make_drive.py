"""Record the reference drive of process replay: the whole stack in the simulator, under loggerd, for a short
while; what every process in CONFIGS takes as input is kept in drives/sim.rlog.zst (small, committed).

The stack runs on the simulator's ground truth in place of the model (the "oracle" flag), and the scripted driver
engages it after a few seconds of manual driving, so the drive has both: the processes' outputs while disengaged,
the engagement, and the engaged controls: a car that waits close ahead in the next lane and cuts in, then steering
into the seed's first curve (the drive is refused without either). Then regenerate the references:

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

from cereal import messaging
from selfdrive.common.params import Params
from selfdrive.loggerd import config as loggerd_config
from selfdrive.loggerd.logwriter import LogWriter
from selfdrive.manager.process_config import PROCESSES
from tests.process_replay.refs import steering, traffic
from tools.lib.logreader import LogMessage, LogReader
from tools.lib.route import list_routes, resolve
from tools.replay.process_replay import CONFIGS, FRAME_SOURCE
from tools.sim.cli import sim_env
from tools.sim.driver import DriverMode
from tools.sim.simd import DRIVER_ENV

DRIVE = Path(__file__).with_name("drives") / "sim.rlog.zst"
# every seed's road starts with 400 m of straight and the first traffic event comes at 20 s; on this seed it is a car
# that overtakes, keeps level just ahead in the next lane (radard's beside) and cuts in ~11 m ahead at 21 s, and the
# first curve begins at ~26 s, so the engaged stack steers into it for the last seconds of the drive
SEED = 2371
SECONDS = 26.0
START_TIMEOUT_S = 60.0
ZSTD_LEVEL, FRAME_S = 19, 5.0   # the drive is written once and committed: compress it hard, in few frames


def record(seconds: float, seed: int, tmp: Path) -> Path:
  env = {**sim_env(), "LP_PREFIX": f"mkdrive-{uuid.uuid4().hex[:8]}", "LP_PARAMS_DIR": str(tmp / "params"),
         "LP_LOG_DIR": str(tmp / "logs"), loggerd_config.ROUTES_DIR_ENV: str(tmp / "routes"),
         loggerd_config.SEGMENT_S_ENV: str(seconds + 60), "LP_LOGGERD_VIDEO": "0",
         DRIVER_ENV: DriverMode.ENGAGE.value}
  os.environ.update({k: env[k] for k in ("LP_PREFIX", "LP_PARAMS_DIR")})
  Params().put("SimSeed", seed)
  names = {p.name for p in PROCESSES}
  manager = [sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim", "--flag", "oracle"]
  procs = [subprocess.Popen(manager, env=env)]
  if "loggerd" not in names:
    procs.append(subprocess.Popen([sys.executable, "-m", "selfdrive.loggerd.loggerd"], env=env))
  try:
    sm = messaging.SubMaster(["carState"])
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sm.seen["carState"]:
      if time.monotonic() > deadline:
        raise SystemExit(f"the stack did not come up within {START_TIMEOUT_S} s; see {tmp / 'logs'}")
      sm.update(100)
    sm.close()
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


def inputs_of(route: Path) -> list[LogMessage]:
  """The messages every config takes (and the segment headers, and what camera frames are rendered from), in time
  order."""
  keep = {"initData", FRAME_SOURCE} | {s for cfg in CONFIGS.values() for s in cfg.inputs}
  return [m for seg in resolve(route).segments for m in LogReader(seg.path, sort_by_time=True).messages()
          if m.which in keep]


def write(msgs: list[LogMessage], out: Path) -> None:
  out.unlink(missing_ok=True)
  w = LogWriter(out, level=ZSTD_LEVEL)
  last = msgs[0].logMonoTime
  for m in msgs:
    w.write(m.data)
    if m.logMonoTime - last > FRAME_S * 1e9:
      w.flush()
      last = m.logMonoTime
  w.close()


def check(msgs: list[LogMessage]) -> None:
  """The drive must show the stack engaged and steering; inputs that nothing in the recorded stack publishes are
  named."""
  if not any(m.which == "selfdriveState" and m.event.selfdriveState.enabled for m in msgs):
    raise SystemExit("the stack never engaged during the drive: drive longer (--seconds) or see the logs")
  st = steering(msgs)
  print(st.report)
  if not st.ok:
    raise SystemExit("the engaged stack hardly steered: drive longer (--seconds) or pick a seed with an earlier curve")
  tr = traffic(msgs)
  print(tr.report)
  if not tr.ok:
    raise SystemExit("no car waited beside the engaged stack and cut in: pick a seed whose first event is a cut-in")
  seen = {m.which for m in msgs}
  for cfg in CONFIGS.values():
    missing = sorted(set(cfg.inputs) - seen)
    if missing:
      print(f"note: {cfg.name}'s inputs {', '.join(missing)} are not in the drive (nothing recorded publishes them)")


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--seconds", type=float, default=SECONDS, help=f"how long to drive (default {SECONDS})")
  parser.add_argument("--seed", type=int, default=SEED, help=f"the simulator's seed (default {SEED})")
  parser.add_argument("--out", type=Path, default=DRIVE, help="where to write the drive (default: the committed one)")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory(prefix="lp-mkdrive-") as tmp:
    route = record(args.seconds, args.seed, Path(tmp))
    msgs = inputs_of(route)
  check(msgs)
  write(msgs, args.out)
  print(f"wrote {args.out}: {len(msgs)} messages, {args.out.stat().st_size / 1e3:.0f} kB")
  return 0


if __name__ == "__main__":
  sys.exit(main())
