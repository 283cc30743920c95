"""One CAN frame as the stack passes it around outside messages: logs, the car adapter, the simulator link."""
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CanFrame:
  address: int
  data: bytes
  bus: int
