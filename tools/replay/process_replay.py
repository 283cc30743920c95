"""Process replay: one process, alone, in lock-step over recorded inputs; its outputs are a pure function of them.

Each process is one entry of CONFIGS: which inputs it takes, which of them drives a step (every message of that
service is one step, carrying the other inputs recorded since the step before), what it outputs, and how closely
its outputs must match the reference (tests/process_replay/); fields that measure the wall clock (a solver's time)
are not compared. The process runs unchanged as a child with $LP_LOCKSTEP set: its SubMaster.update() returns a
step's inputs at the step's recorded time, PubMaster.send() hands the outputs back (cereal/messaging/lockstep.py).
A process that reads the road camera (modeld) gets each step's frame through a real VisionIPC server: on a simulator
drive the frames are rendered again from its simState, exactly as camerad rendered them.
"""
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from cereal.arrays import MODEL_V2_SHAPES
from cereal.messaging import log_from_bytes
from cereal.messaging.lockstep import LOCKSTEP_ENV, LockstepError, LockstepHarness
from cereal.services import SERVICES
from cereal.visionipc import PixelFormat, VisionIpcServer, VisionStreamType
from selfdrive.camerad.camerad import NUM_BUFFERS, VIPC_NAME
from selfdrive.car.card import PLATFORM_ENV
from selfdrive.common.errors import UserError
from selfdrive.common.params import PARAMS_DIR_ENV
from selfdrive.controls import controlsd, plannerd, radard
from selfdrive.locationd import calibrationd, paramsd
from selfdrive.modeld import modeld
from selfdrive.selfdrived import selfdrived
from tools.lib.logreader import LogMessage
from tools.sim.camera import rgb_to_nv12
from tools.sim.constants import SIM_PLATFORM

STEP_TIMEOUT_S = 20.0     # the first step includes the process's start-up (imports, modeld's runner)
FRAME_SOURCE = "simState"  # what the frames of a simulator drive are rendered from
MODEL_TOLERANCE = 1e-3    # modelV2's arrays (m, m/s, ...): the runner's kernels are searched on each machine (BEAM)
VANISHING_POINT_TOLERANCE = 1e-3   # px and rad: OpenCV's edge and line search, in float arithmetic
# m/s, m/s^2, m/s^3: the MPC's Newton iterations in numpy are not bit-exact from one CPU to another (the plan's
# ~1e-8 m/s^2 "zeros" came out different in their last digits on two machines; numpy's reductions can sum in another
# order where the SIMD width differs)
PLAN_TOLERANCE = 1e-6
BATCH_STEPS = 100         # steps sent in one lock-step exchange: a round trip each costs ~170 us
CONNECT_POLL_MS = 100
EXIT_TIMEOUT_S = 10.0
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ReplayConfig:
  name: str
  module: str                                   # run as `python -m module`
  inputs: tuple[str, ...]
  outputs: tuple[str, ...]
  step_on: str                                  # one step per message of this input
  tolerance: dict[str, float] = field(default_factory=dict)  # "service.field.path" → allowed |ref - new|
  ignore: frozenset[str] = frozenset()          # "service.field.path" not compared: wall-clock measurements
  env: dict[str, str] = field(default_factory=dict)          # for the reference drives (the simulator's car)
  frames: bool = False                          # steps on road-camera frames (through VisionIPC), one a step

  def __post_init__(self):
    for s in (*self.inputs, *self.outputs):
      if s not in SERVICES:
        raise ValueError(f"{self.name}: unknown service {s!r}")
    if self.step_on not in self.inputs:
      raise ValueError(f"{self.name}: steps on {self.step_on!r}, which is not among its inputs")
    for key in (*self.tolerance, *self.ignore):
      if key.split(".")[0] not in self.outputs:
        raise ValueError(f"{self.name}: {key!r} is not a field of its outputs")

  @property
  def takes_car(self) -> bool:
    """The process is told which car it drives ($LP_CAR_PLATFORM): card; the others learn it from carParams."""
    return PLATFORM_ENV in self.env


