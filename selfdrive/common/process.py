"""What every localpilot process does at start: exit cleanly on SIGTERM, die with its parent, set its start-up
aside from the garbage collector."""
import ctypes
import gc
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


def freeze_startup() -> None:
  """Once set up (imports, DBCs, the car's params), before the loop: what start-up made goes into the collector's
  permanent generation. A loop that allocates as it runs (capnp builders, numpy arrays) triggers collections, and an
  old-generation one would walk the hundred thousand objects of the imports each time; reference cycles made in the
  loop are still collected. card's step on the process-replay drive: 424 -> 396 us in one process."""
  gc.collect()
  gc.freeze()
