"""loggerd: records every logged service into the current segment's rlog, a decimated copy into its qlog, and the
road camera into its video (selfdrive/loggerd/video.py); a new segment every 60 s, all of one drive in one route.

Messages are written as they arrive, unparsed: the rlog is the bytes that were on the wire. Logs are flushed
every FLUSH_S, so a power cut loses less than a second. The oldest routes are deleted when the disk fills up.
"""
import os
import queue
import sys
import time
from pathlib import Path

import zmq

from cereal import messaging
from cereal.clock import mono_time
from cereal.services import SERVICES
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm
from selfdrive.common.ratekeeper import Ratekeeper
from selfdrive.loggerd import config
from selfdrive.loggerd.deleter import delete_old_routes
from selfdrive.loggerd.initdata import git_commit, init_data
from selfdrive.loggerd.logwriter import SegmentLogs
from selfdrive.loggerd.video import VideoRecorder

VIDEO_ENV = "LP_LOGGERD_VIDEO"   # "0": messages only (no camera on this device)
VIDEO_JOIN_S = 5.0


class Loggerd:
  def __init__(self, root: Path, segment_s: float, video: bool, max_bytes: int | None):
    self.root, self.segment_s, self.max_bytes = root, segment_s, max_bytes
    root.mkdir(parents=True, exist_ok=True)
    self.route = config.new_route_name(root)
    self.commit = git_commit()
    self.params = Params()
    self.socks: dict[zmq.Socket, str] = {}
    self.poller = zmq.Poller()
    for s, svc in SERVICES.items():
      if svc.should_log and s not in config.WRITTEN_BY_LOGGERD:
        sock = messaging.sub_sock(s)
        self.socks[sock] = s
        self.poller.register(sock, zmq.POLLIN)
    self.qlog_counts: dict[str, int] = {}
    self.index: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    self.video = VideoRecorder(self.index.put) if video else None
    self.segment = -1
    self.logs: SegmentLogs | None = None
    self.segment_end = self.next_flush = 0
    self.rotate()
    if self.video is not None:
      self.video.start()

  def rotate(self) -> None:
    """Close the current segment and start the next."""
    if self.logs is not None:
      self.logs.close()
    self.segment += 1
    path = self.root / str(config.SegmentName(self.route, self.segment))
    now = mono_time()
    header = init_data(self.route, self.segment, now, time.time_ns(), self.commit, self.params)
    self.logs = SegmentLogs(path, header, self.qlog_counts)
    if self.video is not None:
      self.video.set_segment(self.segment, path)
    self.segment_end, self.next_flush = now + int(self.segment_s * 1e9), now + int(config.FLUSH_S * 1e9)
    self.housekeeping()

  def housekeeping(self) -> None:
    try:
      deleted = delete_old_routes(self.root, keep=self.route, max_bytes=self.max_bytes)
    except OSError as e:
      print(f"loggerd: disk housekeeping failed: {e}", file=sys.stderr, flush=True)
      return
    if deleted:
      print(f"loggerd: deleted old routes {', '.join(deleted)} to make room", flush=True)

  def receive(self) -> None:
    assert self.logs is not None
    for sock, _ in self.poller.poll(0):
      service = self.socks[sock]
      for data in messaging.drain_sock_raw(sock):
        self.logs.write(service, data)
    while not self.index.empty():
      self.logs.write("roadEncodeIdx", self.index.get())

  def step(self) -> None:
    self.receive()
    if self.video is not None and not self.video.is_alive() and not self.video.stop.is_set():
      print("loggerd: video recording stopped (its error is above); messages are still recorded", file=sys.stderr,
            flush=True)
      self.video.stop.set()
    now = mono_time()
    if now >= self.segment_end:
      self.rotate()
    elif now >= self.next_flush:
      assert self.logs is not None
      self.logs.flush()
      self.next_flush = now + int(config.FLUSH_S * 1e9)

  def close(self) -> None:
    if self.video is not None:
      self.video.stop.set()
      self.video.join(VIDEO_JOIN_S)
    self.receive()  # what arrived meanwhile, and the video's last index events
    if self.logs is not None:
      self.logs.close()
      self.logs = None
    for sock in self.socks:
      sock.close()


def main() -> int:
  exit_on_sigterm()
  try:
    loggerd = Loggerd(config.routes_dir(), config.segment_seconds(), os.environ.get(VIDEO_ENV, "1") != "0",
                      config.max_routes_bytes())
  except (ValueError, OSError) as e:
    print(f"loggerd: error: {e}", file=sys.stderr)
    return 2
  print(f"loggerd: recording route {loggerd.route} under {loggerd.root}", flush=True)
  rk = Ratekeeper(1 / config.LOOP_S)
  try:
    while True:
      loggerd.step()
      rk.keep_time()
  finally:
    loggerd.close()


if __name__ == "__main__":
  sys.exit(main())