CONFIGS: dict[str, ReplayConfig] = {c.name: c for c in (
  ReplayConfig("card", "selfdrive.car.card", inputs=("can", "carControl"),
               outputs=("carState", "carParams", "sendcan", "carOutput", "liveTracks"), step_on="can",
               env={PLATFORM_ENV: SIM_PLATFORM}),
  ReplayConfig("radard", "selfdrive.controls.radard", inputs=tuple(radard.INPUTS), outputs=("radarState",),
               step_on="liveTracks"),
  ReplayConfig("plannerd", "selfdrive.controls.plannerd", inputs=tuple(plannerd.INPUTS),
               outputs=("longitudinalPlan", "lateralPlan"), step_on="modelV2",
               tolerance={f"longitudinalPlan.{k}": PLAN_TOLERANCE for k in ("speeds", "accels", "jerks", "aTarget")},
               ignore=frozenset({"longitudinalPlan.solverExecutionTime", "lateralPlan.solverExecutionTime"})),
  ReplayConfig("controlsd", "selfdrive.controls.controlsd", inputs=tuple(controlsd.INPUTS),
               outputs=("carControl", "controlsState"), step_on="carState"),
  ReplayConfig("calibrationd", "selfdrive.locationd.calibrationd", inputs=tuple(calibrationd.INPUTS),
               outputs=("liveCalibration",), step_on="modelV2"),
  ReplayConfig("paramsd", "selfdrive.locationd.paramsd", inputs=tuple(paramsd.INPUTS), outputs=("liveParameters",),
               step_on="carState"),
  ReplayConfig("modeld", "selfdrive.modeld.modeld", inputs=tuple(modeld.INPUTS),
               outputs=tuple(modeld.OUTPUTS), step_on="roadCameraState", frames=True,
               tolerance={**{f"modelV2.{k}": MODEL_TOLERANCE for k in MODEL_V2_SHAPES},
                          "modelV2.action.desiredCurvature": 1e-6, "modelV2.action.desiredAcceleration": 1e-4,
                          **{f"vanishingPoint.{k}": VANISHING_POINT_TOLERANCE for k in ("u", "v", "pitch", "yaw")}},
               ignore=frozenset({"modelV2.modelExecutionTime"})),
  ReplayConfig("selfdrived", "selfdrive.selfdrived.selfdrived", inputs=tuple(selfdrived.INPUTS),
               outputs=("selfdriveState", "onroadEvents"), step_on="carState"),
)}


def steps(cfg: ReplayConfig, msgs: Iterable[LogMessage]) -> list[tuple[int, list[bytes]]]:
  """(time, inputs) of each step: the other inputs since the previous step, then the step's own message."""
  out, pending = [], []
  for m in sorted((m for m in msgs if m.which in cfg.inputs), key=lambda m: m.logMonoTime):
    pending.append(m.data)
    if m.which == cfg.step_on:
      out.append((m.logMonoTime, pending))
      pending = []
  if not out:
    raise UserError(f"{cfg.name}: the log has no {cfg.step_on} messages to step on")
  return out


class SimFrames:
  """The road camera's frames of a simulator drive, rendered again from its simState as camerad rendered them, and
  written into a VisionIPC server of camerad's name (under this replay's prefix) one step at a time."""

  def __init__(self, msgs: list[LogMessage]):
    self.states = {m.event.simState.frameId: m.event.simState for m in msgs if m.which == FRAME_SOURCE}
    if not self.states:
      raise UserError(f"the log has no {FRAME_SOURCE}: camera frames can be replayed only from simulator drives")
    from tools.sim.scene import Scene  # only frame replay needs the simulator's world
    first = next(iter(self.states.values()))
    self.scene = Scene(first.seed, first.width, first.height)
    self.server = VisionIpcServer(VIPC_NAME)
    self.server.create_buffers(VisionStreamType.ROAD, NUM_BUFFERS, first.width, first.height, PixelFormat.NV12)
    self.server.start_listener()

  def send(self, camera_state: bytes) -> bytes:
    """Write the frame a roadCameraState message describes; its VisionIPC notification."""
    cs = log_from_bytes(camera_state).roadCameraState
    st = self.states.get(cs.frameId)
    if st is None:
      raise LockstepError(f"the drive has no simState for camera frame {cs.frameId}")
    return self.server.send(VisionStreamType.ROAD, rgb_to_nv12(self.scene.render(st)), cs.frameId,
                            cs.timestampSof, cs.timestampEof)

  def close(self) -> None:
    self.server.close()

  def __enter__(self) -> "SimFrames":
    return self

  def __exit__(self, *exc) -> None:
    self.close()


