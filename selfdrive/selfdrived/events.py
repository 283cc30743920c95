"""Every onroad event: what it does to engagement (its types) and the alert it shows for each, as in openpilot.

An event's types: ENABLE (engage), PRE_ENABLE, OVERRIDE_* (the driver overrides but stays engaged), NO_ENTRY
(refuses to engage), WARNING (shown while engaged), USER_DISABLE (the driver disengaged), SOFT_DISABLE (disengage
after SOFT_DISABLE_S unless it clears), IMMEDIATE_DISABLE, PERMANENT (shown whatever the state).
"""
from dataclasses import dataclass
from enum import Enum

from cereal import log

EventName = log.OnroadEvent.EventName
AlertStatus = log.SelfdriveState.AlertStatus


class ET(Enum):
  ENABLE = "enable"
  PRE_ENABLE = "preEnable"
  OVERRIDE_LATERAL = "overrideLateral"
  OVERRIDE_LONGITUDINAL = "overrideLongitudinal"
  NO_ENTRY = "noEntry"
  WARNING = "warning"
  USER_DISABLE = "userDisable"
  SOFT_DISABLE = "softDisable"
  IMMEDIATE_DISABLE = "immediateDisable"
  PERMANENT = "permanent"


class Priority:
  LOWEST, LOWER, LOW, MID, HIGH, HIGHEST = range(6)


@dataclass(frozen=True)
class Alert:
  text1: str
  text2: str
  status: str          # SelfdriveState.AlertStatus
  size: str            # SelfdriveState.AlertSize
  sound: str           # log.capnp AudibleAlert (controlsd hands it to opendbc by name)
  priority: int
  duration_s: float    # shown at least this long after it was raised


def no_entry(reason: str) -> Alert:
  return Alert("localpilot Unavailable", reason, "normal", "mid", "refuse", Priority.LOW, 3.0)


def soft_disable(reason: str) -> Alert:
  return Alert("TAKE CONTROL IMMEDIATELY", reason, "critical", "full", "warningSoft", Priority.MID, 0.2)


def immediate_disable(reason: str) -> Alert:
  return Alert("TAKE CONTROL IMMEDIATELY", reason, "critical", "full", "warningImmediate", Priority.HIGHEST, 4.0)


def warning(text1: str, text2: str = "", status: str = "userPrompt", sound: str = "none",
            priority: int = Priority.LOW) -> Alert:
  return Alert(text1, text2, status, "mid" if text2 else "small", sound, priority, 0.2)


ENGAGE = Alert("", "", "normal", "none", "engage", Priority.MID, 0.2)
DISENGAGE = Alert("", "", "normal", "none", "disengage", Priority.LOW, 0.2)


def _fault(reason: str, kind: ET = ET.SOFT_DISABLE) -> dict[ET, Alert | None]:
  make = soft_disable if kind is ET.SOFT_DISABLE else immediate_disable
  return {kind: make(reason), ET.NO_ENTRY: no_entry(reason)}


