"""The shared-memory layout of VisionIPC: one file per stream, a header, then `count` frame slots.

File: [header 128 B][slot headers, 64 B each][pad to a page][slot 0 data][slot 1 data]... (slots page-aligned).
Slot header: seq, frame_id, timestamp_sof, timestamp_eof as u64. The writer makes seq odd before touching a slot
and even (one more) after, so a reader that saw seq s before reading and still sees s after read a whole frame.
"""
import mmap
import os
import re
import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np

from cereal.prefix import ipc_endpoint, shm_path

MAGIC = b"LPVIPC\x00\x01"
VERSION = 1
# magic version stream server_id width height stride uv_offset fmt count buf_size slot_size data_offset
HEADER = struct.Struct("<8sIIQIIIIIIQQQ")
HEADER_SIZE = 128
SLOT_HEADER_SIZE = 64
SEQ, FRAME_ID, TS_SOF, TS_EOF = range(4)  # u64 fields of a slot header
MAX_BUFFERS = 64
PAGE = mmap.PAGESIZE
NOTIFY = struct.Struct("<QQQQQI")  # server_id seq frame_id timestamp_sof timestamp_eof slot
_VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class VisionStreamType(IntEnum):
  ROAD = 0
  WIDE_ROAD = 1
  DRIVER = 2


class PixelFormat(IntEnum):
  NV12 = 0  # full-res Y plane, then interleaved half-res UV plane
  RGB = 1   # packed 8-bit RGB


def _round_up(x: int, to: int) -> int:
  return (x + to - 1) // to * to


def check_name(name: str) -> str:
  if not _VALID_NAME.match(name):
    raise ValueError(f"VisionIPC name {name!r}: use 1-32 letters, digits, '_' or '-'")
  return name


def stream_name(name: str, stream: VisionStreamType) -> str:
  return f"vipc-{check_name(name)}-{VisionStreamType(stream).name.lower()}"


def stream_path(name: str, stream: VisionStreamType) -> Path:
  return shm_path(stream_name(name, stream))


def stream_endpoint(name: str, stream: VisionStreamType) -> str:
  return ipc_endpoint(stream_name(name, stream))


