"""Messaging benchmark: our PubMaster/SubMaster against bare pyzmq, and VisionIPC frames against zmq copies.

Small messages are real `can` events (2 to 250 frames: ~100 B to 10 KB) at 100 Hz to 3 subscriber processes, the
same bytes on both paths. Both run in the same invocation, in alternating rounds, so machine noise hits them alike.
Latency is taken when the message is in the subscriber's hands (SubMaster.update() returned; recv() returned);
SubMaster defers the body's parse to its first read, so a last round of ours reads a field of every body and
reports what that first read costs (`small_body_read_p50_us`).
"""
import multiprocessing as mp
import struct
import time

import numpy as np
import zmq

from cereal import messaging
from cereal.clock import mono_time
from cereal.prefix import ipc_endpoint
from tools.bench import frames

RATE_HZ = 100
SUBSCRIBERS = 3
FRAMES_PER_MSG = (2, 250)
CTX = mp.get_context("spawn")
_STAMP = struct.Struct("<Q")  # send time (bare zmq header)


class Control:
  """Out of band, so every message on the bus is a measured one: subscribers say they hear, then record until told
  to stop. `read_body` makes our subscribers also read a field of every message (the deferred parse)."""

  def __init__(self, read_body: bool = False):
    self.hearing, self.results = CTX.Queue(), CTX.Queue()
    self.go, self.stop = CTX.RawValue("b", 0), CTX.RawValue("b", 0)  # plain shared bytes: no lock in the hot loop
    self.read_body = read_body


def _ours_receiver(ctl: Control) -> None:
  sm = messaging.SubMaster(["can"], poll="can")
  lat, parse, announced = [], [], False
  while not ctl.stop.value:
    sm.update(100)
    if not sm.updated["can"]:
      continue
    now = mono_time()
    if ctl.go.value:
      lat.append(now - sm.logMonoTime["can"])
      if ctl.read_body:
        _ = sm["can"][0].address
        parse.append(mono_time() - now)
    elif not announced:
      ctl.hearing.put(1)
      announced = True
  ctl.results.put((lat, parse))


def _zmq_receiver(ctl: Control) -> None:
  sock = zmq.Context.instance().socket(zmq.SUB)
  sock.setsockopt(zmq.SUBSCRIBE, b"")
  sock.setsockopt(zmq.RCVTIMEO, 100)
  sock.connect(ipc_endpoint("bench_zmq_small"))
  lat, announced = [], False
  while not ctl.stop.value:
    try:
      data = sock.recv()
    except zmq.Again:
      continue
    now = time.monotonic_ns()
    if ctl.go.value:
      lat.append(now - _STAMP.unpack_from(data)[0])
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


def _round(ours: bool, seconds: float, rng: np.random.Generator, read_body: bool = False) -> tuple[list, list]:
  """Both paths carry the same capnp messages; ours stamps logMonoTime and serializes in PubMaster.send, bare zmq
  prefixes a time stamp to the serialized bytes."""
  ctl = Control(read_body)
  procs = [CTX.Process(target=_ours_receiver if ours else _zmq_receiver, args=(ctl,), daemon=True)
           for _ in range(SUBSCRIBERS)]
  for p in procs:
    p.start()
  msgs = {n: _can_msg(n, rng) for n in range(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)}
  if ours:
    pm = messaging.PubMaster(["can"])
    send = lambda n: _send_ours(pm, msgs[n])
  else:
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(ipc_endpoint("bench_zmq_small"))
    blobs = {n: m.to_bytes() for n, m in msgs.items()}
    send = lambda n: sock.send(_STAMP.pack(time.monotonic_ns()) + blobs[n])
  joined, deadline = 0, time.monotonic() + 30
  while joined < SUBSCRIBERS:
    if time.monotonic() > deadline:
      raise RuntimeError("benchmark subscribers did not start")
    send(FRAMES_PER_MSG[0])
    time.sleep(0.01)
    while not ctl.hearing.empty():
      joined += ctl.hearing.get()
  time.sleep(0.05)  # the last warm-up message is in before measuring starts
  ctl.go.value = 1
  period = 1.0 / RATE_HZ
  next_t = time.monotonic()
  for _ in range(int(seconds * RATE_HZ)):
    send(int(rng.integers(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)))
    next_t += period
    time.sleep(max(0.0, next_t - time.monotonic()))
  time.sleep(0.05)
  ctl.stop.value = 1
  lat: list[int] = []
  parse: list[int] = []
  for _ in procs:
    a, b = ctl.results.get(timeout=30)
    lat += a
    parse += b
  for p in procs:
    p.join(10)
  if ours:
    pm.close()
  else:
    sock.close()
  return lat, parse


def _send_ours(pm: messaging.PubMaster, msg) -> None:
  msg.logMonoTime = mono_time()
  pm.send("can", msg)
  msg.clear_write_flag()  # the same builder is sent again: capnp warns about re-setting fields otherwise


def run(seconds: float = 12.0, rounds: int = 3) -> dict[str, float]:
  rng = np.random.default_rng(0)
  ours: list[int] = []
  bare: list[int] = []
  for _ in range(rounds):
    ours += _round(True, seconds / rounds, rng)[0]
    bare += _round(False, seconds / rounds, rng)[0]
  read = np.array(_round(True, seconds / rounds, rng, read_body=True)[1]) / 1e3
  o, b = np.array(ours) / 1e3, np.array(bare) / 1e3
  figures = {
    "small_p50_us": float(np.percentile(o, 50)),
    "small_p99_us": float(np.percentile(o, 99)),
    "zmq_small_p50_us": float(np.percentile(b, 50)),
    "zmq_small_p99_us": float(np.percentile(b, 99)),
    "small_messages": len(o),
  }
  figures["small_p50_ratio"] = figures["small_p50_us"] / figures["zmq_small_p50_us"]
  figures["small_body_read_p50_us"] = float(np.percentile(read, 50))  # the first read of a body: the deferred parse
  figures.update(frames.run(seconds=max(3.0, seconds / 2)))
  return figures
