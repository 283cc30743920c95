"""Messaging benchmark: our PubMaster/SubMaster against bare pyzmq, and VisionIPC frames against zmq copies.

Small messages are real `can` events (2 to 250 frames: ~100 B to 10 KB) at 100 Hz to 3 subscriber processes. Our
layer is measured against bare pyzmq carrying the same capnp messages (`zmq_small_p50_us`: serialized at send, as
anyone sending capnp over zmq must), and against zmq moving bytes serialized beforehand (`zmq_bytes_small_p50_us`:
zmq's own floor, so the cost of capnp serialization shows too). All run in the same invocation, in short
alternating phases, so machine noise hits them alike.
Latency is taken when the message is in the subscriber's hands: the moment SubMaster.update() returns, as the
moment recv() returns for bare zmq. SubMaster defers taking the message in (header, bookkeeping) to the first look
and the body's parse to its first read, so a last phase of ours looks at every message and reads a field of it,
and reports what that first look and read cost after delivery (`small_first_read_p50_us`).
"""
import multiprocessing as mp
import struct
import time

import numpy as np
import zmq

from cereal import messaging
from cereal.clock import mono_time
from cereal.messaging.header import read_header
from cereal.prefix import ipc_endpoint
from tools.bench import frames

RATE_HZ = 100
SUBSCRIBERS = 3
FRAMES_PER_MSG = (2, 250)
CTX = mp.get_context("spawn")
_STAMP = struct.Struct("<Q")  # send time (bare zmq header)


class Control:
  """Out of band, so every message on the bus is a measured one: subscribers say they hear, then record while `go`
  until told to stop. `read_body` makes our subscribers also look at every message and read a field of its body."""

  def __init__(self):
    self.hearing, self.results = CTX.Queue(), CTX.Queue()
    # plain shared bytes: no lock in the hot loop
    self.go, self.stop, self.read_body = CTX.RawValue("b", 0), CTX.RawValue("b", 0), CTX.RawValue("b", 0)


def _ours_receiver(ctl: Control) -> None:
  sm = messaging.SubMaster(["can"], poll="can")
  lat, read, announced = [], [], False
  while not ctl.stop.value:
    sm.update(100)
    now = mono_time()  # delivered: as bare zmq's is when recv() returns; a timed-out update is dropped below
    if not sm.updated["can"]:
      continue
    if ctl.read_body.value:
      _ = sm["can"][0].address
      read.append(mono_time() - now)
    elif ctl.go.value:
      lat.append(now - sm.logMonoTime["can"])
    elif not announced:
      ctl.hearing.put(1)
      announced = True
  ctl.results.put((lat, read))


def _zmq_receiver(ctl: Control, endpoint: str, stamp_prefixed: bool) -> None:
  sock = zmq.Context.instance().socket(zmq.SUB)
  sock.setsockopt(zmq.SUBSCRIBE, b"")
  sock.setsockopt(zmq.RCVTIMEO, 100)
  sock.connect(ipc_endpoint(endpoint))
  lat, announced = [], False
  while not ctl.stop.value:
    try:
      data = sock.recv()
    except zmq.Again:
      continue
    now = time.monotonic_ns()
    if ctl.go.value:
      lat.append(now - (_STAMP.unpack_from(data)[0] if stamp_prefixed else read_header(data).logMonoTime))
    elif not announced:
      ctl.hearing.put(1)
      announced = True
  ctl.results.put((lat, []))


def _can_msg(n_frames: int, rng: np.random.Generator):
  msg = messaging.new_message("can", n_frames)
  payload = rng.integers(0, 256, (n_frames, 8), dtype=np.uint8)
  for i, frame in enumerate(msg.can):
    frame.address = 0x100 + i
    frame.dat = payload[i].tobytes()
    frame.src = 0
  return msg