def _first_step(harness: LockstepHarness, proc: subprocess.Popen, t: int, inputs: list[bytes],
                frame: bytes | None) -> list[bytes]:
  """The first step, once the process has connected; a process that dies first fails at once."""
  deadline = time.monotonic() + STEP_TIMEOUT_S
  while True:
    try:
      return harness.step(t, inputs, frame)
    except zmq.Again:  # not connected yet: nothing was sent
      if proc.poll() is not None:
        raise LockstepError(f"it exited with {proc.returncode} before its first step") from None
      if time.monotonic() > deadline:
        raise LockstepError(f"it did not connect within {STEP_TIMEOUT_S} s") from None


def _message(data: bytes) -> LogMessage:
  ev = log_from_bytes(data)
  return LogMessage(ev.which(), ev.logMonoTime, data, ev)


@dataclass(frozen=True)
class ReplayResult:
  outputs: list[LogMessage]
  steps: int
  drive_s: float       # recorded time the steps span
  startup_s: float     # until the process answered its first step (imports, set-up)
  run_s: float         # the other steps

  @property
  def realtime_x(self) -> float:
    return self.drive_s / self.run_s if self.run_s > 0 else float("inf")


def replay(cfg: ReplayConfig, msgs: Iterable[LogMessage], env: dict[str, str] | None = None,
           together: threading.Barrier | None = None) -> ReplayResult:
  """Run the process over the recorded inputs. LockstepError says where and how it failed.

  together: replays run side by side (one thread each) meet there once each process has answered its first step,
  so that their steps run at the same time and not beside another's start-up (the bench's replay on all cores)."""
  msgs = list(msgs)
  plan = steps(cfg, msgs)
  # the frame server goes whatever happens: it holds shared memory under the prefix
  with SimFrames(msgs) if cfg.frames else contextlib.nullcontext() as frames:
    batch = 1 if frames is not None else BATCH_STEPS
    link = f"lockstep-{cfg.name}-{uuid.uuid4().hex[:8]}"
    harness = LockstepHarness(link, STEP_TIMEOUT_S)
    harness.sock.setsockopt(zmq.SNDTIMEO, CONNECT_POLL_MS)  # a PAIR send waits for its peer to connect
    with tempfile.TemporaryDirectory(prefix=f"lp-replay-{cfg.name}-") as tmp:
      child_env = {**os.environ, **cfg.env, **(env or {}), LOCKSTEP_ENV: link,
                   PARAMS_DIR_ENV: str(Path(tmp) / "params"),
                   "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
      log = Path(tmp) / "process.log"
      with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", cfg.module], env=child_env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
      harness.watch(proc)
      published: list[bytes] = []
      step = 0
      t_start = time.perf_counter()
      try:
        # a step's own message (the one it steps on) comes last: for a frame process, the frame's roadCameraState
        published += _first_step(harness, proc, *plan[0], frames.send(plan[0][1][-1]) if frames else None)
        if together is not None:
          together.wait(STEP_TIMEOUT_S)
        t_first = time.perf_counter()
        for step in range(1, len(plan), batch):
          if frames is not None:   # one frame a step
            t, inputs = plan[step]
            published += harness.step(t, inputs, frames.send(inputs[-1]))
          else:
            published += harness.run(plan[step:step + batch])
        step = len(plan)
        t_end = time.perf_counter()
        published += harness.finish()
        if proc.wait(EXIT_TIMEOUT_S) != 0:
          raise LockstepError(f"exited with {proc.returncode}")
      except (LockstepError, subprocess.TimeoutExpired, zmq.Again, threading.BrokenBarrierError) as e:
        proc.kill()
        proc.wait()
        if together is not None:
          together.abort()   # the replays beside it stop waiting
        why = "it stopped taking steps" if isinstance(e, zmq.Again) else \
          "a replay beside it failed to start" if isinstance(e, threading.BrokenBarrierError) else e
        tail = log.read_text(errors="replace")[-2000:]
        where = f"step {step}" if batch == 1 or step in (0, len(plan)) else \
          f"steps {step}..{min(step + batch, len(plan)) - 1}"
        raise LockstepError(f"{cfg.name} failed at {where} of {len(plan)}: {why}\n--- its output:\n{tail}") from None
      finally:
        harness.close()
        if proc.poll() is None:  # interrupted: the process goes with us
          proc.kill()
          proc.wait()
  outputs = [_message(d) for d in published]
  stray = [o.which for o in outputs if o.which not in cfg.outputs]
  if stray:
    raise LockstepError(f"{cfg.name} published {sorted(set(stray))}, not among its declared outputs {cfg.outputs}")
  return ReplayResult(outputs, len(plan), (plan[-1][0] - plan[0][0]) * 1e-9, t_first - t_start, t_end - t_first)
