"""Replay: a recorded route republished as it happened, messages on their services and road frames through
VisionIPC, so the rest of the stack (or the UI) runs against a recorded drive.

Time follows the recorded logMonoTime, scaled by the speed (0.1x to 20x); pause, seek and speed changes go
through `command()` from any thread (the CLI's keyboard). Messages are republished byte for byte. Segments are
read one ahead of playback, on a thread.
"""
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

from cereal import messaging
from cereal.services import SERVICES
from cereal.visionipc import PixelFormat, VisionIpcServer, VisionStreamType
from selfdrive.camerad.camerad import NUM_BUFFERS, VIPC_NAME
from selfdrive.common.errors import UserError
from selfdrive.loggerd.config import WRITTEN_BY_LOGGERD
from tools.lib.framereader import RouteFrames
from tools.lib.logreader import LogMessage, LogReader, first_message
from tools.lib.route import Segment
from tools.sim.camera import rgb_to_nv12

MIN_SPEED, MAX_SPEED = 0.1, 20.0
SPEEDS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)   # the steps of the keyboard's + and -
MAX_WAIT_S = 0.1           # the loop checks for commands at least this often
FRAME_LATE_S = 0.1         # a frame this late is skipped rather than decoded (playback keeps its pace)
REPLAYABLE = tuple(s for s, v in SERVICES.items() if v.should_log and s not in WRITTEN_BY_LOGGERD)


def check_speed(speed: float) -> float:
  if not MIN_SPEED <= speed <= MAX_SPEED:
    raise UserError(f"speed {speed}: replay runs at {MIN_SPEED}x to {MAX_SPEED}x")
  return speed


def choose_services(only: list[str] | None, block: list[str] | None) -> set[str]:
  for s in (*(only or []), *(block or [])):
    if s not in REPLAYABLE:
      raise UserError(f"{s!r} is not a recorded service; these are: {', '.join(REPLAYABLE)}")
  return set(only or REPLAYABLE) - set(block or [])


class Do(Enum):
  PAUSE = "pause"
  RESUME = "resume"
  TOGGLE = "toggle"      # pause or resume
  SEEK = "seek"          # to `value` seconds into the route
  SEEK_BY = "seek_by"    # `value` seconds from here
  SPEED = "speed"        # play at `value` times real time
  QUIT = "quit"


@dataclass(frozen=True)
class Command:
  do: Do
  value: float = 0.0


