"""VisionIPC across real processes: bit-exact frames, late/dead clients, server restarts, torn frames, cleanup."""
import hashlib
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np
import pytest

from cereal import prefix
from cereal.visionipc import Layout, PixelFormat, VisionIpcClient, VisionIpcServer, VisionStreamType
from cereal.visionipc.buffers import HEADER_SIZE, stream_path

NAME = "cam"
ROAD, DRIVER = VisionStreamType.ROAD, VisionStreamType.DRIVER
W, H = 1928, 1208
FILLER_ID = 1 << 40  # frame ids of handshake frames, apart from the ones a test checks
DEADLINE_S = 10.0
SPAWN = mp.get_context("spawn")


def _digest(a: np.ndarray) -> bytes:
  return hashlib.blake2b(a, digest_size=16).digest()


def _random_frame(seed: int, shape: tuple[int, ...]) -> np.ndarray:
  return np.frombuffer(np.random.default_rng(seed).bytes(int(np.prod(shape))), np.uint8).reshape(shape)


# ---- child processes (module level so 'spawn' can import them) ----

def _reader(conn: Connection, stream: VisionStreamType) -> None:
  """Reports (frame_id, server_id, digest, valid, reconnects) for every frame until told to stop."""
  with VisionIpcClient(NAME, stream) as c:
    connected = c.connect(0.0)
    conn.send("connected" if connected else "waiting")
    if not connected and not c.connect(DEADLINE_S):
      return
    while not conn.poll():
      buf = c.recv(20)
      if buf is not None:
        digest = _digest(buf.data)
        conn.send((buf.frame_id, buf.server_id, digest, buf.valid(), c.reconnects))


def _holder(conn: Connection) -> None:
  """Receives one frame, keeps its view while the parent laps every slot, then says whether it noticed."""
  with VisionIpcClient(NAME, ROAD) as c:
    assert c.connect(DEADLINE_S)
    while (buf := c.recv(20)) is None or buf.frame_id >= FILLER_ID:
      if buf is not None:
        conn.send(("filler",))
    before = _digest(buf.data)
    conn.send(("holding", buf.frame_id, buf.valid()))
    assert conn.recv() == "lapped"
    after = _digest(buf.data)
    conn.send(("after", buf.valid(), before == after))


def _serve(conn: Connection, fill: int) -> None:
  """A server that sends frames filled with `fill` every 5 ms until told to stop (or killed)."""
  with VisionIpcServer(NAME) as s:
    s.create_buffers(ROAD, 4, 64, 32, PixelFormat.NV12)
    s.start_listener()
    conn.send(s.server_id)
    frame, i = np.full(s.layout(ROAD).frame_shape, fill, np.uint8), 0
    while not conn.poll(0.005):
      s.send(ROAD, frame, i, i, i)
      i += 1


# ---- helpers ----

@pytest.fixture
def spawn() -> Iterator:
  """Start a child with a pipe to it; every child still alive at the end is killed."""
  procs: list[mp.process.BaseProcess] = []

  def start(target, *args) -> tuple[mp.process.BaseProcess, Connection]:
    ours, theirs = SPAWN.Pipe()
    p = SPAWN.Process(target=target, args=(theirs, *args), daemon=True)
    p.start()
    procs.append(p)
    return p, ours
  yield start
  for p in procs:
    if p.is_alive():
      p.kill()
    p.join(DEADLINE_S)


def _start_reader(spawn, stream: VisionStreamType) -> tuple[mp.process.BaseProcess, Connection, str]:
  """A reader child, once it tried to connect: 'connected', or 'waiting' for the server to appear."""
  proc, conn = spawn(_reader, stream)
  return proc, conn, _recv(conn, time.monotonic() + DEADLINE_S)


def _recv(conn: Connection, deadline: float):
  if not conn.poll(max(0.0, deadline - time.monotonic())):
    raise TimeoutError("child process did not answer in time")
  return conn.recv()


def _handshake(server: VisionIpcServer, stream: VisionStreamType, conns: list[Connection]) -> None:
  """Send filler frames until every reader got one: from then on its subscription is live."""
  filler, fid = np.zeros(server.layout(stream).frame_shape, np.uint8), FILLER_ID
  pending, deadline = set(range(len(conns))), time.monotonic() + DEADLINE_S
  while pending:
    assert time.monotonic() < deadline, "readers never received a frame"
    server.send(stream, filler, fid, 0, 0)
    fid += 1
    for i in list(pending):
      if conns[i].poll(0.01):
        msg = conns[i].recv()
        assert len(msg) == 5, msg
        pending.discard(i)


