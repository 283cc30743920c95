"""Recording and replay: process replay speed, and loggerd's CPU while it records the whole stack.

replay_x_NAME: seconds of the reference drive (tests/process_replay/drives/) replayed per wall second by one process
of the control path (card, plannerd, controlsd), alone in lock-step after its start-up; NAME_step_us is its time a
step. replay_x is the three of them replayed side by side, all three at once on this machine's cores (the issue's
"on 2 cores"): the drive's seconds over the wall time from the moment all three have started up to the last one's
end, so a drive of D seconds replays through the control path in D / replay_x.
replay_x_one_core is the three one after another: the drive's seconds over the sum of their run times.
car_code_step_us is card's car-specific work alone, run in this process with no messages: opendbc's CarInterface,
RadarInterface and CarController, with the CAN parsing and packing they need (ours, selfdrive/car/can_*.py). No card
replays faster than replay_x_card_ceiling, the drive's seconds over that work's: what card could reach if its messages,
their conversions and the lock-step cost nothing.
Beside them, a process that does nothing but answer its steps measures the lock-step round trip itself
(`lockstep_step_us`, one step an exchange) and what a step costs in the batches process replay sends
(`lockstep_batched_step_us`, BATCH_STEPS steps an exchange).

loggerd_cpu_pct: loggerd's CPU (its message loop and zmq's threads, not the video encoder thread) in percent of a
core, while the simulator's whole stack runs and loggerd records it with video; video_cpu_pct is the encoder.

  python -m tools.bench.replay [seconds]
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cereal import messaging
from cereal.messaging.lockstep import LOCKSTEP_ENV, LockstepHarness
from selfdrive.car.adapter import CarAdapter, opendbc_log_level
from selfdrive.car.card import frames_of
from selfdrive.loggerd import config as loggerd_config
from selfdrive.loggerd.video import THREAD_NAME
from selfdrive.manager.process_config import PROCESSES
from tools.lib.logreader import LogReader
from tools.replay.process_replay import BATCH_STEPS, CONFIGS, replay
from tools.sim.constants import SIM_PLATFORM

DRIVE = Path(__file__).resolve().parents[2] / "tests" / "process_replay" / "drives" / "sim.rlog.zst"
ECHO_STEPS = 2000
CAR_CODE_ROUNDS = 3
BENCHED = ("card", "plannerd", "controlsd")   # the control path, CAN in to CAN out
START_TIMEOUT_S = 60.0
ECHO = """
from cereal import messaging
sm, pm = messaging.SubMaster(["can"]), messaging.PubMaster(["carState"])
while True:
  sm.update()
  pm.send("carState", messaging.new_message("carState"))
"""


def lockstep_step_us(batch: int) -> float:
  """A step's cost to a process that only answers, `batch` steps an exchange."""
  name = f"bench-echo-{uuid.uuid4().hex[:8]}"
  harness = LockstepHarness(name)
  proc = subprocess.Popen([sys.executable, "-c", ECHO], env={**os.environ, LOCKSTEP_ENV: name})
  data = messaging.new_message("can", 5).to_bytes()
  plan = [(i * 10_000_000, [data]) for i in range(ECHO_STEPS)]
  try:
    harness.step(0, [data])
    t = time.perf_counter()
    for i in range(0, ECHO_STEPS, batch):
      harness.run(plan[i:i + batch])
    elapsed = time.perf_counter() - t
    harness.finish()
    proc.wait(10)
  finally:
    harness.close()
  return 1e6 * elapsed / ECHO_STEPS


def side_by_side(drive: list) -> float:
  """The three replayed at once, one thread (and one child process) each: the drive's seconds per wall second from
  the moment all have started up (they meet at a barrier) to the end of the last."""
  together = threading.Barrier(len(BENCHED))
  with ThreadPoolExecutor(len(BENCHED)) as pool:
    runs = [pool.submit(replay, CONFIGS[name], drive, None, together) for name in BENCHED]
    results = [r.result() for r in runs]
  return max(r.drive_s for r in results) / max(r.run_s for r in results)


def car_code_run(drive: list) -> tuple[float, float, int]:
  """(drive seconds, run seconds, cycles) of card's car-specific work over the drive, best of CAR_CODE_ROUNDS: each
  `can` message through the adapter's CarInterface and RadarInterface, then the latest recorded carControl through
  its CarController, as card's loop does."""
  cycles, control = [], None
  for m in drive:
    if m.which == "carControl":
      control = m.event.carControl
    elif m.which == "can":
      cycles.append((m.logMonoTime, frames_of(m.event.can), control))
  best = float("inf")
  with opendbc_log_level():  # the first cycles miss messages: opendbc warns of each
    for _ in range(CAR_CODE_ROUNDS):
      adapter = CarAdapter(SIM_PLATFORM)
      t = time.perf_counter()
      for t_ns, frames, car_control in cycles:
        adapter.update(frames, t_ns)
        adapter.radar(frames, t_ns)
        if car_control is not None:
          adapter.apply(car_control, t_ns)
      best = min(best, time.perf_counter() - t)
  return (cycles[-1][0] - cycles[0][0]) * 1e-9, best, len(cycles)


