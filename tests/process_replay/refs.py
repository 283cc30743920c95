"""The committed reference drive and each process's reference outputs, and the check of one against the other."""
from dataclasses import dataclass
from pathlib import Path

from selfdrive.loggerd.logwriter import LogWriter
from tools.lib.logreader import LogMessage, LogReader
from tools.replay.compare import Diff, compare, format_diffs
from tools.replay.process_replay import ReplayConfig, replay

HERE = Path(__file__).parent
DRIVE = HERE / "drives" / "sim.rlog.zst"
FLUSH_EVERY = 500   # messages per zstd frame in a reference


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
  diffs = compare(ref, outputs, cfg.tolerance, drive[0].logMonoTime)
  return Result(cfg.name, diffs, format_diffs(cfg.name, diffs, len(ref)), outputs)
