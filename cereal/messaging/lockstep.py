"""Lock-step replay: a harness feeds a process its inputs one step at a time and collects what it published.

With `LP_LOCKSTEP` set to a socket name, the process's SubMaster.update() takes its messages (and the clock)
from the harness instead of the live sockets, and PubMaster.send() hands messages back to the harness.
Nothing races: the process sees exactly the recorded inputs, in order, at the recorded times, so its
outputs are a pure function of them.
"""
import os
import struct

import zmq

from cereal.clock import set_replay_time
from cereal.messaging.sockets import context
from cereal.prefix import ipc_endpoint

LOCKSTEP_ENV = "LP_LOCKSTEP"
_STEP, _DONE, _EXIT = b"step", b"done", b"exit"


class LockstepError(RuntimeError):
  pass


class LockstepLink:
  """The process side: one exchange per SubMaster.update()."""

  def __init__(self, name: str):
    self.sock = context().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 1000)
    self.sock.connect(ipc_endpoint(name))
    self.outbox: list[bytes] = []
    self.stepped = False

  def publish(self, data: bytes) -> None:
    self.outbox.append(data)

  def exchange(self) -> list[bytes]:
    """Hand back what the last step produced, then block for the next step's inputs."""
    if self.stepped:
      self.sock.send_multipart([_DONE, *self.outbox], copy=False)
      self.outbox = []
    parts = self.sock.recv_multipart()
    if parts[0] == _EXIT:
      self.sock.send_multipart([_DONE, *self.outbox])
      raise SystemExit(0)
    if parts[0] != _STEP or len(parts) < 2:
      raise LockstepError(f"unexpected lock-step message {parts[0][:16]!r}")
    set_replay_time(struct.unpack("<Q", parts[1])[0])
    self.stepped = True
    return parts[2:]


class LockstepHarness:
  """The replay side: binds the link, then `step()` runs the process once on the given inputs."""

  def __init__(self, name: str, timeout_s: float = 30.0):
    self.name = name
    self.sock = context().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 0)
    self.sock.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    self.sock.bind(ipc_endpoint(name))

  def step(self, t_ns: int, msgs: list[bytes]) -> list[bytes]:
    self.sock.send_multipart([_STEP, struct.pack("<Q", t_ns), *msgs])
    return self._done()

  def finish(self) -> list[bytes]:
    """Tell the process to exit; returns what it published after its last step."""
    self.sock.send_multipart([_EXIT])
    return self._done()

  def _done(self) -> list[bytes]:
    try:
      parts = self.sock.recv_multipart()
    except zmq.Again:
      raise LockstepError(f"process on lock-step link {self.name!r} did not answer (crashed or hung?)") from None
    if parts[0] != _DONE:
      raise LockstepError(f"unexpected lock-step reply {parts[0][:16]!r}")
    return parts[1:]

  def close(self) -> None:
    self.sock.close()


_link: LockstepLink | None = None


def link() -> LockstepLink | None:
  """This process's lock-step link, when it runs under a replay harness."""
  global _link
  name = os.environ.get(LOCKSTEP_ENV)
  if name and _link is None:
    _link = LockstepLink(name)
  return _link
