"""LogReader reads every message back, from a file, a segment, a range or a route, rlog or qlog; a cut or
damaged file reads back up to the damage with a warning and never raises. FrameReader seeks exactly."""
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cereal import messaging
from selfdrive.common.errors import UserError
from selfdrive.loggerd.config import SegmentName
from selfdrive.loggerd.initdata import init_data
from selfdrive.loggerd.logwriter import LogWriter, SegmentLogs
from tools.lib.framereader import FrameReader
from tools.lib.logreader import LogReader, LogWarning, first_message
from tools.lib.route import list_routes, resolve

ROUTE = "0000002a--2026-11-22--05-12-33"
N = 600


def car_state(i: int) -> bytes:
  msg = messaging.new_message("carState")
  msg.logMonoTime, msg.carState.vEgo = 10**9 + i * 10**7, float(i)
  return msg.to_bytes()


def write_log(path: Path, n: int = N, flush_every: int = 50) -> Path:
  w = LogWriter(path)
  for i in range(n):
    w.write(car_state(i))
    if i % flush_every == flush_every - 1:
      w.flush()
  w.close()
  return path


@pytest.fixture(scope="module")
def log_bytes(tmp_path_factory) -> bytes:
  return write_log(tmp_path_factory.mktemp("log") / "rlog.zst").read_bytes()


def speeds(source, **kw) -> tuple[list[int], list[str]]:
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    v = [int(ev.carState.vEgo) for ev in LogReader(source, **kw) if ev.which() == "carState"]
  return v, [str(w.message) for w in caught if issubclass(w.category, LogWarning)]


def make_route(root: Path, segments: int = 3, per_segment: int = 100) -> None:
  counts: dict[str, int] = {}
  for seg in range(segments):
    logs = SegmentLogs(root / str(SegmentName(ROUTE, seg)), init_data(ROUTE, seg, 10**9, 0, "", None), counts)
    for i in range(seg * per_segment, (seg + 1) * per_segment):
      logs.write("carState", car_state(i))
    logs.close()


def test_reads_everything_back(tmp_path, log_bytes):
  (tmp_path / "rlog.zst").write_bytes(log_bytes)
  assert speeds(tmp_path / "rlog.zst") == (list(range(N)), [])
  plain = b"".join(car_state(i) for i in range(10))  # an uncompressed log reads too
  (tmp_path / "rlog").write_bytes(plain)
  assert speeds(tmp_path / "rlog") == (list(range(10)), [])
  msgs = list(LogReader(tmp_path / "rlog").messages())
  assert [m.data for m in msgs] == [car_state(i) for i in range(10)] and msgs[3].which == "carState"


def test_route_specs(tmp_path):
  make_route(tmp_path)
  route = tmp_path / ROUTE
  assert list_routes(tmp_path) == [ROUTE]
  assert speeds(route)[0] == list(range(300))
  assert speeds(f"{route}/1")[0] == list(range(100, 200))
  assert speeds(f"{route}/1:")[0] == list(range(100, 300))
  assert speeds(f"{route}/:2")[0] == list(range(200))
  assert speeds(f"{route}--2")[0] == list(range(200, 300))
  assert speeds(tmp_path / f"{ROUTE}--0")[0] == list(range(100))
  assert speeds(f"{route}/q")[0] == list(range(0, 300, 10))  # carState's qlog decimation is 10
  assert [ev.initData.segmentNum for ev in LogReader(route) if ev.which() == "initData"] == [0, 1, 2]
  assert first_message(resolve(f"{route}--1").segments[0].rlog).which == "initData"
  with pytest.raises(UserError, match="has no such segments"):
    LogReader(f"{route}/7")
  with pytest.raises(UserError, match="not found"):
    LogReader(tmp_path / "00000001--2026-01-01--00-00-00")
  with pytest.raises(UserError, match="neither a log file"):
    LogReader(tmp_path / "nothing-here")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 1.0))
def test_cut_file_reads_up_to_the_cut(tmp_path, log_bytes, cut):
  path = tmp_path / "cut.zst"
  path.write_bytes(log_bytes[:int(cut * len(log_bytes))])
  v, warned = speeds(path)
  assert v == list(range(len(v)))                      # a prefix, in order, nothing invented
  assert len(v) >= int(cut * N) - 2 * 50               # at most the frame that was being cut is lost
  assert warned or len(v) in (0, N) or len(v) % 50 == 0  # a cut inside a frame says so


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0.0, 0.999), flip=st.integers(1, 255))
def test_damaged_file_reads_around_the_damage(tmp_path, log_bytes, at, flip):
  bad = bytearray(log_bytes)
  bad[int(at * len(bad))] ^= flip
  path = tmp_path / "bad.zst"
  path.write_bytes(bytes(bad))
  v, warned = speeds(path)
  assert v == sorted(set(v)) and set(v) <= set(range(N))  # never a made-up or repeated message
  assert len(v) >= N - 2 * 50 or warned                  # at most the damaged frame goes, and it is said
  if len(v) < N:
    assert warned and ("damaged" in warned[0] or "cut off" in warned[0])


def test_garbage_and_newer_logs(tmp_path):
  (tmp_path / "junk").write_bytes(bytes(range(256)) * 8)
  v, warned = speeds(tmp_path / "junk")
  assert v == [] and warned
  # a service from a newer schema (an unknown union member) is skipped and counted, the rest reads
  future = bytearray(car_state(1))
  discriminant = 8 + 8 + 8 + 2  # framing, root pointer, logMonoTime, the valid bit's u16, then the union's tag
  future[discriminant:discriminant + 2] = (999).to_bytes(2, "little")
  (tmp_path / "newer").write_bytes(car_state(0) + bytes(future) + car_state(2))
  v, warned = speeds(tmp_path / "newer")
  assert v == [0, 2] and "does not know" in warned[0]


def test_frame_reader_seeks_exactly(tmp_path):
  w, h, n = 128, 96, 40
  path = tmp_path / "fcamera.mkv"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (w, h))
  for i in range(n):
    img = np.full((h, w, 3), 40, np.uint8)
    cv2.putText(img, str(i), (10, 70), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    writer.write(img)
  writer.release()
  fr = FrameReader(path)
  forward = list(fr)
  assert len(forward) == n and forward[0].shape == (h, w, 3)
  for pos in (30, 5, 39, 6, 0):
    assert np.array_equal(fr.get(pos), forward[pos])
  assert fr.get(n) is None
  with pytest.raises(UserError, match="not found"):
    FrameReader(tmp_path / "missing.mkv")
