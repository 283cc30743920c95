"""Lock-step replay: a harness feeds a process its inputs one step at a time and collects what it published.

With `LP_LOCKSTEP` set to a socket name, the process's SubMaster.update() takes its messages (and the clock)
from the harness instead of the live sockets, and PubMaster.send() hands messages back to the harness.
Nothing races: the process sees exactly the recorded inputs, in order, at the recorded times, so its
outputs are a pure function of them.

The harness may send many steps in one message (`run`): replayed inputs never depend on the outputs, so a batch
costs one round trip between the processes instead of one a step (~170 us, the most of a controlsd step).

A process that reads camera frames (modeld) steps on them: the harness writes each frame into a real VisionIPC
server and hands its notification over with the step (`step(..., frame=)`); the process's VisionIpcClient.recv()
takes the step, returns that frame, and keeps the step's messages for the SubMaster.update() that follows.
"""
import os
import struct
import subprocess
import time
from collections import deque
from collections.abc import Sequence

import zmq

from cereal.clock import set_replay_time
from cereal.messaging.sockets import context
from cereal.prefix import ipc_endpoint

LOCKSTEP_ENV = "LP_LOCKSTEP"
_STEP, _FRAME_STEP, _DONE, _EXIT = b"step", b"frame", b"done", b"exit"
WATCH_MS = 100                         # how often a waiting harness looks whether its process is still running
_STEP_HEADER = struct.Struct("<QI")   # per step of a batch: its time (ns), how many of the messages that follow are its
Step = tuple[int, list[bytes]]         # (time ns, input messages)


class LockstepError(RuntimeError):
  pass


class LockstepLink:
  """The process side: one exchange per SubMaster.update()."""

  def __init__(self, name: str):
    self.sock = context().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 1000)
    self.sock.connect(ipc_endpoint(name))
    self.outbox: list[bytes] = []
    self.pending: deque[Step] = deque()   # the rest of the batch being run
    self.taken: list[bytes] | None = None  # a frame step's messages, taken in by recv_frame(), for update()
    self.frame: bytes | None = None        # the VisionIPC notification of the step just taken
    self.stepped = False

  def publish(self, data: bytes) -> None:
    self.outbox.append(data)

  def exchange(self) -> list[bytes]:
    """The next step's inputs; at the end of a batch, first hand back everything it published and wait."""
    if self.taken is not None:   # recv_frame() took this step in already
      msgs, self.taken = self.taken, None
      return msgs
    if not self.pending:
      if self.stepped:
        self.sock.send_multipart([_DONE, *self.outbox], copy=False)
        self.outbox = []
      kind, *parts = self.sock.recv_multipart()
      if kind == _EXIT:
        self.sock.send_multipart([_DONE, *self.outbox])
        raise SystemExit(0)
      self.frame = parts.pop(1) if kind == _FRAME_STEP and len(parts) >= 2 else None
      if kind not in (_STEP, _FRAME_STEP) or not parts:
        raise LockstepError(f"unexpected lock-step message {kind[:16]!r}")
      self.pending.extend(_unpack_batch(parts[0], parts[1:]))
    t, msgs = self.pending.popleft()
    set_replay_time(t)
    self.stepped = True
    return msgs

  def recv_frame(self) -> bytes:
    """Take the next step in for its camera frame: the frame's VisionIPC notification; the step's messages wait for
    the next exchange() (messages of an earlier frame step never read are dropped, as a live socket conflates)."""
    self.taken = None
    self.taken = self.exchange()
    if self.frame is None:
      raise LockstepError("a frame was asked for and the step carries none")
    return self.frame


def _pack_batch(steps: Sequence[Step], frame: bytes | None = None) -> list[bytes]:
  """[kind, header, (the frame's notification,) messages...]: a frame rides only with a single step."""
  header = b"".join(_STEP_HEADER.pack(t, len(msgs)) for t, msgs in steps)
  head = [_STEP, header] if frame is None else [_FRAME_STEP, header, frame]
  return [*head, *(m for _, msgs in steps for m in msgs)]


def _unpack_batch(header: bytes, msgs: list[bytes]) -> list[Step]:
  if not header or len(header) % _STEP_HEADER.size:
    raise LockstepError(f"a lock-step batch header of {len(header)} bytes")
  out, i = [], 0
  for t, n in _STEP_HEADER.iter_unpack(header):
    out.append((t, msgs[i:i + n]))
    i += n
  if i != len(msgs):
    raise LockstepError(f"a lock-step batch names {i} messages and carries {len(msgs)}")
  return out


class LockstepHarness:
  """The replay side: binds the link, then `step()` runs the process once on the given inputs. With the process
  given (`watch`), a process that exits is told at once, not after the timeout."""

  def __init__(self, name: str, timeout_s: float = 30.0):
    self.name = name
    self.timeout_s = timeout_s
    self.process: subprocess.Popen | None = None
    self.sock = context().socket(zmq.PAIR)
    self.sock.setsockopt(zmq.LINGER, 0)
    self.sock.bind(ipc_endpoint(name))

  def watch(self, process: subprocess.Popen) -> None:
    self.process = process

  def step(self, t_ns: int, msgs: list[bytes], frame: bytes | None = None) -> list[bytes]:
    """Run the process once on `msgs` at `t_ns` (and the camera frame whose VisionIPC notification is `frame`);
    what it published."""
    self.sock.send_multipart(_pack_batch([(t_ns, msgs)], frame))
    return self._done()

  def run(self, steps: Sequence[Step]) -> list[bytes]:
    """Run the process through several steps in one exchange; everything they published, in order."""
    self.sock.send_multipart(_pack_batch(steps))
    return self._done()

  def finish(self) -> list[bytes]:
    """Tell the process to exit; returns what it published after its last step."""
    self.sock.send_multipart([_EXIT])
    return self._done()

  def _done(self) -> list[bytes]:
    deadline = time.monotonic() + self.timeout_s
    while not self.sock.poll(WATCH_MS):
      if self.process is not None and self.process.poll() is not None:
        raise LockstepError(f"the process exited with {self.process.returncode} without answering")
      if time.monotonic() > deadline:
        raise LockstepError(f"process on lock-step link {self.name!r} did not answer (crashed or hung?)")
    parts = self.sock.recv_multipart()
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
