"""modeld as a real process: frames from a VisionIPC server the test runs -> modelV2 for those very frames."""
import signal
import subprocess
import sys
import time

import numpy as np
from tinygrad import Tensor, nn

from cereal import messaging
from cereal.arrays import MODEL_V2_SHAPES, unpack
from cereal.visionipc import PixelFormat, VisionIpcServer, VisionStreamType
from selfdrive.camerad.camerad import VIPC_NAME
from selfdrive.modeld.model import DrivingModel
from tests.conftest import subprocess_env
from tools.sim.camera import rgb_to_nv12
from tools.sim.world import World

ROAD = VisionStreamType.ROAD
START_TIMEOUT_S = 120.0  # modeld compiles the model in-process here (no runner for these test weights)


def start_modeld(env: dict[str, str]) -> subprocess.Popen:
  return subprocess.Popen([sys.executable, "-m", "selfdrive.modeld.modeld"], env={**subprocess_env(), **env},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_modeld_publishes_modelv2_for_each_frame(tmp_path):
  weights = tmp_path / "driving.safetensors"
  Tensor.manual_seed(0)
  nn.state.safe_save(nn.state.get_state_dict(DrivingModel()), str(weights))
  world = World(3)
  cam = world.camera
  nv12 = rgb_to_nv12(world.render())
  proc = start_modeld({"LP_MODEL_WEIGHTS": str(weights), "LP_MODEL_RUNNER": str(tmp_path / "none.pkl")})
  pm = messaging.PubMaster(["roadCameraState"])
  sm = messaging.SubMaster(["modelV2"])
  sent: set[int] = set()
  got = []
  try:
    with VisionIpcServer(VIPC_NAME) as server:
      server.create_buffers(ROAD, 4, cam.width, cam.height, PixelFormat.NV12)
      server.start_listener()
      frame_id, deadline = 0, time.monotonic() + START_TIMEOUT_S
      while len(got) < 10 and time.monotonic() < deadline and proc.poll() is None:
        frame_id += 1
        t = time.monotonic_ns()
        server.send(ROAD, nv12, frame_id, t, t)
        sent.add(frame_id)
        msg = messaging.new_message("roadCameraState")
        cs = msg.roadCameraState
        cs.frameId, cs.width, cs.height = frame_id, cam.width, cam.height
        cs.intrinsics = cam.intrinsics.flatten().tolist()
        pm.send("roadCameraState", msg)
        sm.update(50)
        if sm.updated["modelV2"]:
          got.append(sm["modelV2"].as_builder().copy())
      assert proc.poll() is None, proc.stdout.read().decode()
      assert len(got) >= 10, "modeld published too few modelV2"
  finally:
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=20)[0].decode()
  assert proc.returncode in (0, 128 + signal.SIGTERM), out
  assert "Traceback" not in out, out
  ids = [m.frameId for m in got]
  assert set(ids) <= sent and ids == sorted(ids) and len(set(ids)) == len(ids), ids
  last = got[-1]
  assert last.valid and 0.0 <= last.frameDropPerc <= 100.0 and 0.0 < last.modelExecutionTime < 1.0
  assert last.timestampEof > 0
  for name, shape in MODEL_V2_SHAPES.items():
    assert np.all(np.isfinite(unpack(getattr(last, name), shape))), name


def test_modeld_without_weights_says_how_to_build_them(tmp_path):
  proc = start_modeld({"LP_MODEL_WEIGHTS": str(tmp_path / "missing.safetensors")})
  out = proc.communicate(timeout=60)[0].decode()
  assert proc.returncode == 2
  assert "localpilot train" in out and "Traceback" not in out, out