def _expect(conn: Connection, frame_id: int) -> tuple:
  """The reader's report of `frame_id`, skipping reports of earlier (filler) frames."""
  deadline = time.monotonic() + DEADLINE_S
  while (msg := _recv(conn, deadline))[0] != frame_id:
    assert msg[0] >= FILLER_ID, f"reader reported frame {msg[0]} while waiting for {frame_id}"
  return msg


def _stop(proc: mp.process.BaseProcess, conn: Connection) -> None:
  conn.send("stop")
  proc.join(DEADLINE_S)
  assert proc.exitcode == 0


def _lockstep(server: VisionIpcServer, stream: VisionStreamType, conns: list[Connection], frames: int, seed: int):
  """Send random frames one at a time; each reader must see each one bit-exact and valid."""
  shape = server.layout(stream).frame_shape
  for k in range(frames):
    frame = _random_frame(seed + k, shape)
    server.send(stream, frame, k, 1000 + k, 2000 + k)
    for conn in conns:
      _, server_id, digest, valid, _ = _expect(conn, k)
      assert (server_id, digest, valid) == (server.server_id, _digest(frame), True)


def _nothing_left() -> None:
  sockets = prefix.socket_dir()
  assert [p for p in prefix.leftovers() if p != sockets] == []


# ---- tests ----

def test_frames_bit_exact_across_processes(spawn):
  with VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 4, W, H, PixelFormat.NV12)
    server.create_buffers(DRIVER, 3, W, H, PixelFormat.RGB)
    server.start_listener()
    (pr, road, _), (pd, driver, _) = _start_reader(spawn, ROAD), _start_reader(spawn, DRIVER)
    _handshake(server, ROAD, [road])
    _handshake(server, DRIVER, [driver])
    _lockstep(server, ROAD, [road], 6, seed=1)
    _lockstep(server, DRIVER, [driver], 4, seed=100)
    _stop(pr, road)
    _stop(pd, driver)
  _nothing_left()


def test_views_and_metadata_in_process():
  with VisionIpcServer(NAME) as server, VisionIpcClient(NAME, ROAD) as client:
    server.create_buffers(ROAD, 2, 64, 48, PixelFormat.NV12)
    server.start_listener()
    assert client.connect(1.0) and client.server_id == server.server_id
    frame = _random_frame(7, (72, 64))
    deadline = time.monotonic() + DEADLINE_S
    while (buf := client.recv(10)) is None:  # the first notifications go out before the subscription is live
      assert time.monotonic() < deadline
      server.send(ROAD, frame, 42, 123, 456)
    assert (buf.frame_id, buf.timestamp_sof, buf.timestamp_eof) == (42, 123, 456)
    assert (buf.width, buf.height, buf.stride, buf.uv_offset, buf.format) == (64, 48, 64, 64 * 48, PixelFormat.NV12)
    np.testing.assert_array_equal(buf.y, frame[:48])
    np.testing.assert_array_equal(buf.uv, frame[48:])
    assert not buf.data.flags.writeable
    with pytest.raises(ValueError, match="needs a RGB stream"):
      _ = buf.rgb
    # zero-copy write path
    view = server.next_buffer(ROAD)
    view[:] = 9
    server.send_buffer(ROAD, 43, 0, 0)
    buf = client.recv(1000)
    assert buf is not None and buf.frame_id == 43 and (buf.frame == 9).all() and buf.valid()
  _nothing_left()


def test_late_client_and_early_client(spawn):
  early, early_conn, state = _start_reader(spawn, ROAD)
  assert state == "waiting"  # it tried before the server existed, and now waits for it
  with VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 4, W, H, PixelFormat.NV12)
    server.start_listener()
    frame = np.zeros(server.layout(ROAD).frame_shape, np.uint8)
    for i in range(30):  # nobody subscribed yet (or not yet connected): sending must not care
      server.send(ROAD, frame, FILLER_ID + i, 0, 0)
    late, late_conn, state = _start_reader(spawn, ROAD)
    assert state == "connected"
    _handshake(server, ROAD, [early_conn, late_conn])
    _lockstep(server, ROAD, [early_conn, late_conn], 3, seed=5)
    _stop(early, early_conn)
    _stop(late, late_conn)
  _nothing_left()


