"""The one monotonic clock of the stack (nanoseconds, like logMonoTime).

Live, it is CLOCK_MONOTONIC, shared by every process on the machine. Under lock-step replay the harness
drives it, so a replayed process sees exactly the recorded times.
"""
import time

_replay_time_ns: int | None = None


def mono_time() -> int:
  return time.monotonic_ns() if _replay_time_ns is None else _replay_time_ns


def set_replay_time(t_ns: int | None) -> None:
  """Drive the clock from replay (None returns to the live clock)."""
  global _replay_time_ns
  _replay_time_ns = t_ns
