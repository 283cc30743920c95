"""The simulated car's diagnostic side: each ECU that opendbc's firmware query asks answers it over ISO-TP (ISO
15765-2) as the real one does: tester present, the steps of its query, and one of its real firmware versions
(selfdrive.car.platform_info.firmware). So card identifies the simulated car the way it identifies a real one.

Normal addressing (requests on A, answers on A + 8) and extended addressing (Toyota's 0x750: the ECU's sub-address
is the first byte of every frame, both ways). A request the ECU does not know gets the negative response a real one
gives for a service it does not support.
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hardware.can.frame import CanFrame
from selfdrive.car.platform_info import EcuFirmware

MS = 1_000_000
FRAME_LEN = 8           # ISO 15765-4: every diagnostic frame is 8 bytes, padded
PADDING = 0x00
MAX_PAYLOAD = 0xFFF     # a first frame's 12-bit length
# ISO-TP: the frame type is the first byte's high nibble
SINGLE, FIRST, CONSECUTIVE, FLOW = 0, 1, 2, 3
FLOW_CONTINUE, FLOW_WAIT = 0, 1   # the flow control's low nibble; anything else (overflow) aborts the answer
N_BS_NS = 1000 * MS     # the tester's flow control must come within this of the frame asking for it (N_Bs) ...
N_CR_NS = 1000 * MS     # ... and its consecutive frames within this of each other (N_Cr)
# UDS (ISO 14229) and KWP2000 alike
TESTER_PRESENT = 0x3E
POSITIVE = 0x40         # added to the service id in a positive response
NEGATIVE = 0x7F
SERVICE_NOT_SUPPORTED = 0x11
SUPPRESS_POSITIVE = 0x80  # sub-function bit: answer nothing when the request succeeds


def separation_ns(st_min: int) -> int:
  """A flow control's STmin: 0-127 ms, 0xF1-0xF9 100-900 us; a reserved value means the longest, 127 ms."""
  if st_min <= 0x7F:
    return st_min * MS
  if 0xF1 <= st_min <= 0xF9:
    return (st_min - 0xF0) * 100_000
  return 0x7F * MS


@dataclass(frozen=True)
class Services:
  """What one ECU answers: each step of its firmware query (the last with its version), tester present, and a
  negative response to anything else."""
  table: dict[bytes, bytes]

  @classmethod
  def of(cls, fw: EcuFirmware) -> "Services":
    table = dict(zip(fw.requests, fw.responses, strict=True))
    table[fw.requests[-1]] = fw.responses[-1] + fw.version
    return cls(table)

  def answer(self, request: bytes) -> bytes | None:
    if request in self.table:
      return self.table[request]
    sid = request[0]
    if sid == TESTER_PRESENT and len(request) <= 2:
      sub_function = request[1:]
      return None if sub_function and sub_function[0] & SUPPRESS_POSITIVE else bytes([sid + POSITIVE]) + sub_function
    return bytes([NEGATIVE, sid, SERVICE_NOT_SUPPORTED])


@dataclass
class _Sending:
  """A multi-frame answer going out after its first frame."""
  payload: bytes
  offset: int                  # bytes sent so far
  deadline_ns: int             # flow control expected by then
  index: int = 1               # the next consecutive frame's sequence number (mod 16)
  block_left: int | None = None  # consecutive frames until the tester's next flow control; None: no limit
  separation_ns: int = 0
  next_ns: int | None = None   # the next consecutive frame may go then; None: waiting for flow control


@dataclass
class _Receiving:
  """A multi-frame request coming in after its first frame."""
  payload: bytearray
  length: int
  deadline_ns: int             # the next consecutive frame expected by then
  index: int = 1


