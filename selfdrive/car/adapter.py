"""The one adapter over opendbc: CAN frames in → CarState, CarControl in → CAN frames out, for one platform.

It owns opendbc's CarInterface and the CarParams built for the platform; card drives it at 100 Hz.
"""
import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import capnp
from opendbc.can import CANPacker
from opendbc.car import gen_empty_fingerprint
from opendbc.car.car_helpers import interfaces
from opendbc.car.carlog import carlog
from opendbc.car.common.conversions import Conversions as CV

from hardware.can.frame import CanFrame
from selfdrive.car import CarControl, CarParams, CarState, RadarData
from selfdrive.car.can_packer import FastCANPacker
from selfdrive.car.can_parser import FastCANParser
from selfdrive.car.fingerprinting import Fingerprint, check_platform


@dataclass(frozen=True)
class SafetyConfig:
  """What the safety model in cand needs: panda's safety model number and its parameter (flags)."""
  model: int
  param: int


@functools.cache
def keeping_wheel_speeds(ci_cls: type) -> type:
  """opendbc's CarInterface whose CarState keeps each wheel's speed. opendbc 0.3.1's CarStates hand all four to
  parse_wheel_speeds, which keeps only their mean (vEgoRaw) and leaves carState.wheelSpeeds zero; paramsd needs the
  rear wheels' difference, the car's yaw rate."""
  class CarState(ci_cls.CarState):
    def parse_wheel_speeds(self, cs, fl, fr, rl, rr, unit=CV.KPH_TO_MS):
      super().parse_wheel_speeds(cs, fl, fr, rl, rr, unit)
      k = unit * self.CP.wheelSpeedFactor
      ws = cs.wheelSpeeds
      ws.fl, ws.fr, ws.rl, ws.rr = fl * k, fr * k, rl * k, rr * k
  return type(ci_cls.__name__, (ci_cls,), {"CarState": CarState})


@dataclass(frozen=True, order=True)
class MissingMessage:
  bus: int
  address: int
  name: str


class CarAdapter:
  """opendbc's CarInterface for one platform. alpha_long asks for openpilot longitudinal where opendbc gates it
  behind its alpha toggle (e.g. TSS2 cars whose radar does ACC). car_fw: the firmware versions read from the car
  (none when it was not asked); source: how the platform was told (CarParams.FingerprintSource); fuzzy: by opendbc's
  fuzzy firmware match. carParams records them as opendbc's car_helpers does."""
  def __init__(self, platform: str, fingerprint: Fingerprint | None = None, alpha_long: bool = False,
               car_fw: Sequence[CarParams.CarFw] = (), source: str = "can", fuzzy: bool = False):
    self.platform = check_platform(platform)
    ci_cls = keeping_wheel_speeds(interfaces[self.platform])
    self.car_params: CarParams = ci_cls.get_params(self.platform, fingerprint or gen_empty_fingerprint(),
                                                   list(car_fw), alpha_long, False, False)
    self.car_params.carFw = list(car_fw)
    self.car_params.fingerprintSource = source
    self.car_params.fuzzyFingerprint = fuzzy
    self._ci = ci_cls(self.car_params)
    # opendbc's parsers, subscribed as its CarState made them, decoding faster (selfdrive/car/can_parser.py)
    self._ci.can_parsers = {bus: None if cp is None else FastCANParser.like(cp)
                            for bus, cp in self._ci.can_parsers.items()}
    # and its car controller's packers, encoding faster (selfdrive/car/can_packer.py)
    for name, value in list(vars(self._ci.CC).items()):
      if type(value) is CANPacker:
        setattr(self._ci.CC, name, FastCANPacker.like(value))
    self._ci.update([(0, [])])  # opendbc's parsers subscribe on CarState's first read: else cycle one's frames are lost
    self._ri = ci_cls.RadarInterface(self.car_params)
    if self._ri.rcp is not None:
      self._ri.rcp = FastCANParser.like(self._ri.rcp)
    self._radar_bus = None if self._ri.rcp is None else self._ri.rcp.bus

  @property
  def safety_configs(self) -> tuple[SafetyConfig, ...]:
    return tuple(SafetyConfig(c.safetyModel.raw, c.safetyParam) for c in self.car_params.safetyConfigs)

  def update(self, frames: Sequence[CanFrame], t_ns: int) -> CarState:
    """One cycle: the frames received since the last call, stamped t_ns (monotonic)."""
    return self._ci.update([(t_ns, frames)])   # a CanFrame is opendbc's (address, dat, src)

  def radar(self, frames: Sequence[CanFrame], t_ns: int) -> "RadarData | None":
    """One cycle of opendbc's RadarInterface: a whole radar scan when this cycle completed one, else None (a car
    without a radar opendbc reads gives an empty scan at 20 Hz)."""
    ours = [] if self._radar_bus is None else [f for f in frames if f.bus == self._radar_bus]
    return self._ri.update([(t_ns, ours)])

  def apply(self, car_control: CarControl, now_nanos: int) -> tuple[CarControl.Actuators, list[CanFrame]]:
    """The actuators opendbc will really command (after its limits) and the frames that carry them.

    car_control may be a message being built (CarControl.new_message()) or one received: opendbc wants a reader.
    """
    if isinstance(car_control, capnp.lib.capnp._DynamicStructBuilder):
      car_control = car_control.as_reader()
    actuators, sends = self._ci.apply(car_control, now_nanos)
    return actuators, [CanFrame(address, bytes(dat), bus) for address, dat, bus in sends]  # opendbc sends plain tuples

  def missing_messages(self) -> list[MissingMessage]:
    """Messages CarState reads that have never arrived: why canValid stays false."""
    return sorted(MissingMessage(cp.bus, s.address, s.name) for cp in self._parsers()
                  for s in cp.message_states.values() if not s.timestamps and not s.ignore_alive)

  def buses_read(self) -> set[int]:
    return {cp.bus for cp in self._parsers() if cp.message_states}

  def stop_checking_bus(self, bus: int) -> list[MissingMessage]:
    """For a recording that never had this bus (a logger on one bus, a camera cut off): its messages no longer hold
    canValid false — opendbc's own mechanism for messages it may miss (a NaN frequency: ignore_alive). Only offline
    tools call this; card never does. Returns the messages no longer checked."""
    unchecked = []
    for cp in self._parsers():
      if cp.bus == bus:
        for s in cp.message_states.values():
          if not s.ignore_alive:
            s.ignore_alive = True
            unchecked.append(MissingMessage(bus, s.address, s.name))
    return sorted(unchecked)

  def _parsers(self) -> list:
    return [cp for cp in self._ci.can_parsers.values() if cp is not None]


@contextlib.contextmanager
def opendbc_log_level(level: int = logging.ERROR) -> Iterator[None]:
  """opendbc's parsers warn about every missing message once a second on stderr; batch tools report them once."""
  old = carlog.level
  carlog.setLevel(level)
  try:
    yield
  finally:
    carlog.setLevel(old)
