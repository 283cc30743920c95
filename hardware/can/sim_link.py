"""The simulator's CAN link: a python-can Bus over a zmq pair, so cand drives the simulated car through the
same python-can API as a real adapter.

A serial slcan link over a pty also works (python-can's slcan driver), but it reads one byte per syscall,
about 150 us of CPU per frame: at a Toyota's ~1,500 frames/s that is a fifth of a core. Here a 10 ms burst
of frames travels as one zmq message.
"""
import contextlib
import struct
from collections import deque

import can
import zmq

from cereal.prefix import ipc_endpoint
from hardware.can.frame import CanFrame

SIM_CAN_ENDPOINT = "sim_can"
_RECORD = struct.Struct("<IBB")   # address, bus, length; then the payload
MAX_PAYLOAD = 64



def pack_frames(frames: list[CanFrame]) -> bytes:
  out = bytearray()
  for f in frames:
    if len(f.data) > MAX_PAYLOAD:
      raise ValueError(f"CAN frame 0x{f.address:X} has {len(f.data)} bytes; at most {MAX_PAYLOAD}")
    out += _RECORD.pack(f.address, f.bus, len(f.data))
    out += f.data
  return bytes(out)


def unpack_frames(blob: bytes) -> list[CanFrame]:
  frames, i = [], 0
  while i < len(blob):
    if i + _RECORD.size > len(blob):
      raise ValueError(f"truncated frame header at byte {i} of {len(blob)}")
    address, bus, n = _RECORD.unpack_from(blob, i)
    i += _RECORD.size
    if i + n > len(blob) or n > MAX_PAYLOAD:
      raise ValueError(f"frame 0x{address:X} claims {n} bytes at byte {i} of {len(blob)}")
    frames.append(CanFrame(address, blob[i:i + n], bus))
    i += n
  return frames


class SimCarPort:
  """The car's side of the link (owned by the simulator): bursts of frames out, the stack's frames in."""

  def __init__(self):
    self.sock = zmq.Context.instance().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 0)
    self.sock.setsockopt(zmq.SNDHWM, 100)
    self.sock.bind(ipc_endpoint(SIM_CAN_ENDPOINT))

  def send(self, frames: list[CanFrame]) -> None:
    # nobody listening (cand not up yet): a real bus drops frames nobody acknowledges, so do we
    with contextlib.suppress(zmq.Again):
      self.sock.send(pack_frames(frames), zmq.NOBLOCK)

  def recv(self) -> list[CanFrame]:
    frames: list[CanFrame] = []
    while True:
      try:
        frames += unpack_frames(self.sock.recv(zmq.NOBLOCK))
      except zmq.Again:
        return frames

  def close(self) -> None:
    self.sock.close()


class SimCanBus(can.BusABC):
  """python-can Bus on the stack's side of the simulator link; the bus number travels in Message.channel."""

  def __init__(self, channel: str = SIM_CAN_ENDPOINT, **kwargs):
    self.sock = zmq.Context.instance().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 0)
    self.sock.connect(ipc_endpoint(channel))
    self._pending: deque[can.Message] = deque()
    self.channel_info = f"localpilot simulator link ({channel})"
    super().__init__(channel=channel, **kwargs)

  def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
    if not self._pending:
      if not self.sock.poll(None if timeout is None else int(timeout * 1000)):
        return None, False
      while True:
        try:
          blob = self.sock.recv(zmq.NOBLOCK)
        except zmq.Again:
          break
        for f in unpack_frames(blob):
          self._pending.append(can.Message(arbitration_id=f.address, is_extended_id=f.address > 0x7FF,
                                           data=f.data, channel=f.bus, check=False))
    if not self._pending:  # only empty bursts came (a step with nothing due): python-can's recv() waits on
      return None, False
    return self._pending.popleft(), False

  def send(self, msg: can.Message, timeout: float | None = None) -> None:
    bus = msg.channel if isinstance(msg.channel, int) else 0
    try:
      self.sock.send(pack_frames([CanFrame(msg.arbitration_id, bytes(msg.data), bus)]), zmq.NOBLOCK)
    except zmq.Again as e:
      raise can.CanOperationError("simulator link is not connected") from e

  def shutdown(self) -> None:
    super().shutdown()
    self.sock.close()
