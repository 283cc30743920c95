"""A small persistent key-value store: one human-readable file per key under LP_PARAMS_DIR.

Writes go to a temp file in the same directory, are fsynced and renamed over the key (os.replace is atomic), then
the directory is fsynced: a reader sees the old value or the new one, never part of one, even if the writer is
killed mid-write. Temp files are named `.tmp_<key>.<pid>.<token>`; readers never look at them and any writer
removes the ones whose process is gone. Several processes may write one key: the last rename wins.
"""
import atexit
import contextlib
import difflib
import json
import logging
import math
import os
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from selfdrive.common.params_keys import KEYS, ParamFlag, ParamSpec, ParamType

PARAMS_DIR_ENV = "LP_PARAMS_DIR"
DEFAULT_PARAMS_DIR = "~/.localpilot/params"
TMP_PREFIX = ".tmp_"
BLOCK_POLL_S = 0.02
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

log = logging.getLogger(__name__)

__all__ = ["KEYS", "ParamFlag", "ParamSpec", "ParamType", "Params", "default_params_dir"]


def default_params_dir() -> Path:
  return Path(os.environ.get(PARAMS_DIR_ENV) or DEFAULT_PARAMS_DIR).expanduser()


def _spec(key: str) -> ParamSpec:
  if not isinstance(key, str):
    raise TypeError(f"param key must be a str, got {type(key).__name__}")
  spec = KEYS.get(key)
  if spec is None:
    close = difflib.get_close_matches(key, KEYS, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"unknown param {key!r}{hint} (declare new keys in selfdrive/common/params_keys.py)")
  return spec


def _check_range(key: str, spec: ParamSpec, value: int | float) -> None:
  if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
    raise ValueError(f"param {key}: {value!r} is outside [{spec.lo}, {spec.hi}]")