def replay_speed(seconds: float) -> dict:
  """Replay each process of BENCHED over the reference drive, one at a time and then side by side, again until
  `seconds` have passed."""
  drive = list(LogReader(DRIVE).messages())
  per = {name: [0.0, 0.0, 0] for name in BENCHED}  # drive seconds, run seconds, steps
  drive_s = run_s = 0.0
  side: list[float] = []
  t0 = time.perf_counter()
  while time.perf_counter() - t0 < seconds or not side:
    results = {name: replay(CONFIGS[name], drive) for name in BENCHED}
    drive_s += max(r.drive_s for r in results.values())
    for name, r in results.items():
      per[name][0] += r.drive_s
      per[name][1] += r.run_s
      per[name][2] += r.steps
      run_s += r.run_s
    side.append(side_by_side(drive))
  figures: dict = {"replay_x": round(len(side) / sum(1 / x for x in side), 1), "cores": os.cpu_count(),
                   "replay_x_one_core": round(drive_s / run_s, 1)}
  for name, (d, run, n) in per.items():
    figures[f"replay_x_{name}"] = round(d / run, 1)
    figures[f"{name}_step_us"] = round(1e6 * run / n, 1)
  car_drive_s, car_run_s, cycles = car_code_run(drive)
  figures["car_code_step_us"] = round(1e6 * car_run_s / cycles, 1)
  figures["replay_x_card_ceiling"] = round(car_drive_s / car_run_s, 1)
  return figures


def _cpu_ticks(pid: int) -> tuple[int, int]:
  """(ticks of the encoder thread, ticks of every other thread) of a process."""
  video = other = 0
  for task in Path(f"/proc/{pid}/task").iterdir():
    try:
      comm = (task / "comm").read_bytes().strip()
      fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
      continue  # a thread that ended between the listing and the read
    ticks = int(fields[11]) + int(fields[12])   # utime, stime
    if comm == THREAD_NAME:
      video += ticks
    else:
      other += ticks
  return video, other


def _bytes(root: Path) -> int:
  return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def loggerd_cpu(seconds: float) -> dict:
  """Run the simulator's stack with loggerd for `seconds` of recording and measure loggerd's CPU."""
  with tempfile.TemporaryDirectory(prefix="lp-bench-replay-") as tmp:
    from tools.sim.cli import sim_env  # the simulator's environment (imports OpenCV, opendbc)
    env = {**sim_env(), "LP_PREFIX": f"bench-{uuid.uuid4().hex[:8]}", "LP_PARAMS_DIR": f"{tmp}/params",
           "LP_LOG_DIR": f"{tmp}/logs", loggerd_config.ROUTES_DIR_ENV: f"{tmp}/routes"}
    os.environ.update({k: env[k] for k in ("LP_PREFIX", "LP_PARAMS_DIR")})
    procs = [subprocess.Popen([sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim"], env=env)]
    if "loggerd" not in {p.name for p in PROCESSES}:
      procs.append(subprocess.Popen([sys.executable, "-m", "selfdrive.loggerd.loggerd"], env=env))
    try:
      sm = messaging.SubMaster(["roadCameraState", "managerState"])
      deadline = time.monotonic() + START_TIMEOUT_S
      while not sm.seen["roadCameraState"]:
        if time.monotonic() > deadline:
          raise RuntimeError(f"the simulator's stack did not come up in {START_TIMEOUT_S} s")
        sm.update(100)
      pid = procs[1].pid if len(procs) > 1 else next(p.pid for p in sm["managerState"].processes if p.name == "loggerd")
      hz = os.sysconf("SC_CLK_TCK")
      v0, o0 = _cpu_ticks(pid)
      b0, t0 = _bytes(Path(tmp, "routes")), time.monotonic()
      time.sleep(seconds)
      v1, o1 = _cpu_ticks(pid)
      b1, wall = _bytes(Path(tmp, "routes")), time.monotonic() - t0
      sm.close()
    finally:
      for p in procs:
        p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
      for p in procs:
        p.wait(30)
  return {"loggerd_cpu_pct": round(100 * (o1 - o0) / hz / wall, 1),
          "video_cpu_pct": round(100 * (v1 - v0) / hz / wall, 1),
          "recorded_mb_per_min": round((b1 - b0) / 1e6 / wall * 60, 1)}


def run(seconds: float = 20.0) -> dict:
  figures = {"seconds": seconds, "lockstep_step_us": round(lockstep_step_us(1), 1),
             "lockstep_batched_step_us": round(lockstep_step_us(BATCH_STEPS), 1)}
  figures.update(replay_speed(seconds / 2))
  figures.update(loggerd_cpu(seconds / 2))
  return figures


if __name__ == "__main__":
  print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)))
