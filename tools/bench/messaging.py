"""Messaging benchmark: our PubMaster/SubMaster against bare pyzmq, and VisionIPC frames against zmq copies.

Small messages are real `can` events (2 to 250 frames: ~100 B to 10 KB) at 100 Hz to 3 subscriber processes.
Both paths run in the same invocation, in alternating rounds, so machine noise hits them alike.
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
WARMUP_ADDR, STOP_ADDR, DATA_ADDR = 1, 2, 3
CTX = mp.get_context("spawn")
_STAMP = struct.Struct("<QI")  # send time, kind (bare zmq header)


def _ours_receiver(ready, results) -> None:
  sm = messaging.SubMaster(["can"], poll="can")
  lat, announced = [], False
  while True:
    sm.update(1000)
    if not sm.updated["can"]:
      continue
    now = mono_time()
    kind = sm["can"][0].address
    if kind == DATA_ADDR:
      lat.append(now - sm.logMonoTime["can"])
    elif kind == WARMUP_ADDR and not announced:
      ready.put(1)
      announced = True
    elif kind == STOP_ADDR:
      results.put(lat)
      return


def _zmq_receiver(ready, results) -> None:
  sock = zmq.Context.instance().socket(zmq.SUB)
  sock.setsockopt(zmq.SUBSCRIBE, b"")
  sock.connect(ipc_endpoint("bench_zmq_small"))
  lat, announced = [], False
  while True:
    data = sock.recv()
    now = time.monotonic_ns()
    t, kind = _STAMP.unpack_from(data)
    if kind == DATA_ADDR:
      lat.append(now - t)
    elif kind == WARMUP_ADDR and not announced:
      ready.put(1)
      announced = True
    elif kind == STOP_ADDR:
      results.put(lat)
      return


def _can_msg(n_frames: int, kind: int, rng: np.random.Generator):
  msg = messaging.new_message("can", n_frames)
  payload = rng.integers(0, 256, (n_frames, 8), dtype=np.uint8)
  for i, frame in enumerate(msg.can):
    frame.address = kind if i == 0 else 0x100 + i
    frame.dat = payload[i].tobytes()
    frame.src = 0
  return msg


def _round(ours: bool, seconds: float, rng: np.random.Generator) -> list[int]:
  ready, results = CTX.Queue(), CTX.Queue()
  target = _ours_receiver if ours else _zmq_receiver
  procs = [CTX.Process(target=target, args=(ready, results), daemon=True) for _ in range(SUBSCRIBERS)]
  for p in procs:
    p.start()
  if ours:
    pm = messaging.PubMaster(["can"])
    send = lambda n, kind: _send_ours(pm, n, kind, rng)
  else:
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(ipc_endpoint("bench_zmq_small"))
    blobs = {n: _can_msg(n, DATA_ADDR, rng).to_bytes() for n in range(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)}
    send = lambda n, kind: sock.send(_STAMP.pack(time.monotonic_ns(), kind) + blobs[n])
  joined, deadline = 0, time.monotonic() + 30
  while joined < SUBSCRIBERS:
    if time.monotonic() > deadline:
      raise RuntimeError("benchmark subscribers did not start")
    send(FRAMES_PER_MSG[0], WARMUP_ADDR)
    time.sleep(0.01)
    while not ready.empty():
      joined += ready.get()
  period = 1.0 / RATE_HZ
  next_t = time.monotonic()
  for _ in range(int(seconds * RATE_HZ)):
    send(int(rng.integers(FRAMES_PER_MSG[0], FRAMES_PER_MSG[1] + 1)), DATA_ADDR)
    next_t += period
    time.sleep(max(0.0, next_t - time.monotonic()))
  lat: list[int] = []
  for _ in range(5):  # the stop message itself can be conflated away behind data: repeat it
    send(FRAMES_PER_MSG[0], STOP_ADDR)
    time.sleep(0.02)
  for _ in procs:
    lat += results.get(timeout=30)
  for p in procs:
    p.join(10)
  if ours:
    pm.close()
  else:
    sock.close()
  return lat


def _send_ours(pm: messaging.PubMaster, n: int, kind: int, rng: np.random.Generator) -> None:
  msg = _can_msg(n, kind, rng)
  msg.logMonoTime = mono_time()
  pm.send("can", msg)


def run(seconds: float = 12.0, rounds: int = 3) -> dict[str, float]:
  rng = np.random.default_rng(0)
  ours: list[int] = []
  bare: list[int] = []
  for _ in range(rounds):
    ours += _round(True, seconds / rounds, rng)
    bare += _round(False, seconds / rounds, rng)
  o, b = np.array(ours) / 1e3, np.array(bare) / 1e3
  figures = {
    "small_p50_us": float(np.percentile(o, 50)),
    "small_p99_us": float(np.percentile(o, 99)),
    "zmq_small_p50_us": float(np.percentile(b, 50)),
    "zmq_small_p99_us": float(np.percentile(b, 99)),
    "small_messages": len(o),
  }
  figures["small_p50_ratio"] = figures["small_p50_us"] / figures["zmq_small_p50_us"]
  figures.update(frames.run(seconds=max(3.0, seconds / 2)))
  return figures