def test_killed_client_disturbs_nobody(spawn):
  with VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 4, W, H, PixelFormat.NV12)
    server.start_listener()
    (victim, victim_conn, _), (other, other_conn, _) = _start_reader(spawn, ROAD), _start_reader(spawn, ROAD)
    _handshake(server, ROAD, [victim_conn, other_conn])
    _lockstep(server, ROAD, [victim_conn, other_conn], 2, seed=10)
    server.send(ROAD, _random_frame(11, server.layout(ROAD).frame_shape), 2, 0, 0)
    victim.kill()  # mid-stream, possibly mid-read
    victim.join(DEADLINE_S)
    _expect(other_conn, 2)
    _lockstep(server, ROAD, [other_conn], 4, seed=20)
    _stop(other, other_conn)
  _nothing_left()


def test_client_follows_server_restart(spawn):
  a, a_conn = spawn(_serve, 0xA)
  a_id = _recv(a_conn, time.monotonic() + DEADLINE_S)
  with VisionIpcClient(NAME, ROAD) as client:
    assert client.connect(DEADLINE_S)
    buf = client.recv(1000)
    assert buf is not None and buf.server_id == client.server_id == a_id and (buf.data == 0xA).all()
    a.kill()  # a crash: its shared-memory and socket files stay behind
    a.join(DEADLINE_S)
    assert stream_path(NAME, ROAD).exists()
    b, b_conn = spawn(_serve, 0xB)
    b_id = _recv(b_conn, time.monotonic() + DEADLINE_S)
    assert b_id != a_id
    deadline = time.monotonic() + DEADLINE_S
    while (buf := client.recv(100)) is None or buf.server_id == a_id:
      assert time.monotonic() < deadline, "client never saw the new server"
    assert client.server_id == b_id and client.reconnects == 1
    assert (buf.data == 0xB).all() and buf.valid()
    _stop(b, b_conn)
  _nothing_left()


def test_torn_frame_detected_across_processes(spawn):
  with VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 3, W, H, PixelFormat.NV12)
    server.start_listener()
    holder, conn = spawn(_holder)
    shape, deadline = server.layout(ROAD).frame_shape, time.monotonic() + DEADLINE_S
    zeros = np.zeros(shape, np.uint8)
    while not conn.poll(0.01):
      assert time.monotonic() < deadline
      server.send(ROAD, zeros, FILLER_ID, 0, 0)
    assert conn.recv() == ("filler",)
    server.send(ROAD, _random_frame(3, shape), 1, 0, 0)
    while (msg := _recv(conn, deadline))[0] == "filler":
      pass
    assert msg == ("holding", 1, True)
    for k in range(3):  # lap every slot, the held one included
      server.send(ROAD, _random_frame(50 + k, shape), 2 + k, 0, 0)
    conn.send("lapped")
    assert _recv(conn, deadline) == ("after", False, False)  # the data did change, and valid() said so
    holder.join(DEADLINE_S)
    assert holder.exitcode == 0
  _nothing_left()


def test_mid_write_slot_is_invalid_and_never_returned():
  with VisionIpcServer(NAME) as server, VisionIpcClient(NAME, ROAD) as client:
    server.create_buffers(ROAD, 1, 64, 48, PixelFormat.NV12)
    server.start_listener()
    assert client.connect(1.0)
    frame, deadline = np.ones((72, 64), np.uint8), time.monotonic() + DEADLINE_S
    while (buf := client.recv(10)) is None:
      assert time.monotonic() < deadline
      server.send(ROAD, frame, 1, 0, 0)
    assert buf.valid()
    server.send(ROAD, frame, 2, 0, 0)  # its notification is queued for the client...
    server.next_buffer(ROAD)[:] = 7  # ...but the one slot is being rewritten already
    assert not buf.valid()
    assert client.recv(50) is None
    server.send_buffer(ROAD, 3, 0, 0)
    buf = client.recv(1000)
    assert buf is not None and buf.frame_id == 3 and (buf.data == 7).all() and buf.valid()


