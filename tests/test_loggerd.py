"""loggerd with real processes: every message of every segment recorded, decimated qlogs, a playable video with
its frame index, old routes deleted; killed mid-segment it loses at most the last second."""
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from cereal import messaging
from cereal.visionipc import PixelFormat, VisionIpcServer, VisionStreamType
from selfdrive.camerad.camerad import VIPC_NAME
from selfdrive.loggerd import config
from selfdrive.loggerd.deleter import delete_old_routes
from tests.conftest import subprocess_env
from tools.lib.framereader import RouteFrames
from tools.lib.logreader import LogReader, LogWarning
from tools.lib.route import list_routes, resolve
from tools.sim.camera import rgb_to_nv12

W, H = 128, 64
DEADLINE_S = 30.0


def start_loggerd(tmp_path: Path, **env) -> subprocess.Popen:
  env = {**subprocess_env(), config.ROUTES_DIR_ENV: str(tmp_path / "routes"), **env}
  log = open(tmp_path / "loggerd.log", "wb")  # noqa: SIM115 -- lives as long as the process
  return subprocess.Popen([sys.executable, "-m", "selfdrive.loggerd.loggerd"], env=env, stdout=log,
                          stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
  if proc.poll() is None:
    proc.send_signal(sig)
  proc.wait(10)


def level(frame_id: int) -> int:
  return 30 + (frame_id * 37) % 190


def car_state(i: int):
  msg = messaging.new_message("carState")
  msg.carState.vEgo = float(i)
  return msg


class Drive:
  """carState at 100 Hz with a counter in vEgo, and every 5th step a camera frame whose brightness names it."""

  def __init__(self):
    self.pm = messaging.PubMaster(["carState", "roadCameraState"])
    self.vipc = VisionIpcServer(VIPC_NAME)
    self.vipc.create_buffers(VisionStreamType.ROAD, 4, W, H, PixelFormat.NV12)
    self.vipc.start_listener()
    self.i = self.frame_id = 0

  def step(self) -> None:
    self.pm.send("carState", car_state(self.i))
    if self.i % 5 == 0:
      self.frame_id += 1
      self.vipc.send(VisionStreamType.ROAD, rgb_to_nv12(np.full((H, W, 3), level(self.frame_id), np.uint8)),
                     self.frame_id, 0, 0)
      cs = messaging.new_message("roadCameraState")
      cs.roadCameraState.frameId = self.frame_id
      self.pm.send("roadCameraState", cs)
    self.i += 1
    time.sleep(0.01)

  def close(self) -> None:
    self.vipc.close()
    self.pm.close()


def recorded_speeds(source) -> list[int]:
  return [int(ev.carState.vEgo) for ev in LogReader(source) if ev.which() == "carState"]


def fake_route(root: Path, counter: int, mb: float) -> str:
  name = f"{counter:08x}--2026-01-01--00-00-0{counter}"
  seg = root / f"{name}--0"
  seg.mkdir(parents=True)
  (seg / config.RLOG).write_bytes(b"\0" * int(mb * 1e6))
  return name


def test_records_route_with_video_and_housekeeping(tmp_path):
  routes = tmp_path / "routes"
  oldest, older = fake_route(routes, 0, 0.6), fake_route(routes, 1, 0.6)
  proc = start_loggerd(tmp_path, **{config.SEGMENT_S_ENV: "1.2", config.MAX_MB_ENV: "1.0"})
  drive, deadline = Drive(), time.monotonic() + DEADLINE_S
  try:
    while len([p for p in routes.iterdir() if p.name.startswith("00000002")]) < 4:
      assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "loggerd.log").read_text()
      drive.step()
    stop(proc)
  finally:
    stop(proc, signal.SIGKILL)
    drive.close()
  i, frame_id = drive.i, drive.frame_id
  assert proc.returncode in (0, 128 + signal.SIGTERM)

  # housekeeping: the oldest route went to keep the routes under 1 MB; the newer one stayed; names count up
  route = list_routes(routes)[-1]
  assert list_routes(routes) == [older, route] and oldest not in route and route.startswith("00000002--")
  segments = resolve(routes / route).segments
  assert [s.num for s in segments] == list(range(len(segments))) and len(segments) >= 4

  # every message from the first recorded one on, exactly once and in order, across segments
  v = recorded_speeds(routes / route)
  assert v == list(range(v[0], v[0] + len(v))) and v[-1] >= i - 10, f"lost messages: {v[0]}..{v[-1]} of {i}"
  for seg in segments:
    first = next(iter(LogReader(seg.path)), None)
    if first is None and seg is segments[-1]:
      continue  # stopped as it was opening a new segment: that one stays empty
    assert first.which() == "initData" and first.initData.segmentNum == seg.num and first.initData.routeName == route
  q = recorded_speeds(f"{routes / route}/q")
  assert all((x - v[0]) % 10 == 0 for x in q) and len(q) == pytest.approx(len(v) / 10, abs=len(segments) + 1)

  # the video: one playable file per segment, and the index finds every recorded frame in it
  frames = RouteFrames(segments)
  ids = sorted(frames.index)  # from the encoder's first frame on, hardly any dropped
  assert ids[-1] >= frame_id - 3 and ids[-1] - ids[0] + 1 - len(ids) <= 3, f"frames {ids}"
  assert set(frames.videos) >= {s.num for s in segments[:-1]}
  for seg in segments:
    ids = sorted(f for f, (s, _) in frames.index.items() if s == seg.num)
    assert [frames.index[f][1] for f in ids] == list(range(len(ids)))
  for fid in sorted(frames.index)[::7]:
    rgb = frames.get(fid)
    assert rgb is not None and abs(float(rgb.mean()) - level(fid)) < 3, f"frame {fid}"
  frames.close()


