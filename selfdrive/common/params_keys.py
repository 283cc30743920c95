"""Every param key the stack uses, declared once: its type, when it is cleared, its default and what it means.

A key not in this table cannot be read or written, so a typo fails loudly instead of silently reading None.
"""
import enum
from dataclasses import dataclass
from typing import Any


class ParamType(enum.Enum):
  BOOL = "bool"
  INT = "int"
  FLOAT = "float"
  STR = "str"
  BYTES = "bytes"
  JSON = "json"  # a dict or list that survives json.dumps/loads unchanged


class ParamFlag(enum.IntFlag):
  PERSISTENT = 1  # survives everything but an explicit remove
  CLEAR_ON_MANAGER_START = 2
  CLEAR_ON_ONROAD_TRANSITION = 4
  CLEAR_ON_OFFROAD_TRANSITION = 8


@dataclass(frozen=True, slots=True)
class ParamSpec:
  type: ParamType
  flags: ParamFlag
  description: str
  default: Any = None  # returned by get() while the key is absent (or unreadable)
  lo: int | float | None = None  # inclusive bounds, numeric keys only
  hi: int | float | None = None


T, F = ParamType, ParamFlag
P = F.PERSISTENT
MGR = F.CLEAR_ON_MANAGER_START
ON = F.CLEAR_ON_ONROAD_TRANSITION
OFF = F.CLEAR_ON_OFFROAD_TRANSITION

KEYS: dict[str, ParamSpec] = {
  # state published by the manager / selfdrived; stale after a crash, so cleared at start
  "IsOnroad": ParamSpec(T.BOOL, MGR, "the car is on and the onroad processes run", default=False),
  "IsEngaged": ParamSpec(T.BOOL, MGR | OFF, "the system is currently engaged (controlling the car)", default=False),
  "IsDriverViewEnabled": ParamSpec(T.BOOL, MGR, "the driver-camera preview is open (offroad)", default=False),
  "ManagerStartTime": ParamSpec(T.STR, MGR, "ISO-8601 time the manager last started"),
  "CarParams": ParamSpec(T.BYTES, MGR | ON, "capnp CarParams of the car fingerprinted this drive"),
  # user settings
  "OpenpilotEnabledToggle": ParamSpec(T.BOOL, P, "the user allows the system to engage at all", default=True),
  "LongitudinalPersonality": ParamSpec(T.INT, P, "following style: 0 aggressive, 1 standard, 2 relaxed",
                                       default=1, lo=0, hi=2),
  "IsMetric": ParamSpec(T.BOOL, P, "show speeds in km/h instead of mph", default=False),
  "ExperimentalMode": ParamSpec(T.BOOL, P, "the model, not the classic planner, controls longitudinal",
                                default=False),
  "RecordFront": ParamSpec(T.BOOL, P, "loggerd also records the driver camera", default=False),
  "DisengageOnAccelerator": ParamSpec(T.BOOL, P, "pressing the gas pedal disengages", default=False),
  "CameraHeight": ParamSpec(T.FLOAT, P, "road camera height above the ground in metres (DIY mounts)",
                            default=1.22, lo=0.2, hi=3.0),
  # learned / cached across drives
  "CarParamsPersistent": ParamSpec(T.BYTES, P, "capnp CarParams of the last car, for offroad use"),
  "CalibrationParams": ParamSpec(T.BYTES, P, "capnp liveCalibration learned by calibrationd"),
  "LiveParameters": ParamSpec(T.JSON, P, "paramsd's learned steer ratio, stiffness and angle offset"),
  "LiveTorqueParameters": ParamSpec(T.BYTES, P, "capnp liveTorqueParameters learned by torqued"),
  "Version": ParamSpec(T.STR, P, "localpilot version string of the installed software"),
  "LastUpdateTime": ParamSpec(T.STR, P, "ISO-8601 time of the last successful software update"),
  # development and simulation
  "SimSeed": ParamSpec(T.INT, P, "random seed of the built-in simulator, for reproducible runs", default=0),
  "ForceOnroad": ParamSpec(T.BOOL, P, "run the onroad processes without ignition (bench / sim only)",
                           default=False),
}
