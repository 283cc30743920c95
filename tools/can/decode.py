"""A recorded CAN log → carState every 10 ms, exactly as card's adapter sees it: to check a port against a drive,
or to get speeds and pedals out of a log without the rest of the stack."""
import csv
import os
import sys
import warnings
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from tqdm import tqdm

from hardware.can.frame import CanFrame
from selfdrive.car import CYCLE_NS, CarState, cycles, fingerprinting
from selfdrive.car.adapter import CarAdapter, MissingMessage, opendbc_log_level
from selfdrive.car.fingerprinting import CarMatch, UnrecognizedCar
from selfdrive.common.errors import UserError
from tools.lib.canlog import CanLogReader, CanLogWarning


class DecodeError(UserError):
  pass


@dataclass(frozen=True, slots=True)
class DecodedRow:
  """One cycle of carState; names as in carState so the CSV reads like openpilot's."""
  t: float  # end of the cycle, seconds on the log's clock
  vEgo: float
  aEgo: float
  steeringAngleDeg: float
  steeringTorque: float
  wheelSpeedFL: float  # m/s, carState.wheelSpeeds
  wheelSpeedFR: float
  wheelSpeedRL: float
  wheelSpeedRR: float
  gasPressed: bool
  brakePressed: bool
  cruiseEnabled: bool
  canValid: bool


COLUMNS = tuple(f.name for f in fields(DecodedRow))


@dataclass(frozen=True)
class Decoded:
  path: Path
  platform: str
  match: CarMatch | UnrecognizedCar  # how the platform was chosen; UnrecognizedCar: a guess among look-alikes
  frames: int
  rows: list[DecodedRow]
  missing: list[MissingMessage]
  unrecorded: list[MissingMessage]  # read on a bus the log never recorded: not held against canValid
  skipped: int

  @property
  def seconds(self) -> float:
    return len(self.rows) * CYCLE_NS / 1e9

  @property
  def can_valid_share(self) -> float:
    return sum(r.canValid for r in self.rows) / max(len(self.rows), 1)


def row(t_ns: int, cs: CarState) -> DecodedRow:
  ws = cs.wheelSpeeds
  return DecodedRow(t_ns / 1e9, cs.vEgo, cs.aEgo, cs.steeringAngleDeg, cs.steeringTorque, ws.fl, ws.fr, ws.rl, ws.rr,
                    cs.gasPressed, cs.brakePressed, cs.cruiseState.enabled, cs.canValid)


def choose_platform(frames: list[tuple[int, CanFrame]], car: str | None, path: Path) -> CarMatch | UnrecognizedCar:
  """The given platform, else the fingerprinted one, else the first of look-alikes (the log cannot tell them apart)."""
  if car is not None:
    return CarMatch(fingerprinting.check_platform(car), "override", fingerprinting.collect_fingerprint(frames))
  match = fingerprinting.fingerprint(frames)
  if isinstance(match, UnrecognizedCar) and not match.same_layout:
    raise DecodeError(f"{path}: cannot tell which car this is: {match.reason}. Name it with --car PLATFORM "
                      f"({fingerprinting.PLATFORMS_HINT})")
  return match


def decode_frames(frames: list[tuple[int, CanFrame]], adapter: CarAdapter, progress: bool = False) -> list[DecodedRow]:
  total = (frames[-1][0] - frames[0][0]) // CYCLE_NS + 1 if frames else 0
  with opendbc_log_level():
    return [row(end, adapter.update(batch, end))
            for end, batch in tqdm(cycles(frames), total=total, unit="cycle", disable=not progress, leave=False)]


def decode_log(path: str | os.PathLike, car: str | None = None, skip_bad: bool = False,
               progress: bool = False, all_buses: bool = False) -> Decoded:
  """all_buses: hold canValid false for messages on buses the log never recorded too (the live car's rule)."""
  path = Path(path)
  reader = CanLogReader(path, skip_bad)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", CanLogWarning)  # counted in Decoded.skipped instead
    frames = list(reader)
  if not frames:
    raise DecodeError(f"{path}: no CAN frames in it")
  match = choose_platform(frames, car, path)
  platform = match.platform if isinstance(match, CarMatch) else match.candidates[0]
  adapter = CarAdapter(platform, match.fingerprint)
  recorded = {f.bus for _, f in frames}
  unrecorded = [] if all_buses else [m for bus in sorted(adapter.buses_read() - recorded)
                                     for m in adapter.stop_checking_bus(bus)]
  rows = decode_frames(frames, adapter, progress)
  return Decoded(path, platform, match, len(frames), rows, adapter.missing_messages(), unrecorded, reader.skipped)


def write_csv(rows: list[DecodedRow], path: str | os.PathLike) -> None:
  try:
    with open(path, "w", newline="") as f:
      w = csv.writer(f)
      w.writerow(COLUMNS)
      for r in rows:
        t, *floats, gas, brake, cruise, valid = astuple(r)
        w.writerow([f"{t:.6f}", *(f"{v:.4f}" for v in floats), int(gas), int(brake), int(cruise), int(valid)])
  except OSError as e:
    raise DecodeError(f"{path}: cannot write: {e.strerror}") from None


def summary(d: Decoded) -> str:
  if isinstance(d.match, CarMatch):
    how = {"override": "given with --car", "fingerprint": "opendbc CAN fingerprint", "layout": "only platform whose "
           "CAN layout fits"}[d.match.source]
  else:
    others = ", ".join(p for p in d.match.candidates if p != d.platform)
    how = f"a guess: {others} read the same messages and fit as well; pass --car to choose"
  lines = [f"platform   {d.platform} ({how})",
           f"frames     {d.frames}" + (f" ({d.skipped} bad lines skipped)" if d.skipped else ""),
           f"rows       {len(d.rows)} cycles of 10 ms = {d.seconds:.1f} s",
           f"canValid   {100 * d.can_valid_share:.1f}% of rows"]
  if d.unrecorded:
    buses = sorted({m.bus for m in d.unrecorded})
    lines.append(f"not in log bus {', '.join(map(str, buses))}: "
                 + ", ".join(f"{m.name} ({m.address:#x}) on bus {m.bus}" for m in d.unrecorded)
                 + " not checked (--all-buses holds canValid to them too)")
  if d.missing:
    lines.append("never seen " + ", ".join(f"{m.name} ({m.address:#x}) on bus {m.bus}" for m in d.missing)
                 + ": opendbc marks CAN invalid while a message it reads is missing")
  return "\n".join(lines)


def progress_wanted() -> bool:
  return sys.stderr.isatty()
