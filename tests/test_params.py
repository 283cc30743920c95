import inspect
import logging
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfdrive.common.params import INT64_MAX, INT64_MIN, TMP_PREFIX, Params, decode, encode
from selfdrive.common.params_keys import KEYS, ParamFlag, ParamSpec, ParamType
from tests.conftest import subprocess_env


def make_value(seed: int, max_size: int) -> bytes:
  """A large value fully determined by its 16-byte header, so any read can be checked for being whole."""
  rng = random.Random(seed)
  header = seed.to_bytes(8, "little") + max_size.to_bytes(8, "little")
  return header + rng.randbytes(rng.randrange(max_size // 8, max_size))


def check_whole(value: bytes) -> int:
  """The seed of `value`, after checking it is exactly what some put wrote."""
  seed, max_size = int.from_bytes(value[:8], "little"), int.from_bytes(value[8:16], "little")
  assert value == make_value(seed, max_size), f"partial or foreign value, {len(value)} bytes"
  return seed


def tmp_files(p: Params) -> list[str]:
  return [n for n in os.listdir(p.path) if n.startswith(TMP_PREFIX)]


def wait_until(cond, timeout: float = 5.0) -> bool:
  deadline = time.monotonic() + timeout
  while not cond():
    if time.monotonic() > deadline:
      return False
    time.sleep(0.005)
  return True


def reaped_pid() -> int:
  proc = subprocess.Popen([sys.executable, "-c", "pass"])
  proc.wait()
  return proc.pid


# *** key table ***

def test_table_is_consistent():
  assert {s.type for s in KEYS.values()} == set(ParamType), "every type should have at least one key"
  for key, spec in KEYS.items():
    assert key.isidentifier() and "." not in key, key
    assert spec.description and "\n" not in spec.description, key
    assert spec.flags, f"{key} has no flags"
    assert bool(spec.flags & ParamFlag.PERSISTENT) != bool(spec.flags & ~ParamFlag.PERSISTENT), \
      f"{key}: PERSISTENT and CLEAR_* flags exclude each other"
    if spec.default is not None:
      assert decode(key, spec, encode(key, spec, spec.default)) == spec.default
    if spec.lo is not None or spec.hi is not None:
      assert spec.type in (ParamType.INT, ParamType.FLOAT), key


def test_defaults():
  p = Params()
  assert p.get("OpenpilotEnabledToggle") is True and p.get_bool("OpenpilotEnabledToggle")
  assert p.get("LongitudinalPersonality") == 1
  assert p.get("IsEngaged") is False and not p.get_bool("IsEngaged")
  assert p.get("CarParams") is None and p.get("LiveParameters") is None
  p.put("OpenpilotEnabledToggle", False)
  assert p.get_bool("OpenpilotEnabledToggle") is False
  assert os.listdir(p.path) == ["OpenpilotEnabledToggle"]
  assert (p.path / "OpenpilotEnabledToggle").read_bytes() == b"0"  # human-readable


def test_paths(monkeypatch, tmp_path):
  assert Params().path == Path(os.environ["LP_PARAMS_DIR"])
  assert Params(tmp_path / "x").path == tmp_path / "x" and (tmp_path / "x").is_dir()
  assert Params(str(tmp_path / "y")).path == tmp_path / "y"
  monkeypatch.delenv("LP_PARAMS_DIR")
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  assert Params().path == tmp_path / "home" / ".localpilot" / "params"


# *** round trips ***

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_any = st.recursive(json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                                       max_size=4), max_leaves=12)


def values_for(spec: ParamSpec) -> st.SearchStrategy:
  t = spec.type
  if t is ParamType.BOOL:
    return st.booleans()
  if t is ParamType.INT:
    return st.integers(INT64_MIN if spec.lo is None else spec.lo, INT64_MAX if spec.hi is None else spec.hi)
  if t is ParamType.FLOAT:
    return st.floats(spec.lo, spec.hi, allow_nan=False, allow_infinity=False)
  if t is ParamType.STR:
    return st.text()
  if t is ParamType.BYTES:
    return st.binary(max_size=4096)
  return st.lists(json_any, max_size=4) | st.dictionaries(st.text(max_size=8), json_any, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_roundtrip_every_key(data):
  key = data.draw(st.sampled_from(sorted(KEYS)), label="key")
  value = data.draw(values_for(KEYS[key]), label="value")
  Params().put(key, value)
  got = Params().get(key)  # a fresh instance: the value came from disk
  assert got == value and type(got) is type(value)


def test_float_accepts_int():
  p = Params()
  p.put("CameraHeight", 1)
  assert p.get("CameraHeight") == 1.0 and isinstance(p.get("CameraHeight"), float)


# *** validation ***

@pytest.mark.parametrize("key,value,exc", [
  ("IsEngaged", 1, TypeError),
  ("IsEngaged", "1", TypeError),
  ("IsEngaged", None, TypeError),
  ("SimSeed", True, TypeError),
  ("SimSeed", 1.5, TypeError),
  ("SimSeed", "7", TypeError),
  ("SimSeed", 2 ** 64, ValueError),
  ("LongitudinalPersonality", 3, ValueError),
  ("LongitudinalPersonality", -1, ValueError),
  ("CameraHeight", math.nan, ValueError),
  ("CameraHeight", math.inf, ValueError),
  ("CameraHeight", 10.0, ValueError),
  ("CameraHeight", "1.2", TypeError),
  ("Version", b"0.1", TypeError),
  ("Version", "\ud800", ValueError),
  ("CarParams", "abc", TypeError),
  ("LiveParameters", (1, 2), TypeError),
  ("LiveParameters", "{}", TypeError),
  ("LiveParameters", {1: 2}, ValueError),
  ("LiveParameters", {"a": (1, 2)}, ValueError),
  ("LiveParameters", {"a": math.nan}, ValueError),
  ("LiveParameters", {"a": object()}, TypeError),
])
def test_put_validates(key, value, exc):
  p = Params()
  for put in (p.put, p.put_nonblocking):
    with pytest.raises(exc, match=key):
      put(key, value)
  assert os.listdir(p.path) == []


def test_unknown_key():
  p = Params()
  for call in (lambda: p.get("IsOnRoad"), lambda: p.put("IsOnRoad", True), lambda: p.remove("IsOnRoad"),
               lambda: p.get_bool("IsOnRoad"), lambda: p.put_nonblocking("IsOnRoad", True)):
    with pytest.raises(KeyError, match="IsOnroad") as e:
      call()
    assert "unknown param 'IsOnRoad'" in str(e.value) and len(str(e.value)) < 200
  with pytest.raises(KeyError, match="unknown param 'Zzzz'"):
    p.get("Zzzz")
  with pytest.raises(TypeError):
    p.get(b"IsOnroad")  # type: ignore[arg-type]
  assert os.listdir(p.path) == []


def test_get_bool_needs_bool_key():
  with pytest.raises(TypeError, match="SimSeed is int"):
    Params().get_bool("SimSeed")


# *** remove / clear_all ***

def test_remove():
  p = Params()
  p.put("Version", "0.1")
  p.remove("Version")
  assert p.get("Version") is None
  p.remove("Version")  # absent: nothing to do
  p.put("LongitudinalPersonality", 2)
  p.remove("LongitudinalPersonality")
  assert p.get("LongitudinalPersonality") == 1  # back to the default


def test_clear_all_by_flag():
  p = Params()
  values = {"IsOnroad": True, "IsEngaged": True, "CarParams": b"cp", "ManagerStartTime": "t",
            "CarParamsPersistent": b"cp", "IsMetric": True, "LiveParameters": {"steerRatio": 15.0}}
  for k, v in values.items():
    p.put(k, v)
  p.clear_all(ParamFlag.CLEAR_ON_OFFROAD_TRANSITION)
  assert p.get("IsEngaged") is False and p.get("IsOnroad") is True
  p.clear_all(ParamFlag.CLEAR_ON_ONROAD_TRANSITION)
  assert p.get("CarParams") is None and p.get("ManagerStartTime") == "t"
  p.clear_all(ParamFlag.CLEAR_ON_MANAGER_START)
  assert sorted(os.listdir(p.path)) == ["CarParamsPersistent", "IsMetric", "LiveParameters"]
  assert set(p.all_keys(ParamFlag.CLEAR_ON_MANAGER_START)) >= {"IsOnroad", "IsEngaged", "CarParams"}
  assert set(p.all_keys()) == set(KEYS)
  p.clear_all(ParamFlag.PERSISTENT)
  assert os.listdir(p.path) == []


# *** blocking ***

def test_block_timeout_returns_default():
  p = Params()
  t0 = time.monotonic()
  assert p.get("CarParams", block=True, timeout=0.2) is None
  assert p.get("LongitudinalPersonality", block=True, timeout=0.1) == 1
  assert 0.3 <= time.monotonic() - t0 < 1.5


def test_block_waits_for_writer():
  p = Params()
  timer = threading.Timer(0.1, Params().put, ("CarParams", b"fingerprinted"))
  timer.start()
  t0 = time.monotonic()
  assert p.get("CarParams", block=True, timeout=5) == b"fingerprinted"
  assert time.monotonic() - t0 < 2
  timer.join()
  assert p.get("CarParams", block=True) == b"fingerprinted"  # present: returns at once, no timeout needed


# *** put_nonblocking ***

def test_put_nonblocking_eventually_visible_in_order():
  p = Params()
  p.put_nonblocking("LiveParameters", {"steerRatio": 14.5})
  assert p.get("LiveParameters", block=True, timeout=5) == {"steerRatio": 14.5}
  for i in range(50):
    p.put_nonblocking("SimSeed", i)
  assert wait_until(lambda: p.get("SimSeed") == 49), p.get("SimSeed")


def test_put_nonblocking_flushed_at_exit():
  code = "from selfdrive.common.params import Params; Params().put_nonblocking('CarParams', b'x' * (8 << 20))"
  subprocess.run([sys.executable, "-c", code], env=subprocess_env(), check=True, timeout=30)
  assert Params().get("CarParams") == b"x" * (8 << 20)


# *** corruption and stale temp files ***

@pytest.mark.parametrize("key,raw", [
  ("LiveParameters", b'{"steerRatio": 1'),
  ("LiveParameters", b'"just a string"'),
  ("LiveParameters", b'{"a": NaN}'),
  ("IsMetric", b"yes"),
  ("IsMetric", b""),
  ("LongitudinalPersonality", b"7"),
  ("SimSeed", b"12abc"),
  ("CameraHeight", b"nan"),
  ("Version", b"\xff\xfe"),
])
def test_corrupt_file_returns_default(caplog, key, raw):
  p = Params()
  (p.path / key).write_bytes(raw)
  with caplog.at_level(logging.WARNING):
    assert p.get(key) == KEYS[key].default
    assert p.get(key, block=True, timeout=0.1) == KEYS[key].default
  assert f"param {key}: corrupt value" in caplog.text
  good = {"LiveParameters": {"ok": True}, "IsMetric": True, "LongitudinalPersonality": 2, "SimSeed": 3,
          "CameraHeight": 1.5, "Version": "0.1"}[key]
  p.put(key, good)  # a later put simply replaces the bad file
  assert p.get(key) == good


def test_hand_edited_files_are_read():
  p = Params()
  (p.path / "IsMetric").write_bytes(b"1\n")  # echo 1 > IsMetric
  (p.path / "SimSeed").write_bytes(b" 42\n")
  assert p.get_bool("IsMetric") and p.get("SimSeed") == 42


def test_stale_tmp_ignored_and_cleaned():
  p = Params()
  p.put("CarParams", b"good")
  stale = p.path / f"{TMP_PREFIX}CarParams.{reaped_pid()}.deadbeef"
  stale.write_bytes(b"half-writ")
  live = p.path / f"{TMP_PREFIX}CarParams.{os.getppid()}.cafecafe"  # a writer that is still running
  live.write_bytes(b"in progress")
  assert p.get("CarParams") == b"good"  # readers never look at temp files
  Params()  # init cleans up
  assert not stale.exists() and live.exists()
  stale.write_bytes(b"half-writ")
  p.put("CarParams", b"better")  # and so does the next writer
  assert not stale.exists() and live.exists() and p.get("CarParams") == b"better"
  live.unlink()


# *** processes ***

WRITER = "import random\n" + inspect.getsource(make_value) + """
import os, sys
from selfdrive.common.params import Params
p, rng = Params(), random.Random(int(sys.argv[1]))
max_size, count = int(sys.argv[2]), int(sys.argv[3])
for _ in range(count):
  seed = rng.getrandbits(63)
  value = make_value(seed, max_size)
  os.write(1, b"begin %d\\n" % seed)  # one write(2) each: a line is never torn by the kill
  p.put("CarParams", value)
  os.write(1, b"done %d\\n" % seed)
"""


def test_writer_killed_mid_write_never_leaves_partial_value():
  p = Params()
  rng = random.Random(1234)
  current: int | None = None  # seed of the value on disk
  mid_write_kills, stale_seen = 0, 0
  for i in range(30):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(i), str(4 << 20), "1000000"],
                            stdout=subprocess.PIPE, env=subprocess_env())
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the child is now inside its first put
    assert first.startswith(b"begin"), first
    time.sleep(rng.uniform(0, 0.04))  # kill at a random moment mid-stream
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = [first, *proc.stdout.read().splitlines()]
    proc.stdout.close()
    begun = [int(ln.split()[1]) for ln in lines if ln.startswith(b"begin")]
    done = [int(ln.split()[1]) for ln in lines if ln.startswith(b"done")]
    allowed = {done[-1] if done else current}
    if len(begun) > len(done):  # killed inside put: the rename may or may not have happened
      allowed.add(begun[-1])
      mid_write_kills += 1
    stale_seen += bool(tmp_files(p))
    for _ in range(3):  # whoever reads, whenever: always one whole value that was written
      value = p.get("CarParams")
      current = None if value is None else check_whole(value)
      assert current in allowed, f"iteration {i}: read seed {current}, expected one of {allowed}"
  assert mid_write_kills >= 5, f"only {mid_write_kills}/30 kills landed inside a put; the test lost its teeth"
  # later writes are unaffected by whatever the killed writers left behind
  final = make_value(99, 1 << 20)
  Params().put("CarParams", final)
  assert p.get("CarParams") == final and tmp_files(p) == []
  print(f"mid-write kills {mid_write_kills}/30, stale temp files seen after {stale_seen}")


def test_concurrent_writers_last_wins_readers_see_whole_values():
  p = Params()
  procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(100 + i), str(256 << 10), "40"],
                            stdout=subprocess.PIPE, env=subprocess_env()) for i in range(3)]
  reads = 0
  while any(proc.poll() is None for proc in procs) or reads == 0:
    value = p.get("CarParams")
    if value is not None:
      check_whole(value)
      reads += 1
  last = set()
  for proc in procs:
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    last.add(int(out.splitlines()[-1].split()[1]))
  assert check_whole(p.get("CarParams")) in last  # the final rename belongs to some writer's last put
  assert tmp_files(p) == [] and reads > 10