class Replay:
  def __init__(self, segments: list[Segment], services: set[str], speed: float = 1.0, video: bool = True,
               qlog: bool = False):
    if not segments:
      raise UserError("nothing to replay: no segments")
    self.segments, self.services, self.qlog = segments, services, qlog
    self.speed = check_speed(speed)
    self.paused = False
    self.frames = RouteFrames(segments) if video and "roadCameraState" in services else None
    self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
    self.published = 0
    self.frames_sent = 0
    self.t_s = 0.0               # position in the route, seconds from its start
    self._loader = ThreadPoolExecutor(1, thread_name_prefix="replay-load")
    self._loaded: dict[int, Future[list[LogMessage]]] = {}
    firsts = [first_message(s.log(qlog)) for s in segments]
    if firsts[0] is None:
      raise UserError(f"{segments[0].path}: no readable messages to replay")
    self.t0_ns = firsts[0].logMonoTime
    # seconds into the route at which each segment starts (an unreadable start: right after the one before)
    self.starts = [0.0]
    for f in firsts[1:]:
      self.starts.append((f.logMonoTime - self.t0_ns) * 1e-9 if f is not None else self.starts[-1])
    self.pm = messaging.PubMaster(sorted(services))
    self.vipc: VisionIpcServer | None = None

  def command(self, cmd: Command) -> None:
    self.commands.put(cmd)

  def _read(self, seg: Segment) -> list[LogMessage]:
    reader = LogReader(seg.path, qlog=self.qlog, sort_by_time=True)
    keep = self.services | {"roadCameraState"}
    return [m for m in reader.messages() if m.which in keep]

  def _segment_messages(self, i: int) -> list[LogMessage]:
    if i not in self._loaded:
      self._loaded[i] = self._loader.submit(self._read, self.segments[i])
    if i + 1 < len(self.segments) and i + 1 not in self._loaded:
      self._loaded[i + 1] = self._loader.submit(self._read, self.segments[i + 1])
    for k in [k for k in self._loaded if k < i - 1 or k > i + 1]:
      del self._loaded[k]
    return self._loaded[i].result()

  def _position(self, t_s: float) -> tuple[int, int]:
    """(segment index, message index) of the first message at or after t_s into the route."""
    i = max(k for k, start in enumerate(self.starts) if start <= t_s or k == 0)
    t_ns = self.t0_ns + int(t_s * 1e9)
    msgs = self._segment_messages(i)
    return i, next((j for j, m in enumerate(msgs) if m.logMonoTime >= t_ns), len(msgs))

  def run(self, until_s: float | None = None, start_s: float = 0.0,
          on_status: Callable[["Replay"], None] | None = None) -> None:
    """Play from start_s until the route ends, `until_s` into it, or a quit command."""
    seg_i, msg_i = self._position(start_s)
    anchor_wall, anchor_t = time.monotonic(), start_s
    self.t_s = start_s
    last_status = 0.0
    while True:
      msgs = self._segment_messages(seg_i)
      if msg_i >= len(msgs):
        if seg_i + 1 >= len(self.segments):
          return
        seg_i, msg_i = seg_i + 1, 0
        continue
      m = msgs[msg_i]
      t = (m.logMonoTime - self.t0_ns) * 1e-9
      if until_s is not None and t > until_s:
        return
      now = time.monotonic()
      if on_status is not None and now - last_status >= 1.0:
        on_status(self)
        last_status = now
      wait = MAX_WAIT_S if self.paused else anchor_wall + (t - anchor_t) / self.speed - now
      if wait > 0:
        try:
          cmd = self.commands.get(timeout=min(wait, MAX_WAIT_S))
        except queue.Empty:
          continue
        if cmd.do is Do.QUIT:
          return
        if cmd.do in (Do.SEEK, Do.SEEK_BY):
          target = min(max(0.0, cmd.value + (self.t_s if cmd.do is Do.SEEK_BY else 0.0)), self.starts[-1])
          seg_i, msg_i = self._position(target)
          self.t_s = target
        elif cmd.do is Do.SPEED:
          self.speed = check_speed(cmd.value)
        else:
          self.paused = {Do.PAUSE: True, Do.RESUME: False, Do.TOGGLE: not self.paused}[cmd.do]
        anchor_wall, anchor_t = time.monotonic(), self.t_s
        continue
      self.t_s = t
      self._publish(m, late_s=-wait)
      msg_i += 1

  def _publish(self, m: LogMessage, late_s: float) -> None:
    if m.which == "roadCameraState" and self.frames is not None and late_s < FRAME_LATE_S:
      self._send_frame(m)
    if m.which in self.services:
      self.pm.send(m.which, m.data)
      self.published += 1

  def _send_frame(self, m: LogMessage) -> None:
    assert self.frames is not None
    cs = m.event.roadCameraState
    rgb = self.frames.get(cs.frameId)
    if rgb is None:
      return
    if self.vipc is None:
      self.vipc = VisionIpcServer(VIPC_NAME)
      self.vipc.create_buffers(VisionStreamType.ROAD, NUM_BUFFERS, rgb.shape[1], rgb.shape[0], PixelFormat.NV12)
      self.vipc.start_listener()
    self.vipc.send(VisionStreamType.ROAD, rgb_to_nv12(rgb), cs.frameId, cs.timestampSof, cs.timestampEof)
    self.frames_sent += 1

  def close(self) -> None:
    self._loader.shutdown(wait=True, cancel_futures=True)
    self.pm.close()
    if self.vipc is not None:
      self.vipc.close()
    if self.frames is not None:
      self.frames.close()
