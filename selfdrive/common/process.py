"""What every localpilot process does at start: exit cleanly on SIGTERM, die with its parent."""
import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def _raise_exit(signum, _frame):
  raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
  """Turn SIGTERM into SystemExit so `finally` blocks run (shared memory unlinked, files flushed)."""
  signal.signal(signal.SIGTERM, _raise_exit)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
  """Ask the kernel to signal us when the process that started us dies, so no process is orphaned."""
  if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
