"""Where road frames come from: a webcam, a video file, or the built-in simulator. Each yields RGB frames."""
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cereal import messaging
from cereal.clock import mono_time
from selfdrive.common.errors import UserError

CAMERA_ENV = "LP_CAMERA"
DEFAULT_CAMERA = "webcam:0"
# with no calibration for a webcam or a video, assume a typical dashcam: about 60 degrees of horizontal view
DEFAULT_HFOV_DEG = 60.0


@dataclass(frozen=True)
class Frame:
  rgb: np.ndarray          # (H, W, 3) uint8
  timestamp_sof: int       # ns, stack clock: when the exposure started
  frame_id: int


def default_intrinsics(width: int, height: int) -> np.ndarray:
  f = (width / 2) / np.tan(np.radians(DEFAULT_HFOV_DEG) / 2)
  return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=np.float32)


class CaptureSource:
  """A webcam or a video file through OpenCV; a file plays at its own frame rate and ends."""
  sensor = "webcam"

  def __init__(self, target: int | str, is_file: bool):
    if is_file and not Path(target).is_file():
      raise UserError(f"video file {target} not found")
    self.cap = cv2.VideoCapture(target)
    if not self.cap.isOpened():
      raise UserError(f"cannot open {'video file' if is_file else 'webcam'} {target}")
    self.sensor = "video" if is_file else "webcam"
    self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = self.cap.get(cv2.CAP_PROP_FPS)
    self.period_s = 1.0 / fps if is_file and fps > 0 else 0.0
    self.intrinsics = default_intrinsics(self.width, self.height)
    self.frame_id = 0
    self.next_t = time.monotonic()

  def read(self) -> Frame | None:
    """The next frame; None at the end of a file or when a webcam stops delivering."""
    if self.period_s:
      time.sleep(max(0.0, self.next_t - time.monotonic()))
      self.next_t += self.period_s
    t = mono_time()
    ok, bgr = self.cap.read()
    if not ok:
      return None
    self.frame_id += 1
    return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t, self.frame_id)

  def close(self) -> None:
    self.cap.release()


class SimSource:
  """Renders the simulator's world at each simState, from the same seed, so physics and rendering use both cores."""
  sensor = "sim"

  def __init__(self):
    from tools.sim.scene import Scene  # only the simulator source needs the simulator
    self.sm = messaging.SubMaster(["simState"], poll="simState")
    while not self.sm.updated["simState"]:
      self.sm.update(1000)
    st = self.sm["simState"]
    self.scene = Scene(st.seed, st.width, st.height)
    self.width, self.height = st.width, st.height
    self.intrinsics = self.scene.camera.intrinsics.astype(np.float32)
    self._pending = True

  def read(self) -> Frame | None:
    if not self._pending:
      self.sm.update(1000)
      if not self.sm.updated["simState"]:
        return None
    self._pending = False
    st = self.sm["simState"]
    return Frame(self.scene.render(st), self.sm.logMonoTime["simState"], st.frameId)

  def close(self) -> None:
    self.sm.close()


def open_source(spec: str) -> CaptureSource | SimSource:
  kind, _, arg = spec.partition(":")
  if kind == "sim":
    return SimSource()
  if kind == "webcam":
    try:
      return CaptureSource(int(arg or 0), is_file=False)
    except ValueError:
      raise UserError(f"camera {spec!r}: the webcam is a number, e.g. webcam:0") from None
  if kind == "video" and arg:
    return CaptureSource(arg, is_file=True)
  raise UserError(f"camera {spec!r}: use sim, webcam:N or video:FILE")
