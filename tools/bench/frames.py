"""Camera frames (NV12 1928x1208, 3.5 MB) at 20 Hz into another process, side by side in one run:
VisionIPC (shared memory + a small notification) against copying each frame through a bare zmq PUB/SUB.

Latency is one-way, from just before the sender's send call (for VisionIPC that includes copying the frame into
its slot: frame_send_p50_us) to the receiver holding a view of the frame, on the shared CLOCK_MONOTONIC.
Receiver CPU is its process time (all threads, user + system) over wall time, in percent of one core.

  python -m tools.bench.frames [seconds]
"""
import json
import multiprocessing as mp
import os
import struct
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

import numpy as np
import zmq

from cereal import prefix
from cereal.visionipc import PixelFormat, VisionIpcClient, VisionIpcServer, VisionStreamType

NAME, ZMQ_NAME = "bench", "bench-zmq-frames"
ROAD = VisionStreamType.ROAD
W, H, RATE_HZ = 1928, 1208, 20
MEASURED = 1 << 32  # frame ids from here on are measured; below are warm-up frames
STOP = 2**64 - 1
ZMQ_HEADER = struct.Struct("<QQ")  # frame_id, send time (ns)
TIMEOUT_S = 10.0


def _result(lat_ns: list[int], cpu0: int, wall0: int) -> dict[str, float | list[int]]:
  return {"lat_ns": lat_ns, "cpu_ns": time.process_time_ns() - cpu0, "wall_ns": time.monotonic_ns() - wall0}


def _vipc_receiver(conn: Connection) -> None:
  with VisionIpcClient(NAME, ROAD) as client:
    if not client.connect(TIMEOUT_S):
      raise TimeoutError("no VisionIPC server")
    lat, ready, cpu0, wall0 = [], False, 0, 0
    while (buf := client.recv(int(TIMEOUT_S * 1000))) is not None:
      data = buf.data  # the frame, a view into shared memory
      now = time.monotonic_ns()
      if buf.frame_id == STOP:
        break
      if buf.frame_id < MEASURED:
        if not ready:
          conn.send("ready")
          ready = True
        continue
      if not lat:
        cpu0, wall0 = time.process_time_ns(), now
      lat.append(now - buf.timestamp_eof)
      assert data.size == buf.width * buf.height * 3 // 2
    conn.send(_result(lat, cpu0, wall0))


def _zmq_receiver(conn: Connection) -> None:
  ctx = zmq.Context()
  sock = ctx.socket(zmq.SUB)
  sock.setsockopt(zmq.LINGER, 0)
  sock.setsockopt(zmq.SUBSCRIBE, b"")
  sock.connect(prefix.ipc_endpoint(ZMQ_NAME))
  lat, ready, cpu0, wall0 = [], False, 0, 0
  while sock.poll(int(TIMEOUT_S * 1000)):
    header, payload = sock.recv_multipart(copy=False)
    data = np.frombuffer(payload.buffer, np.uint8)  # the frame, copied into this process by zmq
    now = time.monotonic_ns()
    frame_id, t_send = ZMQ_HEADER.unpack(header.buffer)
    if frame_id == STOP:
      break
    if frame_id < MEASURED:
      if not ready:
        conn.send("ready")
        ready = True
      continue
    if not lat:
      cpu0, wall0 = time.process_time_ns(), now
    lat.append(now - t_send)
    assert data.size == W * H * 3 // 2
  sock.close()
  ctx.term()
  conn.send(_result(lat, cpu0, wall0))


@contextmanager
def private_prefix() -> Iterator[None]:
  """Run under a prefix of our own, so a running stack (or another bench) is never disturbed."""
  old = os.environ.get(prefix.PREFIX_ENV)
  os.environ[prefix.PREFIX_ENV] = f"bench-{os.getpid()}"
  try:
    yield
  finally:
    prefix.cleanup()
    if old is None:
      del os.environ[prefix.PREFIX_ENV]
    else:
      os.environ[prefix.PREFIX_ENV] = old


