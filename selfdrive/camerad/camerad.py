"""camerad: road frames from a webcam, a video file or the simulator into VisionIPC (NV12), with roadCameraState."""
import os
import sys

from cereal import messaging
from cereal.clock import mono_time
from cereal.visionipc import PixelFormat, VisionIpcServer, VisionStreamType
from selfdrive.camerad.sources import CAMERA_ENV, DEFAULT_CAMERA, open_source
from selfdrive.common.errors import UserError
from selfdrive.common.process import exit_on_sigterm
from tools.sim.camera import rgb_to_nv12

VIPC_NAME = "camerad"
NUM_BUFFERS = 4


def main() -> int:
  exit_on_sigterm()
  spec = os.environ.get(CAMERA_ENV, DEFAULT_CAMERA)
  try:
    source = open_source(spec)
  except UserError as e:
    print(f"camerad: error: {e}", file=sys.stderr)
    return 2
  pm = messaging.PubMaster(["roadCameraState"])
  with VisionIpcServer(VIPC_NAME) as vipc:
    vipc.create_buffers(VisionStreamType.ROAD, NUM_BUFFERS, source.width, source.height, PixelFormat.NV12)
    vipc.start_listener()
    try:
      while (frame := source.read()) is not None:
        t0 = mono_time()
        vipc.next_buffer(VisionStreamType.ROAD)[:] = rgb_to_nv12(frame.rgb)
        eof = mono_time()
        vipc.send_buffer(VisionStreamType.ROAD, frame.frame_id, frame.timestamp_sof, eof)
        msg = messaging.new_message("roadCameraState")
        cs = msg.roadCameraState
        cs.frameId, cs.timestampSof, cs.timestampEof = frame.frame_id, frame.timestamp_sof, eof
        cs.sensor = source.sensor
        cs.width, cs.height = source.width, source.height
        cs.intrinsics = source.intrinsics.flatten().tolist()
        cs.processingTime = (eof - t0) * 1e-9
        pm.send("roadCameraState", msg)
    finally:
      source.close()
  print(f"camerad: {spec} ended", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main())