def encode(key: str, spec: ParamSpec, value: Any) -> bytes:
  """Validate `value` against the key's declared type and return the bytes stored on disk."""
  t = spec.type
  if t is ParamType.BOOL:
    if not isinstance(value, bool):
      raise TypeError(f"param {key}: expected bool, got {type(value).__name__}")
    return b"1" if value else b"0"
  if t is ParamType.INT:
    if not isinstance(value, int) or isinstance(value, bool):
      raise TypeError(f"param {key}: expected int, got {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
      raise ValueError(f"param {key}: {value} does not fit in 64 bits")
    _check_range(key, spec, value)
    return str(value).encode()
  if t is ParamType.FLOAT:
    if not isinstance(value, int | float) or isinstance(value, bool):
      raise TypeError(f"param {key}: expected float, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
      raise ValueError(f"param {key}: {value} is not a finite number")
    _check_range(key, spec, value)
    return repr(value).encode()
  if t is ParamType.STR:
    if not isinstance(value, str):
      raise TypeError(f"param {key}: expected str, got {type(value).__name__}")
    try:
      return value.encode()
    except UnicodeEncodeError as e:
      raise ValueError(f"param {key}: string is not valid unicode ({e.reason})") from None
  if t is ParamType.BYTES:
    if not isinstance(value, bytes | bytearray | memoryview):
      raise TypeError(f"param {key}: expected bytes, got {type(value).__name__}")
    return bytes(value)
  if t is ParamType.JSON:
    if not isinstance(value, dict | list):
      raise TypeError(f"param {key}: expected a JSON dict or list, got {type(value).__name__}")
    try:
      text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
      raise type(e)(f"param {key}: not JSON-serialisable: {e}") from None
    if json.loads(text) != value:  # tuples, non-str dict keys, ... would come back different
      raise ValueError(f"param {key}: value does not survive a JSON round-trip (tuples? non-str dict keys?)")
    return text.encode()
  raise AssertionError(f"unhandled param type {t}")


def decode(key: str, spec: ParamSpec, data: bytes) -> Any:
  """Parse stored bytes; raises ValueError when the file holds something put() would have refused."""
  t = spec.type
  if t is ParamType.BOOL:
    s = data.strip()
    if s not in (b"0", b"1"):
      raise ValueError(f"expected 0 or 1, found {data[:20]!r}")
    return s == b"1"
  if t is ParamType.INT:
    value: Any = int(data.strip())
  elif t is ParamType.FLOAT:
    value = float(data.strip())
  elif t is ParamType.STR:
    return data.decode()
  elif t is ParamType.BYTES:
    return data
  else:
    value = json.loads(data)
  encode(key, spec, value)  # same checks as put: bounds, finiteness, top-level dict/list
  return value


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # exists, belongs to someone else
  return True


class Params:
  """Typed access to the params directory. Cheap to construct; holds no open files."""

  def __init__(self, path: str | Path | None = None):
    self.path = Path(path).expanduser() if path is not None else default_params_dir()
    self.path.mkdir(parents=True, exist_ok=True)
    self._clean_stale_tmp()

  def get(self, key: str, block: bool = False, timeout: float | None = None) -> Any:
    """The stored value, or the key's default when absent or unreadable.

    block=True waits until the key exists; with a timeout (seconds) it gives up and returns the default."""
    spec = _spec(key)
    deadline = None if timeout is None else time.monotonic() + timeout
    while (data := self._read(key)) is None:
      if not block or (deadline is not None and time.monotonic() >= deadline):
        return self._default(spec)
      time.sleep(BLOCK_POLL_S)
    try:
      return decode(key, spec, data)
    except (ValueError, TypeError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
      log.warning("param %s: corrupt value in %s (%s); using the default", key, self.path / key, e)
      return self._default(spec)

  def get_bool(self, key: str) -> bool:
    """get() for bool keys, with an undeclared default read as False."""
    spec = _spec(key)
    if spec.type is not ParamType.BOOL:
      raise TypeError(f"param {key} is {spec.type.value}, not bool")
    return bool(self.get(key))

  def put(self, key: str, value: Any) -> None:
    """Validate and write durably; returns once the value is on disk."""
    self._write(key, encode(key, _spec(key), value))

  def put_nonblocking(self, key: str, value: Any) -> None:
    """Validate now, write on a background thread (in call order); for loops that must not wait on the disk."""
    _writer.submit(self, key, encode(key, _spec(key), value))

  def remove(self, key: str) -> None:
    _spec(key)
    with contextlib.suppress(FileNotFoundError):
      os.unlink(self.path / key)
      self._fsync_dir()

  def clear_all(self, flag: ParamFlag) -> None:
    """Remove every key that has any of the bits in `flag`."""
    removed = False
    for key in self.all_keys(flag):
      with contextlib.suppress(FileNotFoundError):
        os.unlink(self.path / key)
        removed = True
    if removed:
      self._fsync_dir()

  def all_keys(self, flag: ParamFlag | None = None) -> list[str]:
    """Every declared key (not just the ones on disk), optionally only those with any bit of `flag`."""
    return [k for k, s in KEYS.items() if flag is None or s.flags & flag]

  # internals

  @staticmethod
  def _default(spec: ParamSpec) -> Any:
    return json.loads(json.dumps(spec.default)) if spec.type is ParamType.JSON else spec.default  # fresh copy

  def _read(self, key: str) -> bytes | None:
    try:
      with open(self.path / key, "rb") as f:
        return f.read()
    except FileNotFoundError:
      return None

  def _write(self, key: str, data: bytes) -> None:
    self._clean_stale_tmp()
    tmp = self.path / f"{TMP_PREFIX}{key}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
      with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
      os.replace(tmp, self.path / key)
    except BaseException:
      with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
      raise
    self._fsync_dir()

  def _fsync_dir(self) -> None:
    fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
      os.fsync(fd)
    finally:
      os.close(fd)

  def _clean_stale_tmp(self) -> None:
    """Remove temp files left by writers that died mid-write (their pid is gone)."""
    me = os.getpid()
    with os.scandir(self.path) as it:
      for entry in it:
        if not entry.name.startswith(TMP_PREFIX):
          continue
        parts = entry.name.rsplit(".", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        if pid is None or (pid != me and not _pid_alive(pid)):
          with contextlib.suppress(FileNotFoundError):  # another writer cleaned it first
            os.unlink(entry.path)


class _BackgroundWriter:
  """One daemon thread per process draining put_nonblocking calls in order; flushed at interpreter exit."""

  def __init__(self):
    self._reset()
    os.register_at_fork(after_in_child=self._reset)
    atexit.register(self.flush)

  def _reset(self) -> None:
    """Also run in a forked child: the parent's thread does not exist there."""
    self._lock = threading.Lock()
    self._queue: queue.Queue[tuple[Params, str, bytes]] = queue.Queue()
    self._thread: threading.Thread | None = None

  def submit(self, params: Params, key: str, data: bytes) -> None:
    with self._lock:
      if self._thread is None:
        self._thread = threading.Thread(target=self._run, name="params_writer", daemon=True)
        self._thread.start()
    self._queue.put((params, key, data))

  def flush(self) -> None:
    """Wait until every queued write is on disk."""
    if self._thread is not None:
      self._queue.join()

  def _run(self) -> None:
    while True:
      params, key, data = self._queue.get()
      try:
        params._write(key, data)
      except Exception:  # keep the thread alive: later writes and the exit flush depend on it
        log.exception("param %s: background write to %s failed", key, params.path)
      finally:
        self._queue.task_done()


_writer = _BackgroundWriter()

for _k, _s in KEYS.items():  # a bad default in the table fails at import, not on some later get()
  if _s.default is not None:
    encode(_k, _s, _s.default)
