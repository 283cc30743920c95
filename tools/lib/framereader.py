"""FrameReader: frames of a segment's road-camera video by position; RouteFrames: by frame id across a route.

Videos are read through OpenCV. Reading on in order decodes each frame once; a jump backwards or far ahead
re-opens the file and decodes forward from its start (segments are a minute long: fast enough for seeking
in replay, and exact, where container seeking on a cut-off file is not).
"""
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from selfdrive.common.errors import UserError
from tools.lib.logreader import LogReader
from tools.lib.route import Segment

MAX_SKIP = 60   # frames decoded and dropped to reach a frame ahead before re-opening is cheaper


class FrameReader:
  """The frames of one video file, as RGB (H, W, 3) uint8, by position from 0."""

  def __init__(self, path: str | Path):
    self.path = Path(path)
    if not self.path.is_file():
      raise UserError(f"video {self.path} not found")
    self._cap: cv2.VideoCapture | None = None
    self._next = 0       # position of the frame the next read returns
    self._open()
    self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))

  def _open(self) -> cv2.VideoCapture:
    if self._cap is not None:
      self._cap.release()
    self._cap = cv2.VideoCapture(str(self.path))
    if not self._cap.isOpened():
      raise UserError(f"{self.path}: not a video OpenCV can read")
    self._next = 0
    return self._cap

  def get(self, pos: int) -> np.ndarray | None:
    """The frame at `pos`, or None when the file ends before it (a video cut short by a power cut)."""
    if pos < 0:
      raise IndexError(f"frame position {pos} < 0")
    cap = self._cap if self._cap is not None and self._next <= pos <= self._next + MAX_SKIP else self._open()
    while self._next < pos:
      if not cap.grab():
        return None
      self._next += 1
    ok, bgr = cap.read()
    if not ok:
      return None
    self._next += 1
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

  def __iter__(self):
    pos = 0
    while (frame := self.get(pos)) is not None:
      yield frame
      pos += 1

  def close(self) -> None:
    if self._cap is not None:
      self._cap.release()
      self._cap = None


class RouteFrames:
  """Road-camera frames of a route by frame id, found through the `roadEncodeIdx` events of its qlogs."""

  def __init__(self, segments: Iterable[Segment]):
    self.videos: dict[int, Path] = {}
    self.index: dict[int, tuple[int, int]] = {}   # frame id → (segment, position in its video)
    for seg in segments:
      if not seg.video.exists():
        continue
      self.videos[seg.num] = seg.video
      for ev in LogReader(seg.path, qlog=True):
        if ev.which() == "roadEncodeIdx":
          idx = ev.roadEncodeIdx
          self.index[idx.frameId] = (idx.segmentNum, idx.segmentId)
    self._readers: dict[int, FrameReader] = {}

  def get(self, frame_id: int) -> np.ndarray | None:
    """The frame as RGB, or None where the route has no video of it."""
    where = self.index.get(frame_id)
    if where is None or where[0] not in self.videos:
      return None
    reader = self._readers.get(where[0])
    if reader is None:
      reader = self._readers[where[0]] = FrameReader(self.videos[where[0]])
    return reader.get(where[1])

  def close(self) -> None:
    for r in self._readers.values():
      r.close()
