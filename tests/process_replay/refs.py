"""The committed reference drive and each process's reference outputs, and the check of one against the other."""
from dataclasses import dataclass
from pathlib import Path

from cereal.services import SERVICES
from selfdrive.loggerd.logwriter import LogWriter
from tools.lib.logreader import LogMessage, LogReader
from tools.replay.compare import Diff, compare, format_diffs
from tools.replay.process_replay import ReplayConfig, replay

HERE = Path(__file__).parent
DRIVE = HERE / "drives" / "sim.rlog.zst"
FLUSH_EVERY = 500   # messages per zstd frame in a reference
# the drive must steer, so that a broken torque controller or steering CAN encoding shows in the references
STEER_CURVATURE = 1e-3    # 1/m: engaged commanded curvature counted as steering (a 1 km radius)
STEER_MIN_S = 3.0         # ... for at least this long in all
STEER_MIN_TORQUE = 0.3    # and a commanded torque at least this large (normalized)


def ref_path(name: str) -> Path:
  return HERE / "refs" / f"{name}.rlog.zst"


def load(path: Path) -> list[LogMessage]:
  return list(LogReader(path).messages())


def write_ref(name: str, outputs: list[LogMessage]) -> Path:
  path = ref_path(name)
  path.unlink(missing_ok=True)
  w = LogWriter(path)
  for i, m in enumerate(outputs):
    w.write(m.data)
    if i % FLUSH_EVERY == FLUSH_EVERY - 1:
      w.flush()
  w.close()
  return path


@dataclass(frozen=True)
class Steering:
  """How much the engaged stack steers in a drive (carControl while latActive, at 100 Hz)."""
  max_curvature: float    # max |actuators.curvature|, 1/m
  curving_s: float        # seconds of |actuators.curvature| > STEER_CURVATURE
  max_torque: float       # max |actuators.torque|

  @property
  def ok(self) -> bool:
    return self.curving_s >= STEER_MIN_S and self.max_torque >= STEER_MIN_TORQUE

  @property
  def report(self) -> str:
    return (f"steering: max |curvature| {self.max_curvature:.4f} 1/m, {self.curving_s:.1f} s over {STEER_CURVATURE} "
            f"1/m (wanted {STEER_MIN_S}), max |torque| {self.max_torque:.2f} (wanted {STEER_MIN_TORQUE})")


def steering(drive: list[LogMessage]) -> Steering:
  cc = [m.event.carControl for m in drive if m.which == "carControl" and m.event.carControl.latActive]
  curvature = [abs(c.actuators.curvature) for c in cc]
  dt = 1.0 / SERVICES["carControl"].frequency
  return Steering(max(curvature, default=0.0), dt * sum(k > STEER_CURVATURE for k in curvature),
                  max((abs(c.actuators.torque) for c in cc), default=0.0))


@dataclass(frozen=True)
class Result:
  name: str
  diffs: list[Diff]
  report: str
  outputs: list[LogMessage]


def check(cfg: ReplayConfig, drive: list[LogMessage]) -> Result:
  """Replay `cfg` over the drive and compare with its reference."""
  path = ref_path(cfg.name)
  if not path.exists():
    raise FileNotFoundError(f"{path} missing: run python -m tests.process_replay --update-refs --process {cfg.name}")
  outputs = replay(cfg, drive).outputs
  ref = load(path)
  diffs = compare(ref, outputs, cfg.tolerance, drive[0].logMonoTime, cfg.ignore)
  return Result(cfg.name, diffs, format_diffs(cfg.name, diffs, len(ref)), outputs)
