"""CAN log files: candump and BLF round trips, and bad input that must name the file and line, not crash."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.lib.canlog import (
  FD_SIZES,
  CanFrame,
  CanLogError,
  CanLogReader,
  CanLogWarning,
  read_can_log,
  read_processed_log,
  write_can_log,
)

T0_NS = 1_533_188_087_123_456_000

frame = st.builds(CanFrame, address=st.integers(0, 0x1FFFFFFF),
                  data=st.sampled_from(FD_SIZES).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
                  bus=st.integers(0, 15))
# candump and BLF keep microseconds: times are whole µs, in order (equal times allowed)
timed_frames = st.lists(st.tuples(st.integers(0, 10_000_000), frame), max_size=60).map(
  lambda fs: [(T0_NS + 1000 * sum(d for d, _ in fs[:i + 1]), f) for i, (_, f) in enumerate(fs)])


def read_all(path, **kw):
  return list(read_can_log(path, **kw))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=timed_frames)
def test_candump_round_trip(tmp_path, frames):
  path = tmp_path / "x.log"
  assert write_can_log(path, frames) == len(frames)
  assert read_all(path) == frames


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=timed_frames)
def test_blf_round_trip(tmp_path, frames):
  path = tmp_path / "x.blf"
  write_can_log(path, frames)
  assert read_all(path) == frames


def test_candump_format_and_channels(tmp_path):
  path = tmp_path / "drive.log"
  path.write_text("(1533188087.123456) can0 123#DEADBEEF\n"
                  "(1533188087.123457) vcan2 18DAF110#0102\n"
                  "\n"
                  "(1533188087.123458) can1 7E8##1" + "AA" * 12 + "\n"
                  "(1533188087.123459) can1 7DF#R\n")  # a remote frame: no payload, dropped
  reader = CanLogReader(path)
  assert list(reader) == [(T0_NS, CanFrame(0x123, bytes.fromhex("DEADBEEF"), 0)),
                          (T0_NS + 1000, CanFrame(0x18DAF110, b"\x01\x02", 2)),
                          (T0_NS + 2000, CanFrame(0x7E8, b"\xaa" * 12, 1))]
  assert reader.dropped == 1


@pytest.mark.parametrize("line, why", [
  ("(1533188087.123456) can0 123DEADBEEF", "not a candump -L frame"),
  ("1533188087.123456 can0 123#DEADBEEF", "not a candump -L frame"),
  ("(1533188087.123456) can0 123#DEADBEE", "odd number of hex digits"),
  ("(1533188087.123456) can0 123#XYZW", "not a candump -L frame"),
  ("(1533188087.123456) can0 123#" + "00" * 65, "more than CAN FD's 64"),
  ("(1533188087.123456) canbus 123#00", "does not end in a bus number"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, why):
  path = tmp_path / "bad.log"
  path.write_text("(1533188087.123455) can0 001#00\n" * 2 + line + "\n(1533188087.123457) can0 002#00\n")
  with pytest.raises(CanLogError, match=rf"bad\.log, line 3: .*{why}"):
    read_all(path)


def test_skip_bad_lines_counts_and_warns_once(tmp_path):
  path = tmp_path / "bad.log"
  path.write_text("(1.000000) can0 001#00\ngarbage\n(1.000001) can0 002#00\n(x) can0 1#00\n(1.000002) can0 003#00\n")
  reader = CanLogReader(path, skip_bad=True)
  with pytest.warns(CanLogWarning, match=r"skipped 2 bad lines \(first: line 2:"):
    frames = list(reader)
  assert [f.address for _, f in frames] == [1, 2, 3]
  assert reader.skipped == 2


def test_truncated_candump(tmp_path):
  path = tmp_path / "cut.log"
  path.write_text("(1533188087.123456) can0 123#DEADBEEF\n(1533188087.1235")
  with pytest.raises(CanLogError, match=r"line 2: .*looks cut off"):
    read_all(path)
  with warnings.catch_warnings(record=True):
    assert len(read_all(path, skip_bad=True)) == 1


def test_truncated_blf(tmp_path):
  path = tmp_path / "x.blf"
  write_can_log(path, [(T0_NS + i * 1_000_000, CanFrame(0x100 + i, bytes(8), 0)) for i in range(500)])
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(CanLogError, match=r"x\.blf, header: .*truncated"):
    read_all(path)
  path.write_bytes(data[:40])
  with pytest.raises(CanLogError, match=r"x\.blf"):
    read_all(path)


def test_not_a_can_log(tmp_path):
  (tmp_path / "a.bin").write_bytes(b"\x00\x01hello")
  with pytest.raises(CanLogError, match="neither a candump -L log"):
    read_all(tmp_path / "a.bin")
  (tmp_path / "a.blf").write_text("(1.0) can0 1#00\n")
  with pytest.raises(CanLogError, match="not a BLF file"):
    read_all(tmp_path / "a.blf")
  with pytest.raises(CanLogError, match="cannot open"):
    read_all(tmp_path / "missing.log")


def test_format_told_by_content(tmp_path):
  frames = [(T0_NS, CanFrame(0x123, b"\x01", 0))]
  write_can_log(tmp_path / "x.blf", frames)
  (tmp_path / "x.blf").rename(tmp_path / "x.dat")
  assert read_all(tmp_path / "x.dat") == frames
  write_can_log(tmp_path / "y.log", frames)
  (tmp_path / "y.log").rename(tmp_path / "y.dump")
  assert read_all(tmp_path / "y.dump") == frames


def test_writer_refuses_what_it_would_change(tmp_path):
  out = tmp_path / "x.log"
  with pytest.raises(CanLogError, match="comes before the previous one"):
    write_can_log(out, [(T0_NS, CanFrame(1, b"", 0)), (T0_NS - 1000, CanFrame(2, b"", 0))])
  assert not out.exists()
  with pytest.raises(CanLogError, match="CAN FD sizes"):
    write_can_log(out, [(T0_NS, CanFrame(1, bytes(9), 0))])
  with pytest.raises(CanLogError, match="BLF stores wall-clock times"):
    write_can_log(tmp_path / "x.blf", [(46408_584930000, CanFrame(1, b"", 0))])
  assert not (tmp_path / "x.blf").exists()


def test_processed_log_padding_and_echoes(tmp_path):
  """comma2k19 keeps payloads as numpy S8, which drops trailing zeros: lengths come back from the DBC of the bus."""
  raw = tmp_path / "processed_log" / "CAN" / "raw_can"
  raw.mkdir(parents=True)
  arrays = {"t": np.array([2.0, 1.0, 1.5, 3.0]), "address": np.array([0xAA, 0x2E4, 0x7A0, 0x7A0]),
            "src": np.array([0, 128, 1, 1]), "data": np.array([b"\x01", b"\x02\x00\x03", b"\x04\x05", b"\x06"], "S8")}
  for name, a in arrays.items():
    with open(raw / name, "wb") as f:
      np.save(f, a)
  dbcs = {0: "toyota_nodsu_pt_generated"}
  assert list(read_processed_log(tmp_path, dbcs)) == [
    (1_000_000_000, CanFrame(0x2E4, b"\x02\x00\x03\x00\x00", 0)),  # a panda echo, put back on bus 0; STEERING_LKA: 5
    (1_500_000_000, CanFrame(0x7A0, b"\x04\x05", 1)),  # no DBC for bus 1: the longest payload seen for it
    (2_000_000_000, CanFrame(0xAA, b"\x01" + bytes(7), 0)),  # WHEEL_SPEEDS: 8
    (3_000_000_000, CanFrame(0x7A0, b"\x06\x00", 1))]
  assert [f.address for _, f in read_processed_log(raw, dbcs, include_tx=False)] == [0x7A0, 0xAA, 0x7A0]
  with pytest.raises(CanLogError, match="neither an opendbc DBC name nor a file"):
    list(read_processed_log(tmp_path, {0: "no_such_dbc"}))
  with pytest.raises(CanLogError, match="no processed_log/CAN/raw_can"):
    list(read_processed_log(tmp_path / "elsewhere", dbcs))
