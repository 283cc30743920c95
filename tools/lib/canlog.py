"""CAN log files: candump `-L` text logs and Vector BLF. python-can writes both and reads BLF; candump lines are
parsed here, strictly, so a bad line is reported with its number instead of being misread.

Every reader yields `(t_ns, CanFrame)` in file order. A candump channel name ends in its bus number (can0 → 0,
vcan1 → 1); a BLF channel is its bus number plus one (Vector counts from 1). Both formats keep 1 µs of time.
A bad line or a truncated file is a `CanLogError` naming the file and the line, unless the reader is told to
skip bad input, in which case it counts what it skipped and warns once at the end. Also here: reading comma2k19's
processed logs (numpy arrays), to turn real recordings into candump logs.
"""
import os
import re
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import can
import numpy as np
from can.io.blf import BLFParseError
from opendbc.can.dbc import DBC

from hardware.can.frame import CanFrame
from selfdrive.common.errors import UserError

CANDUMP_EXTS = (".log", ".candump", ".txt")
BLF_EXTS = (".blf",)
BLF_MAGIC = b"LOGG"
BLF_MIN_EPOCH_S = 631152000  # 1990: BLF stores its start as a date; python-can drops earlier ones as "not Unix time"
CANDUMP_EXAMPLE = "(1533188087.123456) can0 123#DEADBEEF"
MAX_CAN_ID = 0x1FFFFFFF
MAX_STD_ID = 0x7FF
MAX_DATA = 64  # CAN FD
FD_SIZES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)
TX_ECHO = 128  # a panda marks the frames it sent itself by adding 128 to the bus number
_CHANNEL_BUS = re.compile(r"(\d+)$")
_CANDUMP_LINE = re.compile(r"\((\d+)\.(\d{1,9})\)\s+(\S+)\s+([0-9A-Fa-f]{3}|[0-9A-Fa-f]{8})#(#[0-9A-Fa-f])?"
                           r"([0-9A-Fa-f]*|[Rr]\d*)(?:\s+[RTrt])?\s*$")
CAN_ERR_FLAG = 0x20000000  # in an 8-digit candump identifier: an error frame



class CanLogError(UserError):
  """A CAN log that cannot be read or written; the message names the file (and line) at fault."""


class CanLogWarning(UserWarning):
  """Bad input that a lenient reader skipped."""


def t_ns_from_seconds(ts: float) -> int:
  """Both formats keep microseconds; rounding there makes float seconds give back the exact integer."""
  return round(ts * 1e6) * 1000


def bus_from_channel(channel: str | int | None) -> int:
  if isinstance(channel, int):
    return channel
  m = _CHANNEL_BUS.search(channel or "")
  if m is None:
    raise ValueError(f"channel {channel!r} does not end in a bus number (expected e.g. can0, can1, vcan0)")
  return int(m.group(1))


def detect_format(path: Path) -> str:
  """'blf' or 'candump', from the file's first bytes, then its extension."""
  try:
    with open(path, "rb") as f:
      head = f.read(256)
  except OSError as e:
    raise CanLogError(f"{path}: cannot open: {e.strerror}") from None
  if head.startswith(BLF_MAGIC):
    return "blf"
  if path.suffix.lower() in BLF_EXTS:
    raise CanLogError(f"{path}: not a BLF file (it does not start with {BLF_MAGIC!r})")
  first = head.lstrip().split(b"\n", 1)[0]
  if path.suffix.lower() in CANDUMP_EXTS or first.startswith(b"("):
    return "candump"
  raise CanLogError(f"{path}: neither a candump -L log (lines like '{CANDUMP_EXAMPLE}') nor a BLF file")


