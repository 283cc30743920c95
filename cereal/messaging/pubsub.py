"""PubMaster and SubMaster: what a process uses to publish its outputs and follow the latest of its inputs."""
from collections import deque

import zmq

from cereal.clock import mono_time
from cereal.messaging import lockstep
from cereal.messaging.header import read_header
from cereal.messaging.sockets import (
  UnknownServiceError,
  log_from_bytes,
  new_message,
  pub_sock,
  sub_sock,
)
from cereal.services import SERVICES

ALIVE_PERIODS = 10        # a service is dead after missing this many of its periods
STALE_PERIODS = 3         # ... and its frequency is not ok after missing this many
FREQ_WINDOW_S = 1.0       # frequency is measured over about this long (at least MIN_FREQ_SAMPLES messages)
MIN_FREQ_SAMPLES = 5
FREQ_TOLERANCE = (0.8, 1.25)
ON_CHANGE_HZ = 1.0        # services below this rate are published on change: alive once seen


def _check_service(data: bytes, service: str) -> None:
  which = read_header(data).which
  if which != service:
    raise ValueError(f"a {which!r} message sent on {service!r}")


class PubMaster:
  def __init__(self, services: list[str]):
    self.link = lockstep.link()
    for s in services:
      if s not in SERVICES:
        raise UnknownServiceError(s)
    self.socks = {} if self.link else {s: pub_sock(s) for s in services}
    self.services = set(services)

  def send(self, service: str, msg) -> None:
    """Publish an Event builder (or its bytes) on a service this PubMaster owns.

    Bytes (from a log, a bridge) are checked whole before they go out. A builder serializes to sound capnp and is
    checked for its service right after it went out, raising just the same: nothing but the serialization stands
    between the caller's time stamp and the send (a publisher wakes cache-cold on this 2-core machine, where every
    line of Python costs microseconds)."""
    built = not isinstance(msg, bytes)
    if not built:
      _check_service(msg, service)
    data = msg.to_bytes() if built else msg
    sock = self.socks.get(service)
    if sock is not None:
      sock.send(data)
    elif self.link is not None and service in self.services:
      self.link.publish(data)
    else:
      raise ValueError(f"this PubMaster publishes {sorted(self.services)}, not {service!r}")
    if built:
      _check_service(data, service)  # off the bytes: a builder's which() costs pycapnp ~3 us, more than the send

  def close(self) -> None:
    for sock in self.socks.values():
      sock.close()


