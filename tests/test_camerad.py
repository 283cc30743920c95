"""camerad as a real process: frames from a video file and from the simulator reach VisionIPC intact."""
import subprocess
import sys
import time

import cv2
import numpy as np

from cereal import messaging
from cereal.visionipc import VisionIpcClient, VisionStreamType
from tests.conftest import subprocess_env
from tools.sim.camera import rgb_to_nv12
from tools.sim.scene import Scene

W, H = 320, 160


def start_camerad(camera: str) -> subprocess.Popen:
  env = {**subprocess_env(), "LP_CAMERA": camera}
  return subprocess.Popen([sys.executable, "-m", "selfdrive.camerad.camerad"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)


def test_video_file_frames(tmp_path):
  path = tmp_path / "drive.avi"
  colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (240, 240, 240)] * 3
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (W, H))
  for c in colors:
    writer.write(np.full((H, W, 3), c[::-1], dtype=np.uint8))  # BGR
  writer.release()

  proc = start_camerad(f"video:{path}")
  client = VisionIpcClient("camerad", VisionStreamType.ROAD)
  sm = messaging.SubMaster(["roadCameraState"])
  try:
    assert client.connect(20), proc.stdout.read().decode() if proc.poll() is not None else "camerad never started"
    lumas, ids, deadline = [], [], time.monotonic() + 20
    while (not ids or ids[-1] < len(colors)) and time.monotonic() < deadline:
      buf = client.recv(200)
      if buf is not None:
        lumas.append(float(buf.y.mean()))
        ids.append(buf.frame_id)
        assert buf.valid()
      sm.update(0)
    # a subscriber joining a live camera may miss its first frame or two; after that nothing is lost
    assert len(ids) >= len(colors) - 2 and ids == list(range(ids[0], len(colors) + 1)), ids
    # BT.601 studio range, as OpenCV converts RGB to YUV
    expected = [16 + 219 / 255 * (0.299 * r + 0.587 * g + 0.114 * b) for r, g, b in colors[ids[0] - 1:]]
    assert np.allclose(lumas, expected, atol=6), (lumas, expected)
    proc.wait(10)
    assert proc.returncode == 0, "camerad ends cleanly with its file"
    assert sm.seen["roadCameraState"] and sm["roadCameraState"].sensor == "video"
    assert sm["roadCameraState"].width == W and len(sm["roadCameraState"].intrinsics) == 9
  finally:
    client.close()
    if proc.poll() is None:
      proc.kill()


def test_missing_video_is_a_clear_error(tmp_path):
  proc = start_camerad(f"video:{tmp_path / 'nope.mp4'}")
  out, _ = proc.communicate(timeout=30)
  assert proc.returncode == 2
  assert b"not found" in out and b"Traceback" not in out


def test_simulator_frames_match_the_scene():
  proc = start_camerad("sim")
  pm = messaging.PubMaster(["simState"])
  client = VisionIpcClient("camerad", VisionStreamType.ROAD)
  seed = 7
  msg = messaging.new_message("simState")
  ss = msg.simState
  ss.seed, ss.width, ss.height, ss.frameId = seed, W, H, 1
  ss.pose.x, ss.pose.y, ss.pose.yaw, ss.pose.s = 0.0, 0.0, 0.0, 0.0
  car = ss.init("cars", 1)[0]
  car.id, car.kind, car.length, car.width, car.height, car.color = 1, "sedan", 4.6, 1.8, 1.45, [180, 20, 20]
  car.s, car.d, car.v = 30.0, 0.0, 20.0
  data = msg.to_bytes()
  try:
    deadline, got = time.monotonic() + 30, None
    while got is None and time.monotonic() < deadline:
      assert proc.poll() is None, proc.stdout.read().decode()
      pm.send("simState", data)
      if client.connect(0.2):
        got = client.recv(200)
    assert got is not None, "no frame from the simulator source"
    want = rgb_to_nv12(Scene(seed, W, H).render(msg.as_reader().simState))
    assert np.array_equal(got.frame, want), "camerad's render differs from the scene it was told"
  finally:
    client.close()
    proc.terminate()
    proc.wait(10)