def _pct(lat_ns: list[int], q: float) -> float:
  return float(np.percentile(np.asarray(lat_ns), q)) / 1e3 if lat_ns else float("nan")


def run(seconds: float = 5.0) -> dict[str, float]:
  spawn = mp.get_context("spawn")
  frame = np.frombuffer(np.random.default_rng(0).bytes(W * H * 3 // 2), np.uint8).reshape(H * 3 // 2, W)
  period_ns = 1_000_000_000 // RATE_HZ
  with private_prefix(), VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 4, W, H, PixelFormat.NV12)
    server.start_listener()
    zctx = zmq.Context()
    pub = zctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(prefix.ipc_endpoint(ZMQ_NAME))
    pipes, procs = [], []
    for target in (_vipc_receiver, _zmq_receiver):
      ours, theirs = spawn.Pipe()
      procs.append(spawn.Process(target=target, args=(theirs,), daemon=True))
      procs[-1].start()
      pipes.append(ours)

    send_ns: list[int] = []

    def send(frame_id: int) -> None:
      """VisionIPC now, zmq half a period later, so neither receiver competes with the other for a core."""
      t = time.monotonic_ns()
      server.send(ROAD, frame, frame_id, t, t)
      if MEASURED <= frame_id < STOP:
        send_ns.append(time.monotonic_ns() - t)
      time.sleep(max(0.0, (t + period_ns // 2 - time.monotonic_ns()) / 1e9))
      pub.send_multipart([ZMQ_HEADER.pack(frame_id, time.monotonic_ns()), frame], copy=False)

    try:
      warm, deadline, ready = 0, time.monotonic() + TIMEOUT_S, [False, False]
      while not all(ready) or warm < RATE_HZ:  # until both subscriptions are live, and at least a second
        if time.monotonic() > deadline:
          raise TimeoutError("receivers never got a frame")
        t_next = time.monotonic_ns() + period_ns
        send(warm)
        warm += 1
        ready = [r or p.poll(0) for r, p in zip(ready, pipes, strict=True)]
        time.sleep(max(0.0, (t_next - time.monotonic_ns()) / 1e9))
      t_next = time.monotonic_ns()
      for i in range(max(1, round(seconds * RATE_HZ))):
        time.sleep(max(0.0, (t_next - time.monotonic_ns()) / 1e9))
        t_next += period_ns
        send(MEASURED + i)
      time.sleep(max(0.0, (t_next - time.monotonic_ns()) / 1e9))
      send(STOP)
      results = []
      for p in pipes:
        while (msg := p.recv() if p.poll(TIMEOUT_S) else None) == "ready":
          pass
        if msg is None:
          raise TimeoutError("a receiver did not report")
        results.append(msg)
    finally:
      for proc in procs:
        proc.join(TIMEOUT_S)
        if proc.is_alive():
          proc.kill()
      pub.close()
      zctx.term()
  vipc, zq = results
  return {
    "frame_p50_us": _pct(vipc["lat_ns"], 50), "frame_p99_us": _pct(vipc["lat_ns"], 99),
    "frame_recv_cpu_pct": 100.0 * vipc["cpu_ns"] / vipc["wall_ns"],
    "frame_send_p50_us": _pct(send_ns, 50),  # the sender's part of frame_p50_us: the copy into the slot, publish
    "zmq_frame_p50_us": _pct(zq["lat_ns"], 50), "zmq_frame_p99_us": _pct(zq["lat_ns"], 99),
    "zmq_frame_recv_cpu_pct": 100.0 * zq["cpu_ns"] / zq["wall_ns"],
    "frames": float(len(vipc["lat_ns"])), "zmq_frames": float(len(zq["lat_ns"])),
  }


if __name__ == "__main__":
  print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0), indent=2))
