"""LogReader: the capnp Events of a log file, a segment, a range of segments or a whole route, rlog or qlog.

    for ev in LogReader("000000a3--2026-11-22--05-12-33/2:4/q"):
      if ev.which() == "carState": print(ev.logMonoTime, ev.carState.vEgo)

A log is zstd-compressed concatenated capnp Events (a plain concatenation reads too). A file cut short (a power
cut) or damaged is read up to the damage, and on from the next intact zstd frame, with a LogWarning that says
where and what was lost; the reader never raises on a bad file. `problems` keeps what the warnings said.
A message of a retired service comes out as today's (tools/lib/migration.py): old logs read like new ones.
"""
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import capnp
import zstandard as zstd

from cereal import log
from cereal.messaging.sockets import NO_TRAVERSAL_LIMIT, log_from_bytes
from cereal.services import RETIRED
from selfdrive.common.errors import UserError
from tools.lib.migration import upgraded
from tools.lib.route import resolve

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
FRAME_HEADER_MAX = 18  # bytes
FIRST_READ = 1 << 16   # bytes enough for a segment's first message (initData)
MAX_SEGMENTS = 512   # capnp framing: more segments in one message is damage, not data
_U32 = struct.Struct("<I")


class LogWarning(UserWarning):
  """A log file cut short or damaged: everything readable was read."""


@dataclass(frozen=True)
class LogMessage:
  """One message with the bytes it was recorded as (what replay republishes)."""
  which: str
  logMonoTime: int
  data: bytes
  event: "log.Event"


def _frames(data: bytes, problems: list[str]) -> Iterator[tuple[bytes, bool]]:
  """The content of each zstd frame, and whether a checksum vouched for it. A damaged frame is skipped to the next
  frame's start, a cut one kept up to the cut."""
  view, pos, dctx = memoryview(data), 0, zstd.ZstdDecompressor()
  if not data.startswith(ZSTD_MAGIC):
    yield data, False  # not compressed: a plain concatenation of Events
    return
  while pos < len(data):
    obj = dctx.decompressobj()
    try:
      out = obj.decompress(view[pos:])
    except zstd.ZstdError as e:
      nxt = data.find(ZSTD_MAGIC, pos + 1)
      lost = (nxt if nxt >= 0 else len(data)) - pos
      problems.append(f"damaged zstd data at byte {pos} ({e}): " + (f"{lost} bytes skipped, read on from byte {nxt}"
                      if nxt >= 0 else f"the remaining {lost} bytes are lost"))
      if nxt < 0:
        return
      pos = nxt
      continue
    if not obj.eof:
      yield out, False
      problems.append(f"cut off at byte {len(data)} (a power cut, or a copy in progress?): read up to the cut")
      return
    yield out, zstd.get_frame_parameters(view[pos:pos + FRAME_HEADER_MAX]).has_checksum
    pos = len(data) - len(obj.unused_data)


def _split(data: bytes, problems: list[str]) -> list[tuple[int, int]]:
  """Byte ranges of the whole capnp messages at the start of `data`, up to a cut or damaged one."""
  spans, pos, n = [], 0, len(data)
  while pos < n:
    if pos + 8 > n:
      problems.append(f"a message cut off at byte {pos} of a block: the rest of the block is lost")
      break
    count = _U32.unpack_from(data, pos)[0] + 1
    header = (4 + 4 * count + 7) & ~7
    if count > MAX_SEGMENTS or pos + header > n:
      problems.append(f"damaged message framing at byte {pos} of a block: the rest of the block is lost")
      break
    end = pos + header + 8 * sum(struct.unpack_from(f"<{count}I", data, pos + 4))
    if end > n:
      problems.append(f"a message cut off at byte {pos} of a block: the rest of the block is lost")
      break
    spans.append((pos, end))
    pos = end
  return spans


