"""Open the CAN adapter named by a spec string, through python-can.

  sim                        the simulator's link (zmq; see sim_link.py)
  socketcan:can0             a Linux SocketCAN interface
  slcan:/dev/ttyACM0[@500000] a serial (Lawicel) USB adapter, or a pty speaking slcan
  virtual:NAME               python-can's in-process virtual bus (unit tests only)
"""
from dataclasses import dataclass

import can

from hardware.can.sim_link import SIM_CAN_ENDPOINT, SimCanBus
from selfdrive.common.errors import UserError

CAN_ENV = "LP_CAN"
DEFAULT_CAN = "socketcan:can0"
DEFAULT_BITRATE = 500_000
INTERFACES = ("sim", "socketcan", "slcan", "virtual")


@dataclass(frozen=True)
class CanSpec:
  interface: str
  channel: str
  bitrate: int = DEFAULT_BITRATE

  @classmethod
  def parse(cls, spec: str) -> "CanSpec":
    kind, _, rest = spec.partition(":")
    if kind not in INTERFACES:
      raise UserError(f"CAN adapter {spec!r}: unknown interface {kind!r}; use one of {', '.join(INTERFACES)}")
    if kind == "sim":
      return cls("sim", rest or SIM_CAN_ENDPOINT)
    if not rest:
      example = "/dev/ttyACM0" if kind == "slcan" else "can0"
      raise UserError(f"CAN adapter {spec!r}: name the channel, e.g. {kind}:{example}")
    channel, _, bitrate = rest.partition("@")
    try:
      return cls(kind, channel, int(bitrate) if bitrate else DEFAULT_BITRATE)
    except ValueError:
      raise UserError(f"CAN adapter {spec!r}: bitrate {bitrate!r} is not a number") from None


def open_bus(spec: CanSpec) -> can.BusABC:
  try:
    if spec.interface == "sim":
      return SimCanBus(spec.channel)
    if spec.interface == "slcan":
      return can.Bus(interface="slcan", channel=spec.channel, bitrate=spec.bitrate)
    return can.Bus(interface=spec.interface, channel=spec.channel, bitrate=spec.bitrate)
  except (can.CanError, OSError) as e:
    raise UserError(f"cannot open CAN adapter {spec.interface}:{spec.channel}: {e}") from e