def parse_candump_line(line: str) -> tuple[int, CanFrame] | None:
  """One `candump -L` line → (t_ns, frame); None for error and remote frames (no payload). ValueError says why.

  Strict where python-can's reader is lenient: that one reads '1533188087.1 can0 1#00' (no parentheses) as time
  533188087.1 and accepts odd hex, and it cannot say which line was bad or go on after one.
  """
  m = _CANDUMP_LINE.match(line)
  if m is None:
    raise ValueError("not a candump -L frame")
  secs, frac, channel, can_id, fd_flags, data = m.groups()
  address = int(can_id, 16)
  if data.startswith(("R", "r")) or (len(can_id) == 8 and address & CAN_ERR_FLAG):
    return None
  if len(data) % 2:
    raise ValueError("odd number of hex digits in the data")
  if len(data) > 2 * MAX_DATA:
    raise ValueError(f"{len(data) // 2} data bytes, more than CAN FD's {MAX_DATA}")
  if fd_flags is None and len(data) > 16:
    raise ValueError(f"{len(data) // 2} data bytes in a classic CAN frame (CAN FD frames are written ID##FDATA)")
  if len(data) // 2 not in FD_SIZES:
    raise ValueError(f"{len(data) // 2} data bytes is not a CAN FD frame size {FD_SIZES}")
  return int(secs) * 1_000_000_000 + int(frac.ljust(9, "0")), CanFrame(address & MAX_CAN_ID, bytes.fromhex(data),
                                                                        bus_from_channel(channel))


class CanLogReader:
  """Iterates `(t_ns, CanFrame)` over a candump or BLF file. skip_bad=True skips bad input, counted in `skipped`.

  Error frames and remote frames carry no payload for a parser: they are dropped and counted in `dropped`.
  """
  def __init__(self, path: str | os.PathLike, skip_bad: bool = False):
    self.path = Path(path)
    self.skip_bad = skip_bad
    self.format = detect_format(self.path)
    self.skipped = 0
    self.dropped = 0
    self.first_problem = ""

  def __iter__(self) -> Iterator[tuple[int, CanFrame]]:
    yield from (self._candump() if self.format == "candump" else self._blf())
    if self.skipped:
      what = ("line" if self.format == "candump" else "part") + ("s" if self.skipped > 1 else "")
      warnings.warn(CanLogWarning(f"{self.path}: skipped {self.skipped} bad {what} (first: {self.first_problem})"),
                    stacklevel=2)

  def _bad(self, where: str, why: str) -> None:
    if not self.skip_bad:
      raise CanLogError(f"{self.path}, {where}: {why}")
    self.skipped += 1
    self.first_problem = self.first_problem or f"{where}: {why}"

  def _blf_frame(self, msg: can.Message) -> CanFrame | None:
    if msg.is_error_frame or msg.is_remote_frame:
      self.dropped += 1
      return None
    return CanFrame(msg.arbitration_id, bytes(msg.data), bus_from_channel(msg.channel))

  def _candump(self) -> Iterator[tuple[int, CanFrame]]:
    with open(self.path, encoding="ascii", errors="replace") as f:
      for lineno, line in enumerate(f, 1):
        if not line.strip():
          continue
        try:
          parsed = parse_candump_line(line)
        except ValueError as e:
          cut = "" if line.endswith("\n") else " (the last line has no newline: the file looks cut off)"
          self._bad(f"line {lineno}", f"{e}: {line.rstrip()[:120]!r}; expected e.g. '{CANDUMP_EXAMPLE}'{cut}")
          continue
        if parsed is None:
          self.dropped += 1
        else:
          yield parsed

  def _blf(self) -> Iterator[tuple[int, CanFrame]]:
    size = self.path.stat().st_size
    count = 0
    try:
      with can.BLFReader(str(self.path)) as reader:
        if reader.file_size != size:
          self._bad("header", f"the header says {reader.file_size} bytes but the file has {size}: it is truncated "
                              "or was not closed by its writer")
        for msg in reader:
          count += 1
          frame = self._blf_frame(msg)
          if frame is not None:
            yield t_ns_from_seconds(msg.timestamp), frame
    except (struct.error, BLFParseError) as e:
      self._bad(f"after object {count}", f"corrupt or truncated BLF data ({e or type(e).__name__})")


def read_can_log(path: str | os.PathLike, skip_bad: bool = False) -> Iterator[tuple[int, CanFrame]]:
  """Frames of a candump -L (.log) or BLF (.blf) file, format told by content then extension."""
  return iter(CanLogReader(path, skip_bad))


def _message(t_ns: int, frame: CanFrame, channel: str | int) -> can.Message:
  if not 0 <= frame.address <= MAX_CAN_ID:
    raise CanLogError(f"address {frame.address:#x} is not a CAN identifier (0 to {MAX_CAN_ID:#x})")
  if len(frame.data) not in FD_SIZES:
    raise CanLogError(f"frame {frame.address:#x} has {len(frame.data)} data bytes; CAN FD sizes are {FD_SIZES}")
  return can.Message(timestamp=t_ns / 1e9, arbitration_id=frame.address, is_extended_id=frame.address > MAX_STD_ID,
                     data=frame.data, dlc=len(frame.data), is_fd=len(frame.data) > 8, channel=channel)


