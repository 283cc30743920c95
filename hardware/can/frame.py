"""One CAN frame as the stack passes it around outside messages: logs, the car adapter, the simulator link.

A NamedTuple laid out as opendbc's CanData (address, dat, src): opendbc's parsers take our frames as they are, with
no copy at 100 Hz (and a tuple costs 0.28 us to make here, a frozen dataclass 0.75)."""
from typing import NamedTuple


class CanFrame(NamedTuple):
  address: int
  data: bytes
  bus: int
