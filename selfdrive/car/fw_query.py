"""Identifying the car by its ECUs' firmware versions, as openpilot does: opendbc's own query (the requests, buses and
timeouts of each brand's FW_QUERY_CONFIG) over the stack's `sendcan` and `can`, then opendbc's matching, exact first
and then fuzzy.

The requests go out through cand, whose safety model stays in ELM327 (diagnostic) mode until carParams names the
car: only diagnostic frames can leave, whatever is asked here. No VIN query: no matcher we use needs it, and it
would add seconds of timeouts.
"""
import time
from dataclasses import dataclass

import zmq
from opendbc.car.can_definitions import CanData, CanRecvCallable, CanSendCallable
from opendbc.car.fw_query_definitions import EcuAddrBusType
from opendbc.car.fw_versions import get_fw_versions_ordered, get_present_ecus, match_fw_to_car
from opendbc.car.vin import VIN_UNKNOWN

from cereal import messaging
from selfdrive.car import CarParams

RECV_TIMEOUT_MS = 10   # can_recv(wait_for_one=True) waits at most this for cand's next `can` (it sends at 100 Hz)
SETTLE_S = 0.2         # cand's sendcan subscriber (re)connects within zmq's 100 ms reconnect interval


@dataclass(frozen=True)
class FwQueryResult:
  """What the query found: the versions read, the platforms they match (one: identified) and how long it took."""
  car_fw: tuple[CarParams.CarFw, ...]
  candidates: frozenset[str]
  exact: bool            # matched exactly (else fuzzily, opendbc's way); meaningless without candidates
  ecus_present: int      # ECUs that answered tester present
  seconds: float

  @property
  def platform(self) -> str | None:
    return next(iter(self.candidates)) if len(self.candidates) == 1 else None

  def __str__(self) -> str:
    answered = ", ".join(f"{fw.ecu} 0x{fw.address:x}" + (f"/0x{fw.subAddress:x}" if fw.subAddress else "")
                         for fw in self.car_fw if not fw.logging)
    head = f"firmware query ({self.seconds:.1f} s): {self.ecus_present} ECUs present"
    if not self.car_fw:
      return f"{head}, no firmware versions read"
    found = f"{head}, versions from {answered}"
    if not self.candidates:
      return f"{found}; no platform has them"
    if self.platform is None:
      return f"{found}; {len(self.candidates)} platforms have them: {', '.join(sorted(self.candidates))}"
    return f"{found}; {'exact' if self.exact else 'fuzzy'} match {self.platform}"


class CanLink:
  """opendbc's can_send and can_recv over the stack's sockets. Every `can` message received is kept (raw, in
  `received`): the car's traffic meanwhile is the passive fingerprint's too."""

  def __init__(self, can_sock: zmq.Socket, pm: messaging.PubMaster):
    self.can_sock, self.pm = can_sock, pm
    self.received: list[bytes] = []

  def send(self, msgs: list[CanData]) -> None:
    out = messaging.new_message("sendcan", len(msgs))
    for dst, m in zip(out.sendcan, msgs, strict=True):
      dst.address, dst.dat, dst.src = m.address, m.dat, m.src
    self.pm.send("sendcan", out)

  def recv(self, wait_for_one: bool = False) -> list[list[CanData]]:
    if wait_for_one and not self.can_sock.poll(RECV_TIMEOUT_MS):
      return []
    raw = messaging.drain_sock_raw(self.can_sock)
    self.received += raw
    return [[CanData(f.address, f.dat, f.src) for f in messaging.log_from_bytes(data).can] for data in raw]

  def settle(self) -> None:
    """Wait for the car's first frames through cand, then SETTLE_S more for cand's sendcan subscriber to connect:
    a request sent to a silent bus, or before cand listens, is lost, and the ECUs it asked would look absent."""
    first = None
    while first is None or time.monotonic() - first < SETTLE_S:
      if any(self.recv(wait_for_one=True)) and first is None:
        first = time.monotonic()


def no_obd_multiplexing(enabled: bool) -> None:
  """opendbc asks pandad to switch bus 1 to the OBD port for some queries; our adapters have no such relay."""


def query(can_recv: CanRecvCallable, can_send: CanSendCallable) -> FwQueryResult:
  """opendbc's query as its car_helpers runs it: which ECUs are present, then the versions of the likeliest brands
  (stopping at one with a unique match), then the match. Bounded by opendbc's timeouts: about 0.1 s per request."""
  start = time.monotonic()
  present: set[EcuAddrBusType] = get_present_ecus(can_recv, can_send, no_obd_multiplexing)
  car_fw = get_fw_versions_ordered(can_recv, can_send, no_obd_multiplexing, VIN_UNKNOWN, present)
  exact, candidates = match_fw_to_car(car_fw, VIN_UNKNOWN)
  return FwQueryResult(tuple(car_fw), frozenset(str(c) for c in candidates), exact, len(present),
                       time.monotonic() - start)