class _Path:
  """One way of sending, with its own endpoint and its own 3 subscriber processes, which sit blocked in their
  receive while another path sends. All carry the same capnp messages, stamped just before they are sent:
  - "ours": stamp logMonoTime, PubMaster.send (serializes), SubMaster.update;
  - "zmq": bare pyzmq as a user without our layer would carry them: stamp logMonoTime, send(to_bytes()), recv();
  - "zmq_bytes": bare pyzmq moving bytes serialized beforehand behind a stamp prefix: zmq's floor, no capnp at all.
  """

  def __init__(self, kind: str, msgs: dict):
    self.ctl = Control()
    endpoint = f"bench_{kind}_small"
    target, args = (_ours_receiver, (self.ctl,)) if kind == "ours" else \
      (_zmq_receiver, (self.ctl, endpoint, kind == "zmq_bytes"))
    self.procs = [CTX.Process(target=target, args=args, daemon=True) for _ in range(SUBSCRIBERS)]
    for p in self.procs:
      p.start()
    if kind == "ours":
      self.pm = messaging.PubMaster(["can"])
      self.send = lambda n: _send_ours(self.pm, msgs[n])
      self.close = self.pm.close
      return
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(ipc_endpoint(endpoint))
    self.close = sock.close
    if kind == "zmq":
      self.send = lambda n: _send_zmq(sock, msgs[n])
    else:
      blobs = {n: m.to_bytes() for n, m in msgs.items()}
      for m in msgs.values():
        m.clear_write_flag()
      self.send = lambda n: sock.send(_STAMP.pack(time.monotonic_ns()) + blobs[n])

  def wait_heard(self) -> None:
    joined, deadline = 0, time.monotonic() + 30
    while joined < SUBSCRIBERS:
      if time.monotonic() > deadline:
        raise RuntimeError("benchmark subscribers did not start")
      self.send(FRAMES_PER_MSG[0])
      time.sleep(0.01)
      while not self.ctl.hearing.empty():
        joined += self.ctl.hearing.get()
    time.sleep(0.05)  # the last warm-up message is in before measuring starts

  def phase(self, seconds: float, rng: np.random.Generator) -> None:
    period, next_t = 1.0 / RATE_HZ, time.monotonic()
    for _ in range(int(seconds * RATE_HZ)):
      self.send(int(rng.integers(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)))
      next_t += period
      time.sleep(max(0.0, next_t - time.monotonic()))
    time.sleep(0.05)  # the last message is in before the other path sends

  def finish(self) -> tuple[list[int], list[int]]:
    self.ctl.stop.value = 1
    lat: list[int] = []
    read: list[int] = []
    for _ in self.procs:
      a, b = self.ctl.results.get(timeout=30)
      lat += a
      read += b
    for p in self.procs:
      p.join(10)
    self.close()
    return lat, read


def _send_ours(pm: messaging.PubMaster, msg) -> None:
  msg.logMonoTime = mono_time()
  pm.send("can", msg)
  msg.clear_write_flag()  # the same builder is sent again: capnp warns about re-setting fields otherwise


def _send_zmq(sock: zmq.Socket, msg) -> None:
  msg.logMonoTime = time.monotonic_ns()
  sock.send(msg.to_bytes())
  msg.clear_write_flag()


def run(seconds: float = 24.0, phases: int = 24) -> dict[str, float]:
  """The paths take turns, `phases` times each, so a drift in the machine's load hits all alike."""
  rng = np.random.default_rng(0)
  msgs = {n: _can_msg(n, rng) for n in range(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)}
  paths = {kind: _Path(kind, msgs) for kind in ("ours", "zmq", "zmq_bytes")}
  for path in paths.values():
    path.wait_heard()
  for path in paths.values():
    path.ctl.go.value = 1
  for _ in range(phases):
    for path in paths.values():
      path.phase(seconds / phases, rng)
  paths["ours"].ctl.read_body.value = 1
  paths["ours"].phase(min(seconds, 2.0), rng)
  results = {kind: path.finish() for kind, path in paths.items()}
  lat = {kind: np.array(got) / 1e3 for kind, (got, _) in results.items()}
  first_read = np.array(results["ours"][1]) / 1e3
  figures = {
    "small_p50_us": float(np.percentile(lat["ours"], 50)),
    "small_p99_us": float(np.percentile(lat["ours"], 99)),
    "zmq_small_p50_us": float(np.percentile(lat["zmq"], 50)),
    "zmq_small_p99_us": float(np.percentile(lat["zmq"], 99)),
    "zmq_bytes_small_p50_us": float(np.percentile(lat["zmq_bytes"], 50)),
    "small_messages": len(lat["ours"]),
  }
  figures["small_p50_ratio"] = figures["small_p50_us"] / figures["zmq_small_p50_us"]
  figures["small_p50_ratio_to_bytes"] = figures["small_p50_us"] / figures["zmq_bytes_small_p50_us"]
  figures["small_first_read_p50_us"] = float(np.percentile(first_read, 50))  # deferred take-in + parse
  figures.update(frames.run(seconds=max(3.0, seconds / 2)))
  return figures
