"""The committed reference drive and each process's reference outputs, and the check of one against the other."""
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cereal.services import SERVICES
from selfdrive.controls.lib.limits import BESIDE_MIN_SPEED
from selfdrive.loggerd.logwriter import LogWriter
from tools.lib.logreader import LogMessage, LogReader
from tools.replay.compare import Diff, compare, format_diffs
from tools.replay.process_replay import ReplayConfig, replay
from tools.sim.report import NEW_LEAD_JUMP_M

HERE = Path(__file__).parent
DRIVE = HERE / "drives" / "sim.rlog.zst"
FLUSH_EVERY = 500   # messages per zstd frame in a reference
# the drive must steer, so that a broken torque controller or steering CAN encoding shows in the references
STEER_CURVATURE = 1e-3    # 1/m: engaged commanded curvature counted as steering (a 1 km radius)
STEER_MIN_S = 3.0         # ... for at least this long in all
STEER_MIN_TORQUE = 0.3    # and a commanded torque at least this large (normalized)
# ... and a car must wait close ahead in the next lane, then cut in, so that radard's beside and its new lead, and
# plannerd's hold and braking for them, are in the references too
BESIDE_MIN_S = 1.0        # s engaged above BESIDE_MIN_SPEED with radarState.beside set, in all
CUT_IN_NEAR_M = 15.0      # radard's lead NEW_LEAD_JUMP_M closer than the scan before, within this of us: a cut-in


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


class CutIn(NamedTuple):
  t_ns: int       # the radarState that first had the car as its lead
  gap_m: float


@dataclass(frozen=True)
class Traffic:
  """What the engaged stack meets in a drive, as radard saw it (radarState at 20 Hz)."""
  beside_s: float              # s with a car beside (radarState.beside) above BESIDE_MIN_SPEED
  cut_ins: tuple[CutIn, ...]   # each car that came in between us and radard's lead within CUT_IN_NEAR_M

  @property
  def ok(self) -> bool:
    return self.beside_s >= BESIDE_MIN_S and len(self.cut_ins) > 0

  @property
  def report(self) -> str:
    return (f"traffic: a car beside for {self.beside_s:.1f} s above {BESIDE_MIN_SPEED} m/s (wanted {BESIDE_MIN_S}), "
            f"cut-ins at {', '.join(f'{c.gap_m:.1f}' for c in self.cut_ins) or 'none'} m (wanted one within "
            f"{CUT_IN_NEAR_M} m)")


def traffic(drive: list[LogMessage]) -> Traffic:
  enabled, v_ego, prev_lead, beside, cut_ins = False, 0.0, None, 0, []
  for m in drive:
    if m.which == "selfdriveState":
      enabled = m.event.selfdriveState.enabled
    elif m.which == "carState":
      v_ego = m.event.carState.vEgo
    elif m.which == "radarState":
      rs = m.event.radarState
      lead = rs.leadOne.dRel if rs.leadOne.status else None
      if enabled:
        beside += rs.beside.status and v_ego > BESIDE_MIN_SPEED
        if lead is not None and lead < CUT_IN_NEAR_M and (prev_lead is None or lead < prev_lead - NEW_LEAD_JUMP_M):
          cut_ins.append(CutIn(m.logMonoTime, lead))
      prev_lead = lead
  return Traffic(beside / SERVICES["radarState"].frequency, tuple(cut_ins))


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
