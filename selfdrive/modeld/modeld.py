"""modeld: road-camera frames from VisionIPC -> warp into the model frame -> the driving model -> modelV2, one message
per frame (20 Hz).

The warp uses the camera's intrinsics (roadCameraState) and liveCalibration's roll, pitch, yaw. Until a calibration
is published the calibration is taken as zero. Until roadCameraState arrives, the camera is assumed to be a typical
dashcam (camerad's default) and modelV2 is marked invalid. The desire comes from lateralPlan (none while it is not
alive).

Every VANISHING_POINT_EVERY-th frame, once its modelV2 is out, modeld also finds where the road's straight lines meet
in the camera image (selfdrive/modeld/vanishing_point.py) and publishes it as vanishingPoint: calibrationd learns the
camera's pitch and yaw from it.
"""
import sys
import time
from collections import deque

import numpy as np

from cereal import messaging
from cereal.arrays import DESIRE_LEN
from cereal.visionipc import VisionIpcClient, VisionStreamType
from selfdrive.camerad.camerad import VIPC_NAME
from selfdrive.camerad.sources import default_intrinsics
from selfdrive.common.errors import UserError
from selfdrive.common.process import exit_on_sigterm
from selfdrive.modeld.fill_msg import fill_model_msg
from selfdrive.modeld.runner import ModelRunner
from selfdrive.modeld.transform import camera_from_model, warp_nv12
from selfdrive.modeld.vanishing_point import find, horizon_row, mount_angles

DROP_WINDOW = 100          # frames over which frameDropPerc is measured
RECV_TIMEOUT_MS = 1000
INPUTS = ["roadCameraState", "liveCalibration", "lateralPlan"]   # beside the frames
OUTPUTS = ["modelV2", "vanishingPoint"]
VANISHING_POINT_EVERY = 5  # frames (4 Hz): by frame id, so that replay finds the same ones


class FrameDrops:
  """Percentage of camera frames the model skipped over the last DROP_WINDOW frames, from gaps in frame ids."""
  def __init__(self):
    self.last_id: int | None = None
    self.window: deque[tuple[int, int]] = deque(maxlen=DROP_WINDOW)  # (frames that came, of which dropped)

  def update(self, frame_id: int) -> float:
    gap = 1 if self.last_id is None or frame_id <= self.last_id else frame_id - self.last_id
    self.last_id = frame_id
    self.window.append((gap, gap - 1))
    return 100.0 * sum(d for _, d in self.window) / sum(n for n, _ in self.window)


class Warp:
  """The camera -> model frame homography, recomputed only when intrinsics or calibration change."""
  def __init__(self):
    self.key: tuple | None = None
    self.m = np.eye(3)

  def get(self, intrinsics: np.ndarray, rpy: tuple[float, float, float]) -> np.ndarray:
    key = (intrinsics.tobytes(), rpy)
    if key != self.key:
      self.key, self.m = key, camera_from_model(intrinsics, rpy)
    return self.m


def send_vanishing_point(pm: messaging.PubMaster, buf, intrinsics: np.ndarray,
                         rpy: tuple[float, float, float]) -> None:
  """The frame's vanishing point, unless camerad took its buffer back meanwhile (then nothing)."""
  vp = find(buf.y, horizon_row(intrinsics, rpy))
  if not buf.valid():
    return
  msg = messaging.new_message("vanishingPoint")
  out = msg.vanishingPoint
  out.frameId, out.found = buf.frame_id, vp is not None
  if vp is not None:
    out.u, out.v, out.segments = vp.u, vp.v, vp.segments
    out.pitch, out.yaw = mount_angles(intrinsics, vp.u, vp.v, rpy[0])
  pm.send("vanishingPoint", msg)


def main() -> int:
  exit_on_sigterm()
  try:
    runner = ModelRunner.load(progress=lambda s: print(f"modeld: {s}", file=sys.stderr, flush=True))
  except UserError as e:
    print(f"modeld: error: {e}", file=sys.stderr)
    return 2
  pm = messaging.PubMaster(OUTPUTS)
  sm = messaging.SubMaster(INPUTS)
  drops, warp = FrameDrops(), Warp()
  with VisionIpcClient(VIPC_NAME, VisionStreamType.ROAD) as client:
    while not client.connect(1.0):
      pass
    while True:
      buf = client.recv(RECV_TIMEOUT_MS)
      if buf is None:
        continue
      t0 = time.perf_counter()
      sm.update(0)
      cam = sm["roadCameraState"]
      have_intrinsics = sm.seen["roadCameraState"] and len(cam.intrinsics) == 9
      k = np.array(cam.intrinsics, np.float64).reshape(3, 3) if have_intrinsics else \
        default_intrinsics(buf.width, buf.height).astype(np.float64)
      cal = sm["liveCalibration"].rpyCalib
      rpy = (float(cal[0]), float(cal[1]), float(cal[2])) if sm.seen["liveCalibration"] and len(cal) == 3 else \
        (0.0, 0.0, 0.0)
      frame = warp_nv12(buf.y, buf.uv, warp.get(k, rpy))
      intact = buf.valid()  # after reading: False if camerad overwrote the slot while we warped it
      desire = int(sm["lateralPlan"].desire) if sm.alive["lateralPlan"] else 0
      out = runner.run(frame, desire if 0 <= desire < DESIRE_LEN else 0)
      msg = messaging.new_message("modelV2")
      md = msg.modelV2
      fill_model_msg(md, out)
      md.frameId = md.frameIdExtra = buf.frame_id
      md.frameAge = max(0, int(cam.frameId) - buf.frame_id) if sm.seen["roadCameraState"] else 0
      md.frameDropPerc = drops.update(buf.frame_id)
      md.timestampEof = buf.timestamp_eof
      md.modelExecutionTime = time.perf_counter() - t0
      msg.valid = md.valid = bool(intact and have_intrinsics)
      pm.send("modelV2", msg)
      if buf.frame_id % VANISHING_POINT_EVERY == 0 and msg.valid:
        send_vanishing_point(pm, buf, k, rpy)


if __name__ == "__main__":
  sys.exit(main())