class IsoTpServer:
  """An ECU's end of one ISO-TP link: requests assembled from the tester's frames, answers cut into single or first
  + consecutive frames, paced by the tester's flow control (block size, separation time)."""

  def __init__(self, response_address: int, bus: int, sub_address: int | None,
               answer: Callable[[bytes], bytes | None]):
    self.response_address, self.bus, self.sub_address = response_address, bus, sub_address
    self.answer = answer
    self.room = FRAME_LEN - (sub_address is not None)  # payload bytes per frame
    self.out: list[CanFrame] = []
    self.sending: _Sending | None = None
    self.receiving: _Receiving | None = None

  def receive(self, data: bytes, t_ns: int) -> None:
    """One frame from the tester, its sub-address byte (if any) already taken off."""
    if not data:
      return
    kind, low = data[0] >> 4, data[0] & 0xF
    if kind == SINGLE and 0 < low < len(data):
      self.receiving = None
      self._request(data[1:1 + low], t_ns)
    elif kind == FIRST and len(data) == self.room and ((low << 8) | data[1]) >= self.room:
      self.receiving = _Receiving(bytearray(data[2:]), (low << 8) | data[1], t_ns + N_CR_NS)
      self._send(bytes([FLOW << 4 | FLOW_CONTINUE, 0, 0]))  # the rest at once: no block limit, no separation
    elif kind == CONSECUTIVE and (rx := self.receiving) is not None:
      if low != rx.index & 0xF:
        self.receiving = None  # a lost or repeated frame: the message is void
        return
      rx.payload += data[1:1 + rx.length - len(rx.payload)]
      rx.index, rx.deadline_ns = rx.index + 1, t_ns + N_CR_NS
      if len(rx.payload) == rx.length:
        self.receiving = None
        self._request(bytes(rx.payload), t_ns)
    elif kind == FLOW and (tx := self.sending) is not None and tx.next_ns is None:
      if low == FLOW_CONTINUE and len(data) >= 3:
        tx.block_left, tx.separation_ns, tx.next_ns = data[1] or None, separation_ns(data[2]), t_ns
      elif low == FLOW_WAIT:
        tx.deadline_ns = t_ns + N_BS_NS
      else:
        self.sending = None

  def step(self, t_ns: int) -> list[CanFrame]:
    """The frames due now: answers, flow control, and the consecutive frames the tester's pacing allows."""
    tx = self.sending
    while tx is not None and tx.next_ns is not None and tx.next_ns <= t_ns:
      chunk = tx.payload[tx.offset:tx.offset + self.room - 1]
      self._send(bytes([CONSECUTIVE << 4 | tx.index & 0xF]) + chunk)
      tx.offset, tx.index = tx.offset + len(chunk), tx.index + 1
      if tx.offset == len(tx.payload):
        self.sending = tx = None
        break
      if tx.block_left is not None:
        tx.block_left -= 1
      if tx.block_left == 0:
        tx.next_ns, tx.deadline_ns = None, t_ns + N_BS_NS
      else:
        tx.next_ns = t_ns + tx.separation_ns
    if tx is not None and tx.next_ns is None and t_ns > tx.deadline_ns:
      self.sending = None
    if self.receiving is not None and t_ns > self.receiving.deadline_ns:
      self.receiving = None
    out, self.out = self.out, []
    return out

  def _request(self, request: bytes, t_ns: int) -> None:
    answer = self.answer(request)
    self.sending = None  # a new request ends any answer still going out
    if answer is None:
      return
    if len(answer) < self.room:
      self._send(bytes([SINGLE << 4 | len(answer)]) + answer)
    else:
      assert len(answer) <= MAX_PAYLOAD, f"an ISO-TP message carries at most {MAX_PAYLOAD} bytes"
      self._send(bytes([FIRST << 4 | len(answer) >> 8, len(answer) & 0xFF]) + answer[:self.room - 2])
      self.sending = _Sending(answer, self.room - 2, t_ns + N_BS_NS)

  def _send(self, payload: bytes) -> None:
    prefix = b"" if self.sub_address is None else bytes([self.sub_address])
    self.out.append(CanFrame(self.response_address, (prefix + payload).ljust(FRAME_LEN, bytes([PADDING])), self.bus))


class Diagnostics:
  """The car's ECUs that answer opendbc's firmware query, each on the bus and addresses the query uses."""

  def __init__(self, firmware: Iterable[EcuFirmware]):
    self.servers = {(fw.bus, fw.address, fw.sub_address): IsoTpServer(fw.response_address, fw.bus, fw.sub_address,
                                                                        Services.of(fw).answer) for fw in firmware}
    self.extended = {(bus, address) for bus, address, sub_address in self.servers if sub_address is not None}

  def receive(self, frames: Iterable[CanFrame], t_ns: int) -> None:
    for f in frames:
      if (f.bus, f.address) in self.extended:
        server = self.servers.get((f.bus, f.address, f.data[0])) if f.data else None
        data = f.data[1:]
      else:
        server, data = self.servers.get((f.bus, f.address, None)), f.data
      if server is not None:
        server.receive(data, t_ns)

  def step(self, t_ns: int) -> list[CanFrame]:
    return [f for server in self.servers.values() for f in server.step(t_ns)]
