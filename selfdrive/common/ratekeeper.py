"""Run a loop at a fixed rate on the stack clock, and tell when it falls behind."""
import time

from cereal.clock import mono_time


class Ratekeeper:
  def __init__(self, rate_hz: float, print_delay_threshold_s: float | None = None):
    self.interval_ns = int(1e9 / rate_hz)
    self.next_ns = mono_time() + self.interval_ns
    self.frame = 0
    self.remaining_s = 0.0
    self.lagging = False
    self.print_delay_threshold_s = print_delay_threshold_s

  def keep_time(self) -> bool:
    """Sleep until the next tick; True when this tick was missed (the loop is lagging)."""
    self.frame += 1
    self.remaining_s = (self.next_ns - mono_time()) * 1e-9
    self.lagging = self.remaining_s < 0
    if self.lagging:
      if self.print_delay_threshold_s is not None and -self.remaining_s > self.print_delay_threshold_s:
        print(f"lagging by {-self.remaining_s * 1000:.1f} ms", flush=True)
      self.next_ns = mono_time() + self.interval_ns  # do not try to catch up a burst of missed ticks
    else:
      time.sleep(self.remaining_s)
      self.next_ns += self.interval_ns
    return self.lagging
