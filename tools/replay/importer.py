"""`localpilot import`: a CAN recording from any logger (candump -L or BLF), and a video of the drive when there
is one, into a route of ordinary segments, so it can be replayed and process-replayed like a recorded drive.

CAN frames are grouped into card's 10 ms cycles, one `can` event per cycle stamped with the cycle's end (empty
cycles included, as cand publishes them), every frame exactly once. Times stay the recording's own. Video frames
are re-encoded into each segment's video at the file's frame rate, starting `video_offset_s` after the first CAN
frame, each with its roadCameraState and roadEncodeIdx events.
"""
import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cereal import messaging
from selfdrive.camerad.sources import default_intrinsics
from selfdrive.car import cycles
from selfdrive.common.errors import UserError
from selfdrive.loggerd.config import FLUSH_S, SEGMENT_S, VIDEO, SegmentName, new_route_name
from selfdrive.loggerd.initdata import git_commit, init_data
from selfdrive.loggerd.logwriter import SegmentLogs
from selfdrive.loggerd.video import open_video
from tools.lib.canlog import CanLogReader

UNIX_TIME_MIN_NS = 946684800 * 10**9   # 2000-01-01: earlier stamps are a logger's own clock, not the wall clock
DEVICE_TYPE = "import"
CAN, FRAME = 0, 1   # what an event of the merged streams is; CAN first where both fall on one time


@dataclass(frozen=True)
class ImportResult:
  route: str
  segments: int
  can_messages: int
  can_frames: int
  video_frames: int
  skipped: int


class _CanSource:
  def __init__(self, reader: CanLogReader):
    self.reader = reader
    self.frames = 0

  def events(self) -> Iterator[tuple[int, int, bytes]]:
    for t_ns, frames in cycles(iter(self.reader)):
      self.frames += len(frames)
      msg = messaging.new_message("can", len(frames))
      msg.logMonoTime = t_ns
      for out, f in zip(msg.can, frames, strict=True):
        out.address, out.dat, out.src = f.address, f.data, f.bus
      yield t_ns, CAN, msg.to_bytes()


class _VideoSource:
  def __init__(self, path: Path, start_ns: int):
    if not path.is_file():
      raise UserError(f"video {path} not found")
    self.cap = cv2.VideoCapture(str(path))
    if not self.cap.isOpened():
      raise UserError(f"{path}: not a video OpenCV can read")
    fps = self.cap.get(cv2.CAP_PROP_FPS)
    if not fps > 0:
      raise UserError(f"{path}: the video does not say its frame rate")
    self.period_ns, self.start_ns = int(1e9 / fps), start_ns
    self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    self.intrinsics = default_intrinsics(self.width, self.height).flatten().tolist()

  def frames(self) -> Iterator[tuple[int, int, np.ndarray]]:
    for frame_id in itertools.count(1):
      ok, bgr = self.cap.read()
      if not ok:
        return
      yield self.start_ns + (frame_id - 1) * self.period_ns, FRAME, bgr

  def camera_state(self, t_ns: int, frame_id: int) -> bytes:
    msg = messaging.new_message("roadCameraState")
    msg.logMonoTime = t_ns
    cs = msg.roadCameraState
    cs.frameId, cs.timestampSof, cs.timestampEof = frame_id, t_ns, t_ns
    cs.sensor, cs.width, cs.height, cs.intrinsics = "video", self.width, self.height, self.intrinsics
    return msg.to_bytes()


def _encode_idx(t_ns: int, frame_id: int, segment: int, position: int) -> bytes:
  msg = messaging.new_message("roadEncodeIdx")
  msg.logMonoTime = t_ns
  idx = msg.roadEncodeIdx
  idx.frameId, idx.segmentNum, idx.segmentId = frame_id, segment, position
  idx.timestampSof = idx.timestampEof = t_ns
  return msg.to_bytes()


def import_can_log(log_path: Path, out: Path, video_path: Path | None = None, video_offset_s: float = 0.0,
                   skip_bad: bool = False) -> ImportResult:
  """Write the recording as a new route under `out`; CanLogError (a UserError) for a log that cannot be read."""
  can = _CanSource(CanLogReader(log_path, skip_bad))
  events = can.events()
  first = next(events, None)
  if first is None:
    raise UserError(f"{log_path}: no CAN frames")
  start_ns = first[0]
  streams: list[Iterator[tuple[int, int, object]]] = [itertools.chain([first], events)]
  video = None
  if video_path is not None:
    video = _VideoSource(video_path, start_ns + int(video_offset_s * 1e9))
    streams.append(video.frames())
  wall_s = start_ns / 1e9 if start_ns >= UNIX_TIME_MIN_NS else None
  out.mkdir(parents=True, exist_ok=True)
  route = new_route_name(out, wall_s)
  commit, counts = git_commit(), {}
  logs: SegmentLogs | None = None
  writer: cv2.VideoWriter | None = None
  segment, segments, position, can_n, frame_id, last_flush = -1, 0, 0, 0, 0, start_ns
  try:
    for t_ns, kind, payload in heapq.merge(*streams, key=lambda e: (e[0], e[1])):
      seg = max(0, (t_ns - start_ns) // int(SEGMENT_S * 1e9))
      if seg != segment:
        if logs is not None:
          logs.close()
        if writer is not None:
          writer.release()
          writer = None
        segment, position, segments = seg, 0, segments + 1
        path = out / str(SegmentName(route, segment))
        wall_ns = int(wall_s * 1e9) + (t_ns - start_ns) if wall_s is not None else 0
        logs = SegmentLogs(path, init_data(route, segment, t_ns, wall_ns, commit, None, DEVICE_TYPE), counts)
      assert logs is not None
      if kind == CAN:
        logs.write("can", payload)
        can_n += 1
      else:
        assert video is not None
        if writer is None:
          try:
            writer = open_video(logs.path / VIDEO, video.width, video.height)
          except OSError as e:
            raise UserError(str(e)) from None
        frame_id += 1
        writer.write(payload)
        logs.write("roadCameraState", video.camera_state(t_ns, frame_id))
        logs.write("roadEncodeIdx", _encode_idx(t_ns, frame_id, segment, position))
        position += 1
      if t_ns - last_flush > FLUSH_S * 1e9:  # zstd frames as loggerd writes them
        logs.flush()
        last_flush = t_ns
  finally:
    if logs is not None:
      logs.close()
    if writer is not None:
      writer.release()
    if video is not None:
      video.cap.release()
  return ImportResult(route, segments, can_n, can.frames, frame_id, can.reader.skipped)
