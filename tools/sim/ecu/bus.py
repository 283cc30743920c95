"""The sending side of a simulated car's CAN: messages packed by opendbc's CANPacker (real checksums and
counters), each on its own period like the unsynchronized ECUs of a real car, and the receiving side's checks."""
from dataclasses import dataclass

from opendbc.can import CANDefine, CANPacker
from opendbc.can.dbc import Msg, Signal
from opendbc.can.parser import get_raw_value

from hardware.can.frame import CanFrame

MS = 1_000_000
STAGGER_NS = 100 * MS   # first sends spread over this much time, so no two ECUs' messages line up


def signal_range(sig: Signal) -> tuple[float, float]:
  """The physical values a signal can carry: packing anything outside would wrap around."""
  lo, hi = (-(1 << (sig.size - 1)), (1 << (sig.size - 1)) - 1) if sig.is_signed else (0, (1 << sig.size) - 1)
  a, b = lo * sig.factor + sig.offset, hi * sig.factor + sig.offset
  return min(a, b), max(a, b)


class DbcCodec:
  """One DBC's messages both ways. Out: a CANPacker per bus (a packer keeps one counter per address, and a message
  can go on two buses), values clipped to what each signal carries. In: checked and decoded."""

  def __init__(self, dbc_name: str):
    self.dbc_name = dbc_name
    self._packers: dict[int, CANPacker] = {}
    self.msgs: dict[str, Msg] = CANPacker(dbc_name).dbc.name_to_msg
    self._ranges = {name: {s: signal_range(sig) for s, sig in m.sigs.items()} for name, m in self.msgs.items()}
    self._by_address = {m.address: m for m in self.msgs.values()}
    self.define = CANDefine(dbc_name).dv

  def value(self, msg: str, sig: str, name: str) -> int:
    """The raw value the DBC's VAL_ table names `name`: value("EPS_STATUS", "LKA_STATE", "ACTIVE") is 5."""
    return next(v for v, n in self.define[msg][sig].items() if n == name)

  def frame(self, name: str, bus: int, values: dict[str, float]) -> CanFrame:
    ranges = self._ranges[name]
    clipped = {s: min(max(v, ranges[s][0]), ranges[s][1]) for s, v in values.items()}
    if bus not in self._packers:
      self._packers[bus] = CANPacker(self.dbc_name)
    address, data, _ = self._packers[bus].make_can_msg(name, bus, clipped)
    return CanFrame(address, data, bus)

  def name_of(self, address: int) -> str | None:
    msg = self._by_address.get(address)
    return None if msg is None else msg.name

  def decode(self, address: int, data: bytes) -> dict[str, float] | None:
    """A received frame's signals, or None where a real ECU would drop it: unknown, wrong length, bad checksum."""
    msg = self._by_address.get(address)
    if msg is None or len(data) != msg.size:
      return None
    out = {}
    for name, sig in msg.sigs.items():
      raw = get_raw_value(data, sig)
      if sig.calc_checksum is not None and raw != sig.calc_checksum(address, sig, bytearray(data)):
        return None
      if sig.is_signed and raw >> (sig.size - 1):
        raw -= 1 << sig.size
      out[name] = raw * sig.factor + sig.offset
    return out


@dataclass
class Periodic:
  """One message on its period; `due` is when it goes out next."""
  name: str
  bus: int
  address: int
  period_ns: int
  due: int = 0


class Schedule:
  """When each message is due. A late step (the simulator paused) sends each message once, not a burst."""

  def __init__(self, entries: list[Periodic]):
    self.entries = entries
    self.started = False

  def start(self, t_ns: int) -> None:
    for e in self.entries:
      e.due = t_ns + (e.address * 7919 + e.bus * 104729) % 1000 * min(e.period_ns, STAGGER_NS) // 1000
    self.started = True

  def due(self, t_ns: int) -> list[Periodic]:
    if not self.started:
      self.start(t_ns)
    out = []
    for e in self.entries:
      if e.due <= t_ns:
        out.append(e)
        e.due += e.period_ns
        if e.due <= t_ns:
          e.due = t_ns + e.period_ns
    return out

  def send_now(self, name: str, t_ns: int) -> None:
    """Event-driven messages (a blinker switched) go out at once, then on their period again."""
    for e in self.entries:
      if e.name == name:
        e.due = min(e.due, t_ns)
