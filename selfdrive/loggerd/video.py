"""The road camera into one playable video per segment (Motion JPEG, see config.py), on a thread of loggerd's own.

OpenCV's calls (colour conversion, encoding) release the GIL, so encoding runs beside loggerd's message loop on
the other core. Every frame written yields a `roadEncodeIdx` event (frame id → segment and position in its video)
for loggerd to log: that index is what lets FrameReader and replay find a frame. Frames the thread is too slow for
are skipped (VisionIPC hands out the newest); the index says which were kept.
"""
import ctypes
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from cereal import messaging
from cereal.clock import mono_time
from cereal.visionipc import PixelFormat, VisionBuf, VisionIpcClient, VisionStreamType
from selfdrive.camerad.camerad import VIPC_NAME
from selfdrive.loggerd.config import FLUSH_S, VIDEO, VIDEO_FOURCC, VIDEO_FPS

THREAD_NAME = b"encoder"   # its OS thread name: `localpilot bench replay` counts this thread apart from loggerd's CPU
RECV_TIMEOUT_MS = 100
CONNECT_TIMEOUT_S = 0.5
PR_SET_NAME = 15


def to_bgr(buf: VisionBuf) -> np.ndarray:
  code = cv2.COLOR_YUV2BGR_NV12 if buf.format == PixelFormat.NV12 else cv2.COLOR_RGB2BGR
  return cv2.cvtColor(buf.frame, code)


def open_video(path: Path, width: int, height: int) -> cv2.VideoWriter:
  writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*VIDEO_FOURCC), VIDEO_FPS,
                           (width, height))
  if not writer.isOpened():
    raise OSError(f"OpenCV cannot write {VIDEO_FOURCC} video to {path}")
  return writer


class VideoRecorder(threading.Thread):
  """Follows the segment loggerd is writing (`set_segment`) and hands each index event to `emit`."""

  def __init__(self, emit: Callable[[bytes], None]):
    super().__init__(name=THREAD_NAME.decode(), daemon=True)
    self.emit = emit
    self.stop = threading.Event()
    self._segment: tuple[int, Path] | None = None   # replaced whole by loggerd's thread, read here
    self._writer: cv2.VideoWriter | None = None
    self._writing: tuple[int, tuple[int, int]] | None = None  # segment number and frame size of _writer
    self._count = 0   # frames in the current video
    self._sync_fd: int | None = None   # the video file, to sync it to the disk as often as the logs
    self._next_sync = 0
    self.frames = self.dropped = 0

  def set_segment(self, num: int, path: Path) -> None:
    self._segment = (num, path)

  def run(self) -> None:
    ctypes.CDLL(None).prctl(PR_SET_NAME, ctypes.c_char_p(THREAD_NAME), 0, 0, 0)
    client = VisionIpcClient(VIPC_NAME, VisionStreamType.ROAD)
    try:
      while not self.stop.is_set():
        if not client.connected:
          client.connect(CONNECT_TIMEOUT_S)
          continue
        buf = client.recv(RECV_TIMEOUT_MS)
        if buf is not None:
          self._record(buf)
    finally:
      client.close()
      self._close()

  def _record(self, buf: VisionBuf) -> None:
    bgr = to_bgr(buf)
    if not buf.valid():  # the server lapped this slot while we converted it: a torn frame is not kept
      self.dropped += 1
      return
    segment, size = self._segment, (buf.width, buf.height)
    if segment is None:
      return
    if self._writing is None or self._writing[0] != segment[0]:
      self._open(segment, size)
    elif self._writing[1] != size:  # the camera restarted at another size: its video waits for the next segment
      self.dropped += 1
      return
    if self._writer is None:
      return
    self._writer.write(bgr)
    msg = messaging.new_message("roadEncodeIdx")
    idx = msg.roadEncodeIdx
    idx.frameId, idx.segmentNum, idx.segmentId = buf.frame_id, segment[0], self._count
    idx.timestampSof, idx.timestampEof = buf.timestamp_sof, buf.timestamp_eof
    self.emit(msg.to_bytes())
    self._count += 1
    self.frames += 1
    if self._sync_fd is not None and (now := mono_time()) >= self._next_sync:
      os.fdatasync(self._sync_fd)
      self._next_sync = now + int(FLUSH_S * 1e9)

  def _open(self, segment: tuple[int, Path], size: tuple[int, int]) -> None:
    self._close()
    self._writing, self._count = (segment[0], size), 0
    try:
      self._writer = open_video(segment[1] / VIDEO, *size)
      self._sync_fd = os.open(segment[1] / VIDEO, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
      print(f"loggerd: video: {e}; segment {segment[0]} has no video", file=sys.stderr, flush=True)

  def _close(self) -> None:
    if self._writer is not None:
      self._writer.release()
      self._writer = None
    if self._sync_fd is not None:
      os.close(self._sync_fd)
      self._sync_fd = None