def write_can_log(path: str | os.PathLike, frames: Iterable[tuple[int, CanFrame]]) -> int:
  """Writes `(t_ns, CanFrame)` in time order as BLF (.blf) or candump -L (any other name); returns the count.

  Addresses above 0x7FF are written as extended identifiers. Times keep 1 µs. BLF holds wall-clock (Unix) times
  only: frames stamped by a monotonic clock are refused rather than silently shifted.
  """
  path = Path(path)
  blf = path.suffix.lower() in BLF_EXTS
  writer = can.BLFWriter(str(path)) if blf else can.CanutilsLogWriter(str(path))
  n, last = 0, None
  try:
    with writer:
      for t_ns, frame in frames:
        if last is not None and t_ns < last:
          raise CanLogError(f"frame {n} at {t_ns} ns comes before the previous one at {last} ns: sort by time first")
        if blf and last is None and t_ns < BLF_MIN_EPOCH_S * 1e9:
          raise CanLogError(f"BLF stores wall-clock times, but the first frame is at {t_ns / 1e9:.3f} s (a monotonic "
                            "clock?): write a candump .log instead, or add a Unix epoch offset")
        writer.on_message_received(_message(t_ns, frame, frame.bus if blf else f"can{frame.bus}"))
        n, last = n + 1, t_ns
  except CanLogError as e:
    path.unlink(missing_ok=True)
    raise CanLogError(f"{path}: {e}; nothing written") from None
  return n


# **** comma2k19 processed logs ****

def _dbc_sizes(name: str) -> dict[int, int]:
  try:
    return {a: m.size for a, m in DBC(name).addr_to_msg.items()}
  except FileNotFoundError:
    raise CanLogError(f"DBC {name!r} is neither an opendbc DBC name nor a file") from None


def read_processed_log(log_dir: str | os.PathLike, dbc_by_bus: Mapping[int, str],
                       include_tx: bool = True) -> Iterator[tuple[int, CanFrame]]:
  """Frames of a comma2k19 `processed_log` (numpy arrays raw_can/{t,address,src,data}), in time order.

  numpy's S8 drops trailing zero bytes, so each payload is padded back to its length in the DBC named for its
  bus (an opendbc DBC name or a path), else to the longest payload seen for that address and bus. Buses 128+
  are the panda's echoes of what openpilot sent; they were on the wire of bus src-128 (openpilot stood in for
  the camera and DSU), so include_tx keeps them there, as a candump of that bus would show them.
  """
  raw = Path(log_dir)
  raw = next((p for p in (raw / "processed_log" / "CAN" / "raw_can", raw / "CAN" / "raw_can", raw)
              if (p / "address").exists()), None)
  if raw is None:
    raise CanLogError(f"{log_dir}: no processed_log/CAN/raw_can/{{t,address,src,data}} arrays found")
  arrays = {}
  for name in ("t", "address", "src", "data"):
    try:
      arrays[name] = np.load(raw / name, allow_pickle=False)
    except (OSError, ValueError) as e:
      raise CanLogError(f"{raw / name}: not a numpy array: {e}") from None
  t, address, src, data = arrays["t"], arrays["address"], arrays["src"], arrays["data"]
  if not len(t) == len(address) == len(src) == len(data):
    raise CanLogError(f"{raw}: t, address, src and data have different lengths")
  bus = np.where(src >= TX_ECHO, src - TX_ECHO, src)
  keep = np.ones(len(t), bool) if include_tx else src < TX_ECHO
  sizes = {b: _dbc_sizes(name) for b, name in dbc_by_bus.items()}
  longest: dict[tuple[int, int], int] = {}
  for a, b, d in zip(address[keep].tolist(), bus[keep].tolist(), data[keep].tolist(), strict=True):
    longest[(a, b)] = max(longest.get((a, b), 0), len(d))
  order = np.argsort(t, kind="stable")
  for i in order[keep[order]].tolist():
    a, b = int(address[i]), int(bus[i])
    d = bytes(data[i])
    n = sizes.get(b, {}).get(a, longest[(a, b)])
    yield t_ns_from_seconds(float(t[i])), CanFrame(a, d.ljust(n, b"\x00"), b)