class SubMaster:
  """The latest message of each subscribed service, with liveness, frequency and validity checks.

  `update()` waits (on `poll`'s service alone if given, else on any), receives whatever else arrived and returns.
  The messages are taken in (their headers read, cereal/messaging/header.py) at the first look at any of `updated`,
  `logMonoTime`, ...; a body is parsed when first read (`sm[s]`) and the checks (`alive`, `freq_ok`) run when first
  asked for. So a process pays for what it uses and a wake-up stays short: every microsecond a subscriber spends
  after waking delays the others on a busy machine.
  """

  def __init__(self, services: list[str], poll: str | None = None, ignore_alive: list[str] | None = None,
               ignore_avg_freq: list[str] | None = None, ignore_valid: list[str] | None = None):
    for s in services:
      if s not in SERVICES:
        raise UnknownServiceError(s)
    if poll is not None and poll not in services:
      raise ValueError(f"poll service {poll!r} is not among the subscribed services")
    self.services = list(services)
    self.ignore_alive = set(ignore_alive or [])
    self.ignore_avg_freq = set(ignore_avg_freq or [])
    self.ignore_valid = set(ignore_valid or [])
    self._frame = -1
    self._updated = dict.fromkeys(services, False)
    self._seen = dict.fromkeys(services, False)
    self._recv_time = dict.fromkeys(services, 0)      # ns, stack clock
    self._recv_frame = dict.fromkeys(services, 0)
    self._alive = dict.fromkeys(services, False)
    self._freq_ok = dict.fromkeys(services, False)
    self._valid = dict.fromkeys(services, False)
    self._logMonoTime = dict.fromkeys(services, 0)
    self._pending: tuple[int, list[bytes]] | None = None  # the last update's (time, messages), not taken in yet
    self._unparsed: dict[str, bytes] = {}            # taken in, body not read yet
    self._now = 0                                     # the last update's time: what the checks are computed for
    self._checked_frame = -1
    update_hz = SERVICES[poll].frequency if poll is not None else float("inf")
    # with conflation a subscriber sees at most one message per update: expect no more than that
    self.expected_hz = {s: min(SERVICES[s].frequency, update_hz) for s in services}
    self._recv_times = {s: deque(maxlen=max(MIN_FREQ_SAMPLES, int(self.expected_hz[s] * FREQ_WINDOW_S)))
                        for s in services}
    self._data = {s: getattr(new_message(s).as_reader(), s) for s in services}

    self.link = lockstep.link()
    self.socks: dict[str, zmq.Socket] = {}
    self.poller = zmq.Poller()
    self._poll_timeout_ms: int | None = None
    self._taken: list[str] = []                       # the services updated in the last frame
    if self.link is None:
      self.socks = {s: sub_sock(s, conflate=True) for s in services}
      if poll is None:
        for sock in self.socks.values():
          self.poller.register(sock, zmq.POLLIN)
    self._poll_sock = self.socks.get(poll)  # None: no poll service, or lock-step
    self._other_socks = [sock for s, sock in self.socks.items() if s != poll]

  def __getitem__(self, service: str):
    self._settled()
    if service in self._unparsed:
      self._parse(service)
    return self._data[service]

  # what update() received, read after its messages are taken in (on this first look)
  frame = property(lambda sm: sm._settled()._frame)
  updated = property(lambda sm: sm._settled()._updated)
  seen = property(lambda sm: sm._settled()._seen)
  recv_time = property(lambda sm: sm._settled()._recv_time)
  recv_frame = property(lambda sm: sm._settled()._recv_frame)
  valid = property(lambda sm: sm._settled()._valid)
  logMonoTime = property(lambda sm: sm._settled()._logMonoTime)

  @property
  def alive(self) -> dict[str, bool]:
    self._settled()._check_all()
    return self._alive

  @property
  def freq_ok(self) -> dict[str, bool]:
    self._settled()._check_all()
    return self._freq_ok

  def update(self, timeout_ms: int = 100) -> None:
    self._settled()  # the previous update's messages, if never looked at, go in before we wait
    if self.link is not None:
      msgs = self.link.exchange()  # sets the clock to the step's time: read it after
      self.update_msgs(mono_time(), msgs)
      return
    if self._poll_sock is not None:
      # block in recv itself: measured ~100 us quicker to wake than zmq_poll followed by recv
      if timeout_ms != self._poll_timeout_ms:
        self._poll_sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self._poll_timeout_ms = timeout_ms
      try:
        got = [self._poll_sock.recv()]
      except zmq.Again:  # nothing within the timeout: an update with nothing new
        got = []
    else:
      self.poller.poll(timeout_ms)
      got = []
    for sock in self._other_socks:
      # a conflated socket holds at most one message; asking EVENTS is cheaper than a recv that raises zmq.Again
      if sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
        got.append(sock.recv(zmq.NOBLOCK))
    self._pending = (mono_time(), got)

  def update_msgs(self, now_ns: int, msgs: list[bytes]) -> None:
    """Take in raw messages received at `now_ns` (lock-step replay and tools feed messages this way)."""
    self._settled()
    self._pending = (now_ns, msgs)

  def _settled(self) -> "SubMaster":
    if self._pending is not None:
      self._take_pending()
    return self

  def _take_pending(self) -> None:
    """The last update's messages in, on first look. update() itself only receives: measured on this 2-core
    machine, the first ~40 us of Python a subscriber runs after waking are cache-cold, and a wake-up that hands the
    message straight back delivers it that much sooner."""
    now_ns, msgs = self._pending
    self._pending = None
    self._frame += 1
    self._now = now_ns
    updated = self._updated
    for s in self._taken:
      updated[s] = False
    self._taken = taken = []
    for data in msgs:
      header = read_header(data)
      s = header.which
      if s not in updated:  # lock-step and tools hand over every message of a step
        continue
      updated[s] = self._seen[s] = True
      taken.append(s)
      self._logMonoTime[s] = header.logMonoTime
      self._valid[s] = header.valid
      self._recv_time[s] = now_ns
      self._recv_frame[s] = self._frame
      self._recv_times[s].append(now_ns)
      self._unparsed[s] = data

  def _parse(self, s: str) -> None:
    # the bytes go only once parsed: a body that fails to parse fails every read, never shows the previous message
    self._data[s] = getattr(log_from_bytes(self._unparsed[s]), s)
    del self._unparsed[s]

  def _check_all(self) -> None:
    if self._checked_frame == self._frame:
      return
    self._checked_frame = self._frame
    for s in self.services:
      self._check(s, self._now)

  def _check(self, s: str, now_ns: int) -> None:
    hz = self.expected_hz[s]
    if not self._seen[s]:
      self._alive[s] = self._freq_ok[s] = False
      return
    if hz < ON_CHANGE_HZ:
      self._alive[s] = self._freq_ok[s] = True
      return
    since_last = (now_ns - self._recv_time[s]) * 1e-9
    self._alive[s] = since_last < ALIVE_PERIODS / hz
    times = self._recv_times[s]
    if len(times) < MIN_FREQ_SAMPLES or since_last > STALE_PERIODS / hz:
      self._freq_ok[s] = False
      return
    span = (times[-1] - times[0]) * 1e-9
    measured = (len(times) - 1) / span if span > 0 else float("inf")
    self._freq_ok[s] = FREQ_TOLERANCE[0] * hz <= measured <= FREQ_TOLERANCE[1] * hz

  def all_alive(self, services: list[str] | None = None) -> bool:
    return all(self.alive[s] for s in (services or self.services) if s not in self.ignore_alive)

  def all_freq_ok(self, services: list[str] | None = None) -> bool:
    return all(self.freq_ok[s] for s in (services or self.services) if s not in self.ignore_avg_freq)

  def all_valid(self, services: list[str] | None = None) -> bool:
    return all(self.valid[s] for s in (services or self.services) if s not in self.ignore_valid)

  def all_checks(self, services: list[str] | None = None) -> bool:
    return self.all_alive(services) and self.all_freq_ok(services) and self.all_valid(services)

  def close(self) -> None:
    for sock in self.socks.values():
      sock.close()