EVENTS: dict[str, dict[ET, Alert | None]] = {
  "canError": _fault("CAN Error: Check Connections", ET.IMMEDIATE_DISABLE),
  "steerUnavailable": _fault("LKAS Fault: Restart the Car", ET.IMMEDIATE_DISABLE),
  "steerTempUnavailable": {ET.WARNING: warning("Steering Temporarily Unavailable", sound="prompt"),
                           ET.NO_ENTRY: no_entry("Steering Temporarily Unavailable")},
  "wrongGear": _fault("Gear not D"),
  "reverseGear": _fault("Reverse Gear", ET.IMMEDIATE_DISABLE),
  "doorOpen": _fault("Door Open"),
  "seatbeltNotLatched": _fault("Seatbelt Unlatched"),
  "espDisabled": _fault("Electronic Stability Control Disabled"),
  "parkBrake": {ET.USER_DISABLE: DISENGAGE, ET.NO_ENTRY: no_entry("Parking Brake Engaged")},
  "brakeHold": {ET.USER_DISABLE: DISENGAGE, ET.NO_ENTRY: no_entry("Brake Hold Active")},
  "buttonCancel": {ET.USER_DISABLE: DISENGAGE, ET.NO_ENTRY: no_entry("Cancel Pressed")},
  "buttonEnable": {ET.ENABLE: ENGAGE},
  "pcmEnable": {ET.ENABLE: ENGAGE},
  "pcmDisable": {ET.USER_DISABLE: DISENGAGE},
  "pedalPressed": {ET.USER_DISABLE: DISENGAGE, ET.NO_ENTRY: no_entry("Pedal Pressed")},
  "gasPressedOverride": {ET.OVERRIDE_LONGITUDINAL: None},
  "steerOverride": {ET.OVERRIDE_LATERAL: None},
  "cruiseDisabled": {ET.IMMEDIATE_DISABLE: immediate_disable("Cruise Is Off")},
  "speedTooLow": _fault("Speed Too Low", ET.IMMEDIATE_DISABLE),
  "lowSpeedLockout": {ET.PERMANENT: warning("Cruise Fault: Restart the Car"), ET.NO_ENTRY: no_entry("Cruise Fault")},
  "outOfSpace": {ET.PERMANENT: warning("Out of Storage"), ET.NO_ENTRY: no_entry("Out of Storage")},
  "lowMemory": _fault("Low Memory: Reboot Your Device"),
  "overheat": _fault("System Overheated"),
  "calibrationIncomplete": {ET.PERMANENT: warning("Calibration in Progress", "Drive Above 15 mph"),
                            ET.SOFT_DISABLE: soft_disable("Calibration Incomplete"),
                            ET.NO_ENTRY: no_entry("Calibration in Progress")},
  "calibrationInvalid": _fault("Calibration Invalid: Remount Device and Recalibrate"),
  "processNotRunning": _fault("Process Not Running"),
  "commIssue": _fault("Communication Issue Between Processes"),
  # a rate dip on a loaded machine warns and refuses to engage; a stopped input soft-disables (commIssue)
  "commIssueAvgFreq": {ET.WARNING: warning("Low Communication Rate Between Processes"),
                       ET.NO_ENTRY: no_entry("Low Communication Rate Between Processes")},
  "cameraMalfunction": _fault("Camera Malfunction"),
  "modeldLagging": _fault("Driving Model Lagging"),
  "controlsMismatch": _fault("Controls Mismatch", ET.IMMEDIATE_DISABLE),
  "relayMalfunction": _fault("Harness Relay Malfunction", ET.IMMEDIATE_DISABLE),
  "carUnrecognized": {ET.PERMANENT: warning("Dashcam Mode", "Car Unrecognized", status="normal"),
                      ET.NO_ENTRY: no_entry("Car Unrecognized")},
  "steerSaturated": {ET.WARNING: warning("Take Control", "Turn Exceeds Steering Limit", sound="promptRepeat")},
  "takeControl": {ET.WARNING: warning("Take Control", "The Road Needs More Than the System Can Do",
                                      sound="promptRepeat")},
  "fcw": {ET.PERMANENT: Alert("BRAKE!", "Risk of Collision", "critical", "full", "warningImmediate",
                              Priority.HIGHEST, 2.0)},
  "stockAeb": {ET.PERMANENT: Alert("BRAKE!", "Emergency Braking: Risk of Collision", "critical", "full", "none",
                                   Priority.HIGHEST, 2.0)},
  "preLaneChangeLeft": {ET.WARNING: warning("Steer Left to Start Lane Change Once Safe", status="normal")},
  "preLaneChangeRight": {ET.WARNING: warning("Steer Right to Start Lane Change Once Safe", status="normal")},
  "laneChange": {ET.WARNING: warning("Changing Lanes", status="normal")},
}
assert set(EVENTS) <= set(EventName.schema.enumerants), "an event without a name in log.capnp"


class Events:
  """The events of one cycle."""
  def __init__(self):
    self.names: list[str] = []

  def add(self, name: str) -> None:
    if name not in EVENTS:
      raise KeyError(f"unknown event {name!r}")
    if name not in self.names:
      self.names.append(name)

  def contains(self, et: ET) -> bool:
    return any(et in EVENTS[n] for n in self.names)

  def alerts(self, types: list[ET]) -> list[tuple[str, ET, Alert]]:
    return [(n, et, a) for n in self.names for et in types if (a := EVENTS[n].get(et)) is not None]