@dataclass(frozen=True)
class Layout:
  """Everything a reader needs to interpret a stream's file; written once by the server, never changed."""
  stream: VisionStreamType
  fmt: PixelFormat
  server_id: int
  width: int
  height: int
  stride: int
  uv_offset: int
  count: int
  buf_size: int    # bytes of one frame
  slot_size: int   # bytes between slot starts (page-aligned)
  data_offset: int  # first slot's offset in the file

  @staticmethod
  def make(stream: VisionStreamType, count: int, width: int, height: int, fmt: PixelFormat, server_id: int) -> "Layout":
    fmt = PixelFormat(fmt)
    if not 1 <= count <= MAX_BUFFERS:
      raise ValueError(f"buffer count {count}: must be 1..{MAX_BUFFERS}")
    if width <= 0 or height <= 0:
      raise ValueError(f"frame size {width}x{height}: must be positive")
    if fmt == PixelFormat.NV12:
      if width % 2 or height % 2:
        raise ValueError(f"NV12 frame size {width}x{height}: width and height must be even")
      stride, uv_offset = width, width * height
      buf_size = uv_offset + stride * height // 2
    else:
      stride, uv_offset = width * 3, 0
      buf_size = stride * height
    data_offset = _round_up(HEADER_SIZE + count * SLOT_HEADER_SIZE, PAGE)
    return Layout(VisionStreamType(stream), fmt, server_id, width, height, stride, uv_offset, count, buf_size,
                  _round_up(buf_size, PAGE), data_offset)

  @property
  def file_size(self) -> int:
    return self.data_offset + self.count * self.slot_size

  @property
  def frame_shape(self) -> tuple[int, ...]:
    """Shape of the frames `send` takes and `next_buffer` gives (tight rows: stride == row bytes)."""
    return (self.height * 3 // 2, self.width) if self.fmt == PixelFormat.NV12 else (self.height, self.width, 3)

  def pack(self) -> bytes:
    return HEADER.pack(MAGIC, VERSION, self.stream, self.server_id, self.width, self.height, self.stride,
                       self.uv_offset, self.fmt, self.count, self.buf_size, self.slot_size, self.data_offset)

  @staticmethod
  def unpack(raw: bytes, where: str) -> "Layout":
    """Parse and sanity-check a header; ValueError says what is wrong with which file."""
    if len(raw) < HEADER.size:
      raise ValueError(f"{where}: {len(raw)} bytes is too short for a VisionIPC header")
    magic, version, stream, server_id, w, h, stride, uv_offset, fmt, count, size, slot, data = HEADER.unpack_from(raw)
    if magic != MAGIC:
      raise ValueError(f"{where}: not a VisionIPC buffer file (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
      raise ValueError(f"{where}: VisionIPC version {version}, this reader speaks version {VERSION}")
    if stream not in set(VisionStreamType) or fmt not in set(PixelFormat):
      raise ValueError(f"{where}: unknown stream {stream} or pixel format {fmt}")
    layout = Layout(VisionStreamType(stream), PixelFormat(fmt), server_id, w, h, stride, uv_offset, count, size, slot,
                    data)
    if layout != Layout.make(layout.stream, count, w, h, layout.fmt, server_id):
      raise ValueError(f"{where}: inconsistent VisionIPC header {layout}")
    return layout


class Mapping:
  """A mapped stream file with numpy views of its slot headers and of every slot's frame, built once.
  It is unmapped when the last view into it is gone, so a VisionBuf stays readable after its client closed."""
  def __init__(self, mm: mmap.mmap, layout: Layout, writable: bool, file_id: tuple[int, int]):
    self.mm, self.layout, self.file_id = mm, layout, file_id  # file_id: (st_dev, st_ino) of the mapped file
    raw = np.frombuffer(mm, dtype=np.uint8)
    raw.flags.writeable = writable
    self.slot_headers = raw[HEADER_SIZE:HEADER_SIZE + layout.count * SLOT_HEADER_SIZE].view(np.uint64).reshape(
      layout.count, SLOT_HEADER_SIZE // 8)
    self.data = [raw[layout.data_offset + i * layout.slot_size:][:layout.buf_size] for i in range(layout.count)]
    self.frames = [d.reshape(layout.frame_shape) for d in self.data]
    if layout.fmt == PixelFormat.NV12:
      h, s, w = layout.height, layout.stride, layout.width
      self.y = [d[:layout.uv_offset].reshape(h, s)[:, :w] for d in self.data]
      self.uv = [d[layout.uv_offset:layout.uv_offset + s * h // 2].reshape(h // 2, s)[:, :w] for d in self.data]
    else:
      self.y = self.uv = []

  @staticmethod
  def create(path: Path, layout: Layout) -> "Mapping":
    """Build the whole file under a temporary name, then rename it over `path`: readers see a complete file (ours,
    or a crashed predecessor's, whose readers keep their old mapping intact), never a half-built one."""
    tmp = path.with_name(f"{path.name}.{layout.server_id:016x}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
      # tmpfs allocates every page now (a full /dev/shm fails here, not with SIGBUS mid-frame) and MAP_POPULATE
      # maps them all, so no send pays page faults (~3 ms per fresh 3.5 MB otherwise)
      os.posix_fallocate(fd, 0, layout.file_size)
      mm = mmap.mmap(fd, layout.file_size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE)
      mm[:HEADER.size] = layout.pack()
      st = os.fstat(fd)
      os.replace(tmp, path)
    except BaseException:
      tmp.unlink(missing_ok=True)
      raise
    finally:
      os.close(fd)
    return Mapping(mm, layout, True, (st.st_dev, st.st_ino))

  @staticmethod
  def open(path: Path, stream: VisionStreamType, expect_id: int | None) -> "Mapping | None":
    """Map a stream file read-only; None when it is absent or (with `expect_id`) another server instance's."""
    try:
      fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
      return None
    try:
      layout = Layout.unpack(os.pread(fd, HEADER.size, 0), str(path))
      if layout.stream != stream:
        raise ValueError(f"{path}: holds stream {layout.stream.name}, expected {stream.name}")
      if expect_id is not None and layout.server_id != expect_id:
        return None
      st = os.fstat(fd)
      if st.st_size < layout.file_size:
        raise ValueError(f"{path}: {st.st_size} bytes, its header needs {layout.file_size}")
      mm = mmap.mmap(fd, layout.file_size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ)
    finally:
      os.close(fd)
    return Mapping(mm, layout, False, (st.st_dev, st.st_ino))

  def seq(self, slot: int) -> int:
    return int(self.slot_headers[slot, SEQ])

  # Writer side of the seqlock. Stores are issued in program order here; x86 keeps them in order, and the
  # notification (a syscall) orders them against the reader's. A weakly ordered CPU (ARM) would want fences.
  def begin_write(self, slot: int, seq: int) -> None:
    """`seq` odd: from now on readers of this slot's previous frame see valid() == False."""
    self.slot_headers[slot, SEQ] = seq

  def end_write(self, slot: int, seq: int, frame_id: int, timestamp_sof: int, timestamp_eof: int) -> None:
    """Metadata first, then `seq` even: the slot holds a complete frame again."""
    hdr = self.slot_headers[slot]
    hdr[FRAME_ID], hdr[TS_SOF], hdr[TS_EOF] = frame_id, timestamp_sof, timestamp_eof
    hdr[SEQ] = seq


class VisionBuf:
  """One received frame: `.data` is a read-only view into shared memory, valid until the server laps the slot."""
  __slots__ = ("_m", "frame_id", "seq", "slot", "timestamp_eof", "timestamp_sof")

  def __init__(self, m: Mapping, slot: int, seq: int, frame_id: int, timestamp_sof: int, timestamp_eof: int):
    self._m, self.slot, self.seq = m, slot, seq
    self.frame_id, self.timestamp_sof, self.timestamp_eof = frame_id, timestamp_sof, timestamp_eof

  def valid(self) -> bool:
    """Still the frame recv returned? Check after reading: False means the writer lapped it and the read is torn."""
    return self._m.seq(self.slot) == self.seq

  @property
  def data(self) -> np.ndarray:
    return self._m.data[self.slot]

  @property
  def frame(self) -> np.ndarray:
    """The frame in the shape the server sent it."""
    return self._m.frames[self.slot]

  @property
  def y(self) -> np.ndarray:
    self._need(PixelFormat.NV12, "y")
    return self._m.y[self.slot]

  @property
  def uv(self) -> np.ndarray:
    """Interleaved UV plane, (height/2, width): U at even columns, V at odd."""
    self._need(PixelFormat.NV12, "uv")
    return self._m.uv[self.slot]

  @property
  def rgb(self) -> np.ndarray:
    self._need(PixelFormat.RGB, "rgb")
    return self._m.frames[self.slot]

  def _need(self, fmt: PixelFormat, what: str) -> None:
    if self._m.layout.fmt != fmt:
      raise ValueError(f".{what} needs a {fmt.name} stream; this one is {self._m.layout.fmt.name}")

  @property
  def width(self) -> int:
    return self._m.layout.width

  @property
  def height(self) -> int:
    return self._m.layout.height

  @property
  def stride(self) -> int:
    return self._m.layout.stride

  @property
  def uv_offset(self) -> int:
    return self._m.layout.uv_offset

  @property
  def format(self) -> PixelFormat:
    return self._m.layout.fmt

  @property
  def stream(self) -> VisionStreamType:
    return self._m.layout.stream

  @property
  def server_id(self) -> int:
    return self._m.layout.server_id

  def __repr__(self) -> str:
    return (f"VisionBuf({self.stream.name} {self.format.name} {self.width}x{self.height} frame_id={self.frame_id} "
            f"slot={self.slot})")
