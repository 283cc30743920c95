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
  old-generation one walks every tracked object, the imports' hundred thousand with them: a pause of several of
  card's 10 ms cycles. Timed with gc.callbacks over card's loop on the process-replay drive: collections took 57.6 ms
  in all (7.1 us a step), most of it one old-generation collection; frozen, 8.2 ms (1.0 us a step). Reference cycles
  made in the loop are still collected."""
  gc.collect()
  gc.freeze()
