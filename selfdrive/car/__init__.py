"""card's package: everything car-specific, behind one adapter over opendbc. No other package imports opendbc.car:
they take the message types from here."""
from collections.abc import Iterable, Iterator

from opendbc.car import DT_CTRL
from opendbc.car.structs import CarControl, CarParams, CarState, RadarData

from hardware.can.frame import CanFrame

CYCLE_NS = round(DT_CTRL * 1e9)  # card's 100 Hz cycle

__all__ = ["CYCLE_NS", "DT_CTRL", "CarControl", "CarParams", "CarState", "RadarData", "cycles"]


def cycles(frames: Iterable[tuple[int, CanFrame]], until_ns: int | None = None) -> Iterator[tuple[int, list[CanFrame]]]:
  """Groups time-ordered frames into card's 10 ms cycles as `(cycle end ns, frames)`, empty cycles included.

  A frame stamped earlier than its cycle (logs merged from several buses jitter) joins the current cycle.
  Stops before the first frame at or after until_ns.
  """
  end, batch = None, []
  for t, frame in frames:
    if until_ns is not None and t >= until_ns:
      break
    if end is None:
      end = t + CYCLE_NS
    while t >= end:
      yield end, batch
      end, batch = end + CYCLE_NS, []
    batch.append(frame)
  if end is not None:
    yield end, batch
