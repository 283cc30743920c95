"""One prefix names every socket and shared-memory file of a running stack.

Two stacks (or two test runs) with different `LP_PREFIX` values never see each other's messages or frames.
Sockets live in a directory private to the user (0700); shared memory is plain files under /dev/shm that we
map ourselves (Python's resource tracker would unlink segments behind our back).
"""
import os
import re
import shutil
from pathlib import Path

PREFIX_ENV = "LP_PREFIX"
DEFAULT_PREFIX = "default"
SHM_DIR = Path("/dev/shm")
_MAX_UNIX_SOCKET_PATH = 100  # sun_path is 108 bytes; keep a margin for the socket's own name
_VALID_PREFIX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,47}$")  # never '.', '..' or a path


class PrefixError(ValueError):
  pass


def prefix() -> str:
  value = os.environ.get(PREFIX_ENV, DEFAULT_PREFIX)
  if not _VALID_PREFIX.match(value):
    raise PrefixError(f"{PREFIX_ENV}={value!r}: use 1-48 letters, digits, '_', '.' or '-', not starting with . or -")
  return value


def _runtime_root() -> Path:
  return Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / f"lp-{os.getuid()}"


def _private_dir(path: Path) -> Path:
  path.mkdir(mode=0o700, parents=True, exist_ok=True)
  st = path.stat()
  if st.st_uid != os.getuid():
    raise PrefixError(f"{path} belongs to another user; refusing to put sockets there")
  if st.st_mode & 0o077:
    os.chmod(path, 0o700)
  return path


def socket_dir() -> Path:
  """The private directory that holds this prefix's unix sockets (created 0700 on first use)."""
  root = _private_dir(_runtime_root())
  return _private_dir(root / prefix())


def ipc_endpoint(name: str) -> str:
  """zmq endpoint of a named socket under the prefix."""
  path = socket_dir() / name
  if len(str(path)) > _MAX_UNIX_SOCKET_PATH:
    raise PrefixError(f"socket path {path} is too long for a unix socket; use a shorter {PREFIX_ENV}")
  return f"ipc://{path}"


def shm_path(name: str) -> Path:
  """Path of a shared-memory file of this prefix."""
  return SHM_DIR / f"lp-{os.getuid()}-{prefix()}-{name}"


def cleanup() -> list[Path]:
  """Remove every socket and shared-memory file of this prefix; returns what was removed."""
  removed: list[Path] = []
  for path in SHM_DIR.glob(f"lp-{os.getuid()}-{prefix()}-*"):
    path.unlink(missing_ok=True)
    removed.append(path)
  sockets = _runtime_root() / prefix()
  if sockets.exists():
    shutil.rmtree(sockets, ignore_errors=False)
    removed.append(sockets)
  return removed


def leftovers() -> list[Path]:
  """What of this prefix is still on disk (for tests and the manager's shutdown check)."""
  found = list(SHM_DIR.glob(f"lp-{os.getuid()}-{prefix()}-*"))
  sockets = _runtime_root() / prefix()
  if sockets.exists():
    found += list(sockets.iterdir()) or [sockets]
  return found