def test_power_cut_loses_at_most_a_second_and_damage_reads_partly(tmp_path):
  proc = start_loggerd(tmp_path, **{config.SEGMENT_S_ENV: "60"})
  routes = tmp_path / "routes"
  drive, deadline = Drive(), time.monotonic() + DEADLINE_S
  try:
    recorded = 0
    while recorded < 150:  # 1.5 s of messages flushed
      assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "loggerd.log").read_text()
      drive.step()
      if drive.i % 20 == 0 and list_routes(routes):
        with warnings.catch_warnings():
          warnings.simplefilter("ignore", LogWarning)  # mid-write, the last frame may be cut: fine here
          recorded = len(recorded_speeds(routes / list_routes(routes)[0]))
    for _ in range(50):  # half a second more, then the power goes
      drive.step()
    proc.send_signal(signal.SIGKILL)
  finally:
    stop(proc, signal.SIGKILL)
    drive.close()
  segment = resolve(routes / list_routes(routes)[0]).segments[0]
  with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    v = recorded_speeds(segment.rlog)
    frames = RouteFrames([segment])
  assert v == list(range(v[0], v[0] + len(v)))
  assert v[-1] >= drive.i - 1 - 100, f"lost {drive.i - 1 - v[-1]} messages (over 1 s at 100 Hz)"
  last = max(f for f in frames.index if frames.get(f) is not None)  # the video too, up to its last second
  assert last >= drive.frame_id - 20 and abs(float(frames.get(last).mean()) - level(last)) < 3
  frames.close()
  rlog = segment.rlog

  # damage in the middle of the file: what is before and after the damaged frame still reads, with a warning
  data = bytearray(rlog.read_bytes())
  data[len(data) // 2] ^= 0xFF
  rlog.write_bytes(bytes(data))
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    damaged = recorded_speeds(rlog)
  assert any(issubclass(w.category, LogWarning) and "damaged" in str(w.message) for w in caught)
  assert 0 < len(damaged) < len(v) and damaged[0] == v[0] and set(damaged) <= set(v)


def test_delete_old_routes_never_the_live_one(tmp_path):
  a, b, c = (fake_route(tmp_path, n, 0.5) for n in range(3))
  assert delete_old_routes(tmp_path, keep=a, max_bytes=int(0.6e6)) == [b, c]
  assert list_routes(tmp_path) == [a]
  assert delete_old_routes(tmp_path, keep=a, max_bytes=0) == []
  d = fake_route(tmp_path, 3, 0.1)
  assert delete_old_routes(tmp_path, keep=d, max_bytes=None, min_free_percent=101.0) == [a]
  assert config.new_route_name(tmp_path).startswith("00000004--")


def test_bad_settings_are_clear_errors(tmp_path):
  proc = start_loggerd(tmp_path, **{config.SEGMENT_S_ENV: "soon"})
  assert proc.wait(30) == 2
  assert "LP_SEGMENT_S='soon' is not a number" in (tmp_path / "loggerd.log").read_text()
