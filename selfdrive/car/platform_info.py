"""Facts about a car platform for code outside selfdrive/car (the simulator's car ECUs), read from opendbc.car so
that nothing copies its tables: DBC names, what CarState reads, fingerprints, firmware versions and how they are
asked for, steering and accel limits, safety.

All are for CarParams as opendbc builds them without firmware versions or a fingerprint and without the alpha
longitudinal toggle, which is what card gets for a car named on the command line.
"""
import functools
import importlib
from dataclasses import dataclass

from opendbc.car.car_helpers import interfaces
from opendbc.car.fw_query_definitions import ECU_NAME
from opendbc.car.fw_versions import FW_QUERY_CONFIGS, VERSIONS
from opendbc.car.interfaces import get_interface_attr
from opendbc.car.structs import CarParams
from opendbc.car.uds import get_rx_addr_for_tx_addr

from selfdrive.car.fingerprinting import check_platform

Fingerprint = dict[int, dict[int, int]]             # bus → {address: payload length}
StateMessages = dict[int, dict[int, tuple[str, int]]]  # bus → {address: (message name, payload length)}


@dataclass(frozen=True)
class SteerTorqueLimits:
  """The torque command as opendbc's CarController limits it, in the car's CAN units."""
  max: int          # |command| at full torque: the command normalized by this is -1..1
  delta_up: int     # largest growth of |command| between two consecutive commands
  delta_down: int   # largest shrink


@dataclass(frozen=True)
class SafetyConfig:
  model: str        # panda safety model name (CarParams.SafetyModel)
  model_id: int
  param: int


@dataclass(frozen=True)
class EcuFirmware:
  """One ECU as opendbc's firmware query meets it: where it is asked, the one query it answers and its version."""
  ecu: str                      # CarParams.Ecu name: "engine", "abs", "fwdCamera", ...
  address: int                  # the tester's requests arrive here ...
  response_address: int         # ... and the ECU answers here
  sub_address: int | None       # extended addressing: the first byte of every frame, both ways (Toyota's 0x750)
  bus: int
  requests: tuple[bytes, ...]   # the query's requests in order, each answered by ...
  responses: tuple[bytes, ...]  # ... its response; the version follows the last one
  version: bytes


@functools.cache
def _car_params(platform: str) -> CarParams:
  return interfaces[check_platform(platform)].get_non_essential_params(platform)


def brand(platform: str) -> str:
  return str(_car_params(platform).brand)


def dbc_names(platform: str) -> dict[str, str]:
  """opendbc bus role ("pt", "cam", "radar", ...) → DBC name."""
  return {str(role): name for role, name in _values(platform).DBC[platform].items()}


@functools.cache
def state_messages(platform: str) -> StateMessages:
  """Every message CarState reads, on the bus it reads it from, including ones it does not check for timeouts.

  opendbc's parsers subscribe to a message the first time CarState reads it, so one empty update reveals them.
  """
  ci = interfaces[check_platform(platform)](_car_params(platform))
  ci.update([(0, [])])
  reads: StateMessages = {}
  for cp in ci.can_parsers.values():
    if cp is not None:
      reads.setdefault(cp.bus, {}).update({s.address: (s.name, s.size) for s in cp.message_states.values()})
  return reads


def can_fingerprint(platform: str) -> Fingerprint:
  """What passive fingerprinting expects to see: opendbc's CAN fingerprint on bus 0 where it keeps one, plus what
  CarState reads. opendbc 0.3.1 keeps CAN fingerprints only for GM and the comma body; the rest (Toyota
  included) are told apart by their firmware versions, so for them this is just what CarState reads."""
  reads = state_messages(platform)
  finger: Fingerprint = {bus: {a: size for a, (_, size) in msgs.items()} for bus, msgs in reads.items()}
  legacy = get_interface_attr("FINGERPRINTS", combine_brands=True, ignore_none=True).get(platform)
  if legacy:
    finger.setdefault(0, {}).update(legacy[0])
  return finger


def firmware(platform: str) -> tuple[EcuFirmware, ...]:
  """The platform's ECUs in opendbc's FW_VERSIONS, each with the first version listed for it (a real one), answering
  the first of its brand's query requests that asks that kind of ECU: a Toyota's engine answers the OBD request,
  its ABS, EPS, radar and camera the KWP one. Empty for a platform opendbc keeps no versions for."""
  config = FW_QUERY_CONFIGS[brand(platform)]
  out = []
  for (ecu, address, sub_address), versions in VERSIONS[brand(platform)].get(platform, {}).items():
    r = next(r for r in config.requests if not r.logging and (not r.whitelist_ecus or ecu in r.whitelist_ecus))
    out.append(EcuFirmware(ECU_NAME[ecu], address, get_rx_addr_for_tx_addr(address, r.rx_offset), sub_address, r.bus,
                           tuple(r.request), tuple(r.response), versions[0]))
  return tuple(out)


def openpilot_longitudinal(platform: str) -> bool:
  """Whether opendbc gives the stack longitudinal control by default (else the car's own cruise drives)."""
  return bool(_car_params(platform).openpilotLongitudinalControl)


def angle_steering(platform: str) -> bool:
  return _car_params(platform).steerControlType == CarParams.SteerControlType.angle


def min_enable_speed(platform: str) -> float:
  """m/s; negative where the car's cruise works down to a stop."""
  return float(_car_params(platform).minEnableSpeed)


def steer_torque_limits(platform: str) -> SteerTorqueLimits:
  p = _values(platform).CarControllerParams(_car_params(platform))
  return SteerTorqueLimits(p.STEER_MAX, p.STEER_DELTA_UP, p.STEER_DELTA_DOWN)


def accel_limits(platform: str) -> tuple[float, float]:
  """(min, max) m/s^2 opendbc's CarController commands."""
  p = _values(platform).CarControllerParams(_car_params(platform))
  return p.ACCEL_MIN, p.ACCEL_MAX


def toyota_eps_scale(platform: str) -> float:
  """STEER_TORQUE_EPS * this = EPS torque in STEER_TORQUE_CMD units (Toyota's EPS_SCALE / 100)."""
  if brand(platform) != "toyota":
    raise ValueError(f"{platform} is not a Toyota")
  return _values(platform).EPS_SCALE[platform] / 100.


def safety_config(platform: str) -> SafetyConfig:
  c = _car_params(platform).safetyConfigs[0]
  return SafetyConfig(str(c.safetyModel), c.safetyModel.raw, c.safetyParam)


def _values(platform: str):
  return importlib.import_module(f"opendbc.car.{brand(platform)}.values")