def test_clear_errors(tmp_path):
  with VisionIpcServer(NAME) as server:
    server.create_buffers(ROAD, 2, 64, 48, PixelFormat.NV12)
    with pytest.raises(RuntimeError, match="start_listener"):
      server.send(ROAD, np.zeros((72, 64), np.uint8), 0, 0, 0)
    server.start_listener()
    for bad in (np.zeros((48, 64), np.uint8), np.zeros((72, 64), np.uint16), np.zeros((48, 64, 3), np.uint8), b"x"):
      with pytest.raises(ValueError, match=r"takes uint8 NV12 frames of shape \(72, 64\)"):
        server.send(ROAD, bad, 0, 0, 0)
    with pytest.raises(ValueError, match="frame_id=-1"):
      server.send(ROAD, np.zeros((72, 64), np.uint8), -1, 0, 0)
    server.send(ROAD, np.zeros(72 * 64, np.uint8), 0, 0, 0)  # a failed send leaves the stream usable; flat is fine
    with pytest.raises(ValueError, match="no buffers for stream"):
      server.send(DRIVER, np.zeros((72, 64), np.uint8), 0, 0, 0)
    with pytest.raises(ValueError, match="must be even"):
      server.create_buffers(DRIVER, 2, 63, 48, PixelFormat.NV12)
    with pytest.raises(ValueError, match="already exist"):
      server.create_buffers(ROAD, 2, 64, 48, PixelFormat.NV12)
  with pytest.raises(ValueError, match="VisionIPC name"):
    VisionIpcServer("../etc")

  path = stream_path(NAME, ROAD)
  path.write_bytes(b"\x00" * 4096)
  with pytest.raises(ValueError, match="not a VisionIPC buffer file"):
    VisionIpcClient(NAME, ROAD).connect(1.0)
  header = bytearray(Layout.make(ROAD, 2, 64, 48, PixelFormat.NV12, 5).pack().ljust(HEADER_SIZE, b"\x00"))
  header[8:12] = (99).to_bytes(4, "little")
  path.write_bytes(bytes(header))
  with pytest.raises(ValueError, match="version 99"):
    VisionIpcClient(NAME, ROAD).connect(1.0)
  path.unlink()
  assert not VisionIpcClient(NAME, ROAD).connect(0.05)  # no server: False after the timeout
  with pytest.raises(RuntimeError, match="connect"):
    VisionIpcClient(NAME, ROAD).recv(0)


def test_replaces_stale_files_and_leaves_nothing():
  stale_sock = prefix.socket_dir() / "vipc-cam-road"
  stale_sock.write_bytes(b"")
  stream_path(NAME, ROAD).write_bytes(b"junk from a crashed server")
  with VisionIpcServer(NAME) as server, VisionIpcClient(NAME, ROAD) as client:
    server.create_buffers(ROAD, 2, 64, 48, PixelFormat.NV12)
    server.start_listener()
    assert client.connect(1.0) and client.server_id == server.server_id
    deadline = time.monotonic() + DEADLINE_S
    while client.recv(10) is None:
      assert time.monotonic() < deadline
      server.send(ROAD, np.zeros((72, 64), np.uint8), 0, 0, 0)
  _nothing_left()
  assert not any(p.name.startswith(f"lp-{os.getuid()}-{prefix.prefix()}") for p in prefix.SHM_DIR.iterdir())


def test_recv_conflates_to_newest_and_server_never_waits():
  with VisionIpcServer(NAME) as server, VisionIpcClient(NAME, ROAD) as client:
    server.create_buffers(ROAD, 64, 64, 48, PixelFormat.NV12)
    server.start_listener()
    assert client.connect(1.0)
    frame, deadline = np.zeros((72, 64), np.uint8), time.monotonic() + DEADLINE_S
    while client.recv(10) is None:
      assert time.monotonic() < deadline
      server.send(ROAD, frame, FILLER_ID, 0, 0)
    for i in range(50):  # the client reads none of these while they are sent: no slot is lapped (64 slots)
      server.send(ROAD, frame, i, 0, 0)
    got = []
    while not got or got[-1] != 49:
      assert time.monotonic() < deadline, got
      if (buf := client.recv(10)) is not None:
        got.append(buf.frame_id)
    assert len(got) < 10 and got == sorted(got), got  # without conflation it would be all 50 in turn


def test_client_maps_a_replacing_server_before_its_first_frame():
  with VisionIpcServer(NAME) as a, VisionIpcClient(NAME, ROAD) as client:
    a.create_buffers(ROAD, 2, 64, 48, PixelFormat.NV12)
    a.start_listener()
    assert client.connect(1.0) and client.server_id == a.server_id
    with VisionIpcServer(NAME) as b:
      b.create_buffers(ROAD, 2, 128, 96, PixelFormat.NV12)  # replaces a's file; sends nothing yet
      assert client.recv(10) is None
      assert client.server_id == b.server_id and client.reconnects == 1 and client.layout.width == 128
    a.close()  # b's files are gone already; a must not remove anything else
  _nothing_left()
