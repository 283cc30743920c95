"""VisionIPC server: writes frames into shared memory and publishes a small notification per frame.

It never waits on a client: notifications go out on a zmq PUB, which drops instead of blocking, and the
frame slots are overwritten round-robin whether or not anyone still reads them (readers detect that with
VisionBuf.valid()).
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import zmq

from cereal.visionipc.buffers import (
  NOTIFY,
  Layout,
  Mapping,
  PixelFormat,
  VisionStreamType,
  check_name,
  stream_endpoint,
  stream_path,
)

U64_MAX = 2**64 - 1
# Notifications queued per subscriber before PUB drops; PUB drops the *newest*, so this must cover a burst (replay
# faster than real time) until the io thread drains it. Only a stopped subscriber ever fills it; they are 44 bytes.
NOTIFY_HWM = 1000


@dataclass
class _Stream:
  layout: Layout
  mapping: Mapping  # mapping.file_id: close() unlinks the path only while it is still our file
  path: Path
  seqs: list[int]
  next_slot: int = 0
  writing: int | None = None  # slot handed out by next_buffer, not yet sent
  sock: zmq.Socket | None = field(default=None, repr=False)
  sock_path: Path | None = None
  sock_id: tuple[int, int] = (0, 0)


def _file_id(path: Path) -> tuple[int, int]:
  st = path.stat()
  return st.st_dev, st.st_ino


def _unlink_if_ours(path: Path, file_id: tuple[int, int]) -> None:
  """Unlink `path` unless a newer server has replaced it meanwhile (that file is not ours to remove)."""
  try:
    if _file_id(path) == file_id:
      path.unlink(missing_ok=True)
  except FileNotFoundError:
    return


def _check_meta(frame_id: int, timestamp_sof: int, timestamp_eof: int) -> None:
  for what, v in (("frame_id", frame_id), ("timestamp_sof", timestamp_sof), ("timestamp_eof", timestamp_eof)):
    if not 0 <= v <= U64_MAX:
      raise ValueError(f"{what}={v} does not fit in an unsigned 64-bit field")


class VisionIpcServer:
  """Publishes frames of one or more streams under `name`; use as a context manager or call close()."""
  def __init__(self, name: str):
    self.name = check_name(name)
    self.server_id = int.from_bytes(os.urandom(8), "little") | 1  # clients notice a restart by a new id
    self._streams: dict[VisionStreamType, _Stream] = {}
    self._ctx: zmq.Context | None = None

  def create_buffers(self, stream: VisionStreamType, count: int, width: int, height: int,
                     fmt: PixelFormat = PixelFormat.NV12) -> None:
    """Allocate `count` prefaulted frame slots for `stream` in one shared-memory file (replacing a stale one)."""
    stream = VisionStreamType(stream)
    if stream in self._streams:
      raise ValueError(f"{self.name}: buffers for {stream.name} already exist")
    layout = Layout.make(stream, count, width, height, fmt, self.server_id)
    path = stream_path(self.name, stream)
    s = self._streams[stream] = _Stream(layout, Mapping.create(path, layout), path, [0] * count)
    if self._ctx is not None:
      self._bind(s)

  def start_listener(self) -> None:
    """Bind a PUB per stream (streams created later bind at once); frames can be sent from now on."""
    if self._ctx is None:
      self._ctx = zmq.Context()
      for s in self._streams.values():
        self._bind(s)

  def _bind(self, s: _Stream) -> None:
    assert self._ctx is not None
    sock = self._ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, NOTIFY_HWM)
    sock.setsockopt(zmq.LINGER, 0)
    endpoint = stream_endpoint(self.name, s.layout.stream)
    sock.bind(endpoint)  # libzmq replaces a crashed predecessor's socket file
    s.sock, s.sock_path = sock, Path(endpoint.removeprefix("ipc://"))
    s.sock_id = _file_id(s.sock_path)

  def _stream(self, stream: VisionStreamType) -> _Stream:
    s = self._streams.get(stream)
    if s is None:
      raise ValueError(f"{self.name}: no buffers for stream {stream!r}; call create_buffers first")
    if s.sock is None:
      raise RuntimeError(f"{self.name}: call start_listener() before sending frames")
    return s

  def layout(self, stream: VisionStreamType) -> Layout:
    s = self._streams.get(stream)
    if s is None:
      raise ValueError(f"{self.name}: no buffers for stream {stream!r}; call create_buffers first")
    return s.layout

  def next_buffer(self, stream: VisionStreamType) -> np.ndarray:
    """Zero-copy write: the next slot as a writable frame-shaped view; fill it, then call send_buffer.
    From this call on, readers still holding this slot's previous frame see valid() == False."""
    s = self._stream(stream)
    if s.writing is not None:
      raise RuntimeError(f"{self.name}: {s.layout.stream.name} already has a buffer out; send_buffer it first")
    slot = s.writing = s.next_slot
    s.seqs[slot] += 1  # odd: being written
    s.mapping.begin_write(slot, s.seqs[slot])
    return s.mapping.frames[slot]

  def send_buffer(self, stream: VisionStreamType, frame_id: int, timestamp_sof: int, timestamp_eof: int) -> bytes:
    """Publish the buffer from next_buffer; the notification sent (lock-step replay hands it over itself)."""
    s = self._stream(stream)
    slot = s.writing
    if slot is None:
      raise RuntimeError(f"{self.name}: send_buffer({s.layout.stream.name}) without next_buffer")
    _check_meta(frame_id, timestamp_sof, timestamp_eof)
    s.seqs[slot] += 1  # even: complete
    s.mapping.end_write(slot, s.seqs[slot], frame_id, timestamp_sof, timestamp_eof)
    s.writing, s.next_slot = None, (slot + 1) % s.layout.count
    assert s.sock is not None
    notification = NOTIFY.pack(self.server_id, s.seqs[slot], frame_id, timestamp_sof, timestamp_eof, slot)
    s.sock.send(notification, zmq.NOBLOCK)
    return notification

  def send(self, stream: VisionStreamType, frame: np.ndarray, frame_id: int, timestamp_sof: int,
           timestamp_eof: int) -> bytes:
    """Copy `frame` (uint8, layout.frame_shape or flat) into the next slot and publish it; the notification."""
    s = self._stream(stream)
    lay = s.layout
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape not in (lay.frame_shape,
                                                                                          (lay.buf_size,)):
      got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
      raise ValueError(f"{self.name}: {lay.stream.name} takes uint8 {lay.fmt.name} frames of shape {lay.frame_shape} "
                       f"(or flat ({lay.buf_size},)) for {lay.width}x{lay.height}, got {got}")
    _check_meta(frame_id, timestamp_sof, timestamp_eof)
    self.next_buffer(stream)
    slot = s.next_slot
    np.copyto(s.mapping.frames[slot] if frame.ndim > 1 else s.mapping.data[slot], frame)
    return self.send_buffer(stream, frame_id, timestamp_sof, timestamp_eof)

  def close(self) -> None:
    """Close the sockets and unlink our socket and buffer files (libzmq >= 4.2 leaves ipc socket files behind)."""
    for s in self._streams.values():
      if s.sock is not None:
        s.sock.close(linger=0)
    if self._ctx is not None:
      self._ctx.term()
      self._ctx = None
    for s in self._streams.values():
      if s.sock_path is not None:
        _unlink_if_ours(s.sock_path, s.sock_id)
      _unlink_if_ours(s.path, s.mapping.file_id)
    self._streams.clear()  # the mappings go once nobody holds a view into them

  def __enter__(self) -> "VisionIpcServer":
    return self

  def __exit__(self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
    self.close()