def read_messages(path: Path, problems: list[str]) -> Iterator[LogMessage]:
  """Every readable message of one file; what could not be read goes into `problems`."""
  try:
    data = path.read_bytes()
  except OSError as e:
    raise UserError(f"{path}: cannot read: {e.strerror}") from None
  unknown = 0
  for chunk, verified in _frames(data, problems):
    spans = _split(chunk, problems)
    if not spans:
      continue
    events = log.Event.read_multiple_bytes(chunk[:spans[-1][1]], traversal_limit_in_words=NO_TRAVERSAL_LIMIT)
    for a, b in spans:
      try:
        ev, data = next(events), chunk[a:b]
        which = ev.which()
        if which in RETIRED:   # upgrading reads every field, as the check below does
          data = upgraded(ev)
          ev = log_from_bytes(data)
          which = ev.which()
        elif not verified:
          ev.to_dict()  # reads every field: a damaged message fails here, not in the caller's hands
      except (capnp.KjException, RuntimeError) as e:  # pycapnp raises RuntimeError for some bad enums and lists
        if "non-union" in str(e):  # a service this schema does not know: a log from a newer version
          unknown += 1
          continue
        problems.append(f"damaged message at byte {a} of a block ({str(e).splitlines()[0][:100]}): the rest of the "
                        "block is lost")
        break
      yield LogMessage(which, ev.logMonoTime, data, ev)
  if unknown:
    problems.append(f"{unknown} messages of services this version does not know were skipped (a newer log?)")


def first_message(path: Path) -> LogMessage | None:
  """The file's first message, without reading the rest (a segment's start time: loggerd writes initData first)."""
  try:
    with open(path, "rb") as f:
      head = f.read(FIRST_READ)
      if head.startswith(ZSTD_MAGIC):
        f.seek(0)
        head = zstd.ZstdDecompressor().stream_reader(f, read_across_frames=True).read(FIRST_READ)
  except (OSError, zstd.ZstdError):
    return None
  spans = _split(head, [])
  if not spans:
    return None
  data = head[:spans[0][1]]
  try:
    ev = log_from_bytes(data)
    return LogMessage(ev.which(), ev.logMonoTime, data, ev)
  except (capnp.KjException, RuntimeError):
    return None


def log_files(source: str | Path, qlog: bool = False) -> list[Path]:
  """The log files a source names: one file, a segment directory, or a route spec (see tools/lib/route.py)."""
  path = Path(source)
  if path.is_file():
    return [path]
  sel = resolve(source)
  want_q = qlog if sel.qlog is None else sel.qlog
  files = []
  for seg in sel.segments:
    f = seg.log(want_q)
    if not f.exists() and seg.log(not want_q).exists():
      warnings.warn(LogWarning(f"{seg.path}: no {f.name}; reading {seg.log(not want_q).name} instead"), stacklevel=3)
      f = seg.log(not want_q)
    if f.exists():
      files.append(f)
    else:
      warnings.warn(LogWarning(f"{seg.path}: no log file; segment skipped"), stacklevel=3)
  if not files:
    raise UserError(f"{source}: no log files")
  return files


class LogReader:
  """Iterates the Events of `source` in file order (sort_by_time: each file sorted by logMonoTime)."""

  def __init__(self, source: str | Path, qlog: bool = False, sort_by_time: bool = False):
    self.files = log_files(source, qlog)
    self.sort_by_time = sort_by_time
    self.problems: list[str] = []

  def __iter__(self) -> Iterator["log.Event"]:
    for m in self.messages():
      yield m.event

  def messages(self) -> Iterator[LogMessage]:
    """Each message with its recorded bytes."""
    for path in self.files:
      problems: list[str] = []
      msgs = read_messages(path, problems)
      yield from sorted(msgs, key=lambda m: m.logMonoTime) if self.sort_by_time else msgs
      for p in problems:
        self.problems.append(f"{path}: {p}")
        warnings.warn(LogWarning(f"{path}: {p}"), stacklevel=2)
