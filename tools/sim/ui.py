"""The simulator's view for `localpilot sim --ui` and `--video`: the road camera's frames (from camerad, through
VisionIPC) with what the stack perceives and plans drawn on them: lane lines, road edges, the planned path, the
lead, the speeds and the current alert.

The camera's mount is the simulated one (rebuilt from the seed in simState), so drawings land where they belong.
"""
from pathlib import Path

import cv2
import numpy as np

from cereal import arrays, messaging
from cereal.visionipc import VisionIpcClient, VisionStreamType
from selfdrive.camerad.camerad import VIPC_NAME
from tools.sim.camera import Camera
from tools.sim.scene import CAMERA_RNG, world_rngs

SCALE = 2                    # the model-resolution frame is drawn this much larger
FPS = 20
PATH_HALF_WIDTH = 0.9        # m
WINDOW = "localpilot sim"
WHITE, YELLOW, RED, GREEN, GREY, BLUE = (255, 255, 255), (0, 220, 255), (40, 40, 230), (60, 200, 60), (150, 150, 150), \
  (230, 160, 40)
STATUS_COLOURS = {"normal": (0, 0, 0), "userPrompt": (0, 120, 220), "critical": (30, 30, 200)}
KPH = 3.6


class SimView:
  def __init__(self, window: bool, video: Path | None):
    self.window, self.video = window, video
    self.client = VisionIpcClient(VIPC_NAME, VisionStreamType.ROAD)
    self.camera: Camera | None = None
    self.writer: cv2.VideoWriter | None = None
    self.frames = 0

  def update(self, sm: messaging.SubMaster) -> None:
    """Draw the newest camera frame, if there is one, with the newest messages in sm."""
    if not self.client.connected and not self.client.connect(timeout_s=0.0):
      return
    buf = self.client.recv(timeout_ms=0)
    if buf is None:
      return
    bgr = cv2.cvtColor(np.asarray(buf.frame), cv2.COLOR_YUV2BGR_NV12)
    if not buf.valid():
      return   # camerad overwrote it while we read
    h, w = bgr.shape[:2]
    if self.camera is None and sm.seen["simState"]:
      self.camera = Camera.sample(world_rngs(int(sm["simState"].seed))[CAMERA_RNG], w, h)
    img = cv2.resize(bgr, (w * SCALE, h * SCALE), interpolation=cv2.INTER_LINEAR)
    if self.camera is not None and sm.seen["modelV2"]:
      self._draw_model(img, sm)
    self._draw_hud(img, sm)
    self.frames += 1
    if self.video is not None:
      if self.writer is None:
        size = (img.shape[1], img.shape[0])
        self.writer = cv2.VideoWriter(str(self.video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
      self.writer.write(img)
    if self.window:
      cv2.imshow(WINDOW, img)
      cv2.waitKey(1)

  def _points(self, pts: np.ndarray) -> np.ndarray | None:
    assert self.camera is not None
    px, ok = self.camera.project(pts)
    px = px[ok & (pts[:, 0] > 1.0)]
    return (px * SCALE * 8).astype(np.int32) if len(px) >= 2 else None   # 3 bits of sub-pixel precision

  def _polyline(self, img: np.ndarray, pts: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    px = self._points(pts)
    if px is not None:
      cv2.polylines(img, [px], False, colour, thickness, cv2.LINE_AA, shift=3)

  def _draw_model(self, img: np.ndarray, sm: messaging.SubMaster) -> None:
    assert self.camera is not None
    md, shapes = sm["modelV2"], arrays.MODEL_V2_SHAPES
    ground = self.camera.mount_height
    x = arrays.X_IDXS.astype(np.float64)
    path = arrays.unpack(md.position, shapes["position"]).astype(np.float64)
    engaged = sm.seen["selfdriveState"] and sm["selfdriveState"].active
    heading = np.arctan2(np.gradient(path[:, 1]), np.maximum(np.gradient(path[:, 0]), 1e-3))
    side = np.stack([-np.sin(heading), np.cos(heading)], axis=1) * PATH_HALF_WIDTH
    left = np.column_stack([path[:, 0] + side[:, 0], path[:, 1] - side[:, 1], np.full(len(path), ground)])
    right = np.column_stack([path[:, 0] - side[:, 0], path[:, 1] + side[:, 1], np.full(len(path), ground)])
    pl, pr = self._points(left), self._points(right)
    if pl is not None and pr is not None:
      overlay = img.copy()
      cv2.fillPoly(overlay, [np.concatenate([pl, pr[::-1]])], GREEN if engaged else GREY, cv2.LINE_AA, shift=3)
      cv2.addWeighted(overlay, 0.35, img, 0.65, 0, dst=img)
    lines = arrays.unpack(md.laneLines, shapes["laneLines"])
    probs = arrays.unpack(md.laneLineProbs, shapes["laneLineProbs"])
    for i in range(len(lines)):
      if probs[i] > 0.3:
        self._polyline(img, np.column_stack([x, lines[i, :, 0], lines[i, :, 1]]), WHITE, 1 + round(2 * probs[i]))
    for edge in arrays.unpack(md.roadEdges, shapes["roadEdges"]):
      self._polyline(img, np.column_stack([x, edge[:, 0], edge[:, 1]]), RED, 2)
    lead = arrays.unpack(md.leads, shapes["leads"])[0]
    if lead[4] > 0.5:
      px = self._points(np.array([[lead[0], lead[1] - 0.9, ground], [lead[0], lead[1] + 0.9, ground]]))
      if px is not None:
        (x0, y0), (x1, _) = px // 8
        lead_colour = RED if sm["longitudinalPlan"].fcw else BLUE
        cv2.fillPoly(img, [np.array([[x0, y0], [x1, y0], [(x0 + x1) // 2, y0 - (x1 - x0) // 2]])], lead_colour)

  @staticmethod
  def _draw_hud(img: np.ndarray, sm: messaging.SubMaster) -> None:
    cs, sd = sm["carState"], sm["selfdriveState"]
    font = cv2.FONT_HERSHEY_SIMPLEX
    speed = f"{cs.vEgo * KPH:.0f} km/h"
    cruise = f"set {cs.cruiseState.speed * KPH:.0f}" if cs.cruiseState.enabled else "cruise off"
    state = str(sd.state) if sm.seen["selfdriveState"] else "no selfdrived"
    cv2.putText(img, f"{speed}  {cruise}  {state}", (10, 28), font, 0.7, WHITE, 2, cv2.LINE_AA)
    if sm.seen["selfdriveState"] and sd.alertText1:
      colour = STATUS_COLOURS.get(str(sd.alertStatus), (0, 0, 0))
      hh, ww = img.shape[:2]
      cv2.rectangle(img, (0, hh - 70), (ww, hh), colour, -1)
      cv2.putText(img, sd.alertText1, (12, hh - 40), font, 0.8, WHITE, 2, cv2.LINE_AA)
      cv2.putText(img, sd.alertText2, (12, hh - 12), font, 0.6, WHITE, 1, cv2.LINE_AA)

  def close(self) -> None:
    if self.writer is not None:
      self.writer.release()
    if self.window:
      cv2.destroyAllWindows()
    self.client.close()
