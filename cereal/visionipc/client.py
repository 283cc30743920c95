"""VisionIPC client: maps a stream's file read-only once and hands out views of the newest frame, never a copy.

A restarted server (new id in its notifications) is followed transparently: the client maps the new file and
goes on; `reconnects` counts how often that happened.
"""
import time
from types import TracebackType

import zmq

from cereal.messaging import lockstep
from cereal.visionipc.buffers import NOTIFY, Layout, Mapping, VisionBuf, VisionStreamType, stream_endpoint, stream_path

CONNECT_POLL_S = 0.005


class VisionIpcClient:
  """Receives one stream of server `name`. connect() first; recv() returns the newest complete frame."""
  def __init__(self, name: str, stream: VisionStreamType):
    self.name, self.stream = name, VisionStreamType(stream)
    self.path, self.endpoint = stream_path(name, self.stream), stream_endpoint(name, self.stream)
    self.reconnects = 0  # server restarts followed since connect()
    self._m: Mapping | None = None
    self._ctx: zmq.Context | None = None
    self._sock: zmq.Socket | None = None
    self._poller = zmq.Poller()
    self._link = lockstep.link()   # under lock-step replay the frames come with the steps

  @property
  def connected(self) -> bool:
    return self._m is not None

  @property
  def layout(self) -> Layout | None:
    return None if self._m is None else self._m.layout

  @property
  def server_id(self) -> int | None:
    return None if self._m is None else self._m.layout.server_id

  def connect(self, timeout_s: float = 5.0) -> bool:
    """Map the stream's file, waiting up to `timeout_s` for the server to create it. ValueError if the file is
    not a VisionIPC file this version reads."""
    deadline = time.monotonic() + timeout_s
    while (m := Mapping.open(self.path, self.stream, None)) is None:
      if time.monotonic() >= deadline:
        return False
      time.sleep(CONNECT_POLL_S)
    self._m = m
    if self._sock is None:
      self._ctx = zmq.Context()
      sock = self._sock = self._ctx.socket(zmq.SUB)
      sock.setsockopt(zmq.CONFLATE, 1)  # only the newest notification is kept: recv never works through a backlog
      sock.setsockopt(zmq.LINGER, 0)
      sock.setsockopt(zmq.SUBSCRIBE, b"")
      sock.connect(self.endpoint)  # before the server binds is fine: zmq retries, also after a server restart
      self._poller.register(sock, zmq.POLLIN)
    return True

  def recv(self, timeout_ms: int | None = 100) -> VisionBuf | None:
    """The newest complete frame (older unread ones are dropped), or None after `timeout_ms` (None: wait forever).
    Never a slot the server is writing; check buf.valid() after reading to catch the server lapping it. Under
    lock-step replay the frame is the one the next step names (cereal/messaging/lockstep.py), with no timeout."""
    if self._sock is None or self._m is None:
      raise RuntimeError(f"{self.name}/{self.stream.name}: call connect() before recv()")
    if self._link is not None:   # replay: the step brings the frame, whatever the time
      buf = self._buf(self._link.recv_frame())
      if buf is None:
        raise lockstep.LockstepError(f"{self.name}/{self.stream.name}: the step's frame is not in the buffers")
      return buf
    deadline = None if timeout_ms is None else time.monotonic_ns() + timeout_ms * 1_000_000
    while True:
      wait = -1 if deadline is None else max(0, -((time.monotonic_ns() - deadline) // 1_000_000))
      if not self._poller.poll(wait):
        self._follow_replaced_file()
        return None
      buf = self._buf(self._sock.recv(zmq.NOBLOCK))
      if buf is not None:
        return buf

  def _buf(self, msg: bytes) -> VisionBuf | None:
    """The frame a notification names, or None where it is stale (lapped, mid-write, a previous server's)."""
    assert self._m is not None
    if len(msg) != NOTIFY.size:
      return None
    server_id, seq, frame_id, sof, eof, slot = NOTIFY.unpack(msg)
    if server_id != self._m.layout.server_id:
      m = Mapping.open(self.path, self.stream, server_id)
      if m is None:  # a late notification of the previous server, or its file is already gone
        return None
      self._m = m
      self.reconnects += 1
    m = self._m
    if slot < m.layout.count and m.seq(slot) == seq:  # else lapped or mid-write: a newer notification follows
      return VisionBuf(m, slot, seq, frame_id, sof, eof)
    return None

  def _follow_replaced_file(self) -> None:
    """While no frames come, a new server may have replaced the file without sending yet: map it already, so
    `layout` is current. The path missing (a server shut down cleanly) keeps the old mapping."""
    assert self._m is not None
    try:
      st = self.path.stat()
    except FileNotFoundError:
      return
    if (st.st_dev, st.st_ino) != self._m.file_id and (m := Mapping.open(self.path, self.stream, None)) is not None:
      if m.layout.server_id != self._m.layout.server_id:
        self.reconnects += 1
      self._m = m

  def close(self) -> None:
    if self._sock is not None:
      self._poller.unregister(self._sock)
      self._sock.close(linger=0)
      self._sock = None
    if self._ctx is not None:
      self._ctx.term()
      self._ctx = None
    self._m = None  # the mapping goes once no VisionBuf holds it

  def __enter__(self) -> "VisionIpcClient":
    return self

  def __exit__(self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
    self.close()
