"""One CAN frame as the stack passes it around outside messages: logs, the car adapter, the simulator link.

A NamedTuple laid out as opendbc's CanData (address, dat, src): opendbc's parsers take our frames as they are, with
no copy at 100 Hz (a tuple is also several times cheaper to make than a frozen dataclass)."""
from typing import NamedTuple


class CanFrame(NamedTuple):
  address: int
  data: bytes
  bus: int
