"""One log file: capnp Events appended as they come, zstd-compressed, one zstd frame per flush.

Each flush ends a zstd frame and syncs the file, so what was flushed survives a power cut or a SIGKILL whole; a
reader (tools/lib/logreader.py) reads every complete frame and stops, with a warning, at a cut or damaged one.
"""
import os
from pathlib import Path

import zstandard as zstd

from cereal.services import SERVICES
from selfdrive.loggerd.config import QLOG, RLOG, ZSTD_LEVEL


class LogWriter:
  def __init__(self, path: Path, level: int = ZSTD_LEVEL):
    self.path = path
    self._f = open(path, "xb")  # noqa: SIM115 -- closed by close(); never overwrites a recorded log
    self._z = zstd.ZstdCompressor(level=level, write_checksum=True).stream_writer(self._f, closefd=False)
    self.pending = False  # written since the last flush

  def write(self, data: bytes) -> None:
    self._z.write(data)
    self.pending = True

  def flush(self) -> None:
    """End the current zstd frame and put it on the disk."""
    if self.pending:
      self._z.flush(zstd.FLUSH_FRAME)
      self._f.flush()
      os.fdatasync(self._f.fileno())
      self.pending = False

  def close(self) -> None:
    self.flush()  # the frame is complete: closing the compressor would only append an empty one
    self._f.close()


class SegmentLogs:
  """A segment's two logs: every message into its rlog, every Nth message of a service (qlog_decimation) into its
  qlog. `counts` numbers each service's messages across the route's segments."""

  def __init__(self, path: Path, header: bytes, counts: dict[str, int]):
    self.path, self.counts = path, counts
    path.mkdir(parents=True, exist_ok=True)
    self.rlog, self.qlog = LogWriter(path / RLOG), LogWriter(path / QLOG)
    self.rlog.write(header)
    self.qlog.write(header)

  def write(self, service: str, data: bytes) -> None:
    self.rlog.write(data)
    decimation = SERVICES[service].qlog_decimation
    if decimation:
      n = self.counts.get(service, 0)
      if n % decimation == 0:
        self.qlog.write(data)
      self.counts[service] = n + 1

  def flush(self) -> None:
    self.rlog.flush()
    self.qlog.flush()

  def close(self) -> None:
    self.rlog.close()
    self.qlog.close()
