"""selfdrived: engagement at the carState rate (100 Hz). Turns what the car and the stack report into events, runs
the state machine on them, and publishes selfdriveState (engaged? which alert?) and onroadEvents.

The car's cruise button engages (pcmEnable: its cruise went on), brake or cancel disengage; inputs that stop
arriving (a process died, the camera stalled) soft-disable: SOFT_DISABLE_S of warning, then disengaged.
"""
import sys

from cereal import car, log, messaging
from cereal.clock import mono_time
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm, freeze_startup
from selfdrive.controls.lib.lateral_planner import curvature_limits
from selfdrive.controls.lib.limits import DT_CTRL
from selfdrive.selfdrived.alerts import AlertManager
from selfdrive.selfdrived.events import ET, EVENTS, Events
from selfdrive.selfdrived.state import State, StateMachine

INPUTS = ["carState", "carParams", "modelV2", "lateralPlan", "longitudinalPlan", "controlsState", "roadCameraState",
          "pandaStates", "deviceState", "liveCalibration", "managerState"]
REQUIRED = ["carState", "modelV2", "lateralPlan", "longitudinalPlan", "controlsState", "pandaStates"]
CAMERA = "roadCameraState"
# published in the same 10 ms cycle as the carState we wait on: two can land between our updates and conflate into
# one, so its measured rate says more about the machine's load than about controlsd (its liveness is checked)
NO_RATE_CHECK = ["controlsState"]
CARSTATE_TIMEOUT_MS = 100
EVENTS_PERIOD_S = 1.0
MODEL_DROP_MAX = 20.0             # % of camera frames the model may drop
FREQ_BAD_S = 1.0                  # a rate off this long (not a passing dip on a busy machine) is an issue
MISMATCH_S = 0.5                  # engaged while the safety model disallows controls this long: controlsMismatch
FREE_SPACE_MIN = 7.0              # %
AT_LIMIT = 0.99                   # the planned curvature this close to the ISO lateral-acceleration limit: at it
MEMORY_MAX = 90                   # %
ThermalStatus = log.DeviceState.ThermalStatus
CalStatus = log.LiveCalibrationData.Status
LaneChangeState = log.LaneChangeState
Button = car.CarState.ButtonEvent.Type
GEARS_OK = ("drive", "sport", "low", "eco", "manumatic", "brake")


class SelfDrive:
  def __init__(self, params: Params):
    self.params = params
    self.sm_state = StateMachine()
    self.alerts = AlertManager()
    self.personality = params.get("LongitudinalPersonality")
    self.prev_cruise = False
    self.mismatch_steps = 0
    self.saturated_steps = 0
    self.at_limit_steps = 0
    self.freq_bad_steps = 0
    self.events = Events()
    self.issues: tuple[str, ...] = ()       # what is wrong with the inputs, logged when it changes

  def events_of(self, sm: messaging.SubMaster) -> Events:
    ev = Events()
    cs, cp = sm["carState"], sm["carParams"]
    if sm.seen["carParams"] and cp.dashcamOnly:
      ev.add("carUnrecognized")
    # the car
    if not cs.canValid or cs.canTimeout:
      ev.add("canError")
    if cs.steerFaultPermanent:
      ev.add("steerUnavailable")
    elif cs.steerFaultTemporary:
      ev.add("steerTempUnavailable")
    gear = str(cs.gearShifter)
    if gear == "reverse":
      ev.add("reverseGear")
    elif gear not in GEARS_OK:
      ev.add("wrongGear")
    for flag, name in ((cs.doorOpen, "doorOpen"), (cs.seatbeltUnlatched, "seatbeltNotLatched"),
                       (cs.espDisabled, "espDisabled"), (cs.parkingBrake, "parkBrake"),
                       (cs.brakePressed, "pedalPressed"), (cs.gasPressed, "gasPressedOverride"),
                       (cs.steeringPressed, "steerOverride"), (cs.stockAeb or cs.stockFcw, "stockAeb")):
      if flag:
        ev.add(name)
    if cp.minEnableSpeed > 0 and cs.vEgo < cp.minEnableSpeed:
      ev.add("speedTooLow")
    for b in cs.buttonEvents:
      if b.type == Button.cancel and b.pressed:
        ev.add("buttonCancel")
      elif b.type == Button.gapAdjustCruise and not b.pressed:
        self.personality = (self.personality - 1) % 3
        self.params.put_nonblocking("LongitudinalPersonality", self.personality)
    cruise = cs.cruiseState.enabled
    if cruise and not self.prev_cruise:
      ev.add("pcmEnable")
    elif not cruise:
      ev.add("pcmDisable")
    self.prev_cruise = cruise
    # the stack
    dead = [s for s in REQUIRED if not sm.alive[s]]
    if sm.seen["managerState"] and sm.alive["managerState"] and any(
        p.shouldBeRunning and not p.running for p in sm["managerState"].processes):
      ev.add("processNotRunning")
    invalid = [s for s in REQUIRED if sm.seen[s] and not sm.valid[s]]
    slow = [s for s in REQUIRED if sm.alive[s] and not sm.freq_ok[s] and s not in sm.ignore_avg_freq]
    issues = (*(f"{s} not alive" for s in dead), *(f"{s} invalid" for s in invalid), *(f"{s} rate" for s in slow))
    if issues != self.issues:
      print(f"selfdrived: inputs {', '.join(issues) or 'ok'}", flush=True)
      self.issues = issues
    self.freq_bad_steps = 0 if not slow else self.freq_bad_steps + 1
    if dead or invalid or (sm.seen["modelV2"] and not sm["modelV2"].valid):
      ev.add("commIssue")
    elif self.freq_bad_steps * DT_CTRL > FREQ_BAD_S:
      ev.add("commIssueAvgFreq")
    if not sm.alive[CAMERA]:
      ev.add("cameraMalfunction")
    if sm.seen["modelV2"] and sm["modelV2"].frameDropPerc > MODEL_DROP_MAX:
      ev.add("modeldLagging")
    if sm.seen["liveCalibration"]:
      status = sm["liveCalibration"].calStatus
      if status == CalStatus.uncalibrated:
        ev.add("calibrationIncomplete")
      elif status == CalStatus.invalid:
        ev.add("calibrationInvalid")
    if sm.seen["deviceState"]:
      ds = sm["deviceState"]
      if ds.thermalStatus >= ThermalStatus.red:
        ev.add("overheat")
      if ds.freeSpacePercent < FREE_SPACE_MIN:
        ev.add("outOfSpace")
      if ds.memoryUsagePercent > MEMORY_MAX:
        ev.add("lowMemory")
    panda = sm["pandaStates"][0] if sm.seen["pandaStates"] and len(sm["pandaStates"]) else None
    if panda is not None and panda.relayMalfunction:
      ev.add("relayMalfunction")
    self.mismatch_steps = self.mismatch_steps + 1 if (
      self.sm_state.active and panda is not None and not panda.controlsAllowed) else 0
    if self.mismatch_steps * DT_CTRL > MISMATCH_S:
      ev.add("controlsMismatch")
    # what the plans and the controller say
    if sm["longitudinalPlan"].fcw:
      ev.add("fcw")
    saturated = self.sm_state.active and sm["controlsState"].lateralControlState.saturated
    self.saturated_steps = self.saturated_steps + 1 if saturated else 0
    if self.saturated_steps * DT_CTRL > cp.steerLimitTimer:
      ev.add("steerSaturated")
    lc = sm["lateralPlan"]
    at_limit = self.sm_state.active and abs(lc.desiredCurvature) >= curvature_limits(cs.vEgo)[0] * AT_LIMIT
    self.at_limit_steps = self.at_limit_steps + 1 if at_limit else 0
    if self.at_limit_steps * DT_CTRL > cp.steerLimitTimer:
      ev.add("takeControl")   # the road asks for more lateral acceleration than the system may give
    if lc.laneChangeState == LaneChangeState.preLaneChange:
      ev.add("preLaneChangeLeft" if lc.laneChangeDirection == log.LaneChangeDirection.left else "preLaneChangeRight")
    elif lc.laneChangeState in (LaneChangeState.laneChangeStarting, LaneChangeState.laneChangeFinishing):
      ev.add("laneChange")
    return ev

  def update(self, sm: messaging.SubMaster, now_s: float) -> tuple:
    """selfdriveState, and onroadEvents when the events changed (else None)."""
    ev = self.events_of(sm)
    was_enabled = self.sm_state.enabled
    self.sm_state.update(ev, now_s)
    for name, et, alert in ev.alerts(self.sm_state.alert_types):
      self.alerts.add(f"{name}/{et.value}", alert, now_s)
    shown = self.alerts.current(now_s)
    msg = messaging.new_message("selfdriveState")
    ss = msg.selfdriveState
    ss.state, ss.enabled, ss.active = self.sm_state.state, self.sm_state.enabled, self.sm_state.active
    ss.engageable = not ev.contains(ET.NO_ENTRY)
    if self.sm_state.state == State.softDisabling:
      ss.softDisableRemaining = max(self.sm_state.soft_disable_end - now_s, 0.0)
    ss.personality = self.personality
    if shown is not None:
      a = shown.alert
      ss.alertText1, ss.alertText2, ss.alertStatus, ss.alertSize = a.text1, a.text2, a.status, a.size
      ss.alertType, ss.alertSound = shown.name, a.sound
    if self.sm_state.enabled != was_enabled:
      self.params.put_nonblocking("IsEngaged", self.sm_state.enabled)
    changed = ev.names != self.events.names
    self.events = ev
    return msg, events_message(ev) if changed else None


def events_message(ev: Events):
  msg = messaging.new_message("onroadEvents", len(ev.names))
  for out, name in zip(msg.onroadEvents, ev.names, strict=True):
    out.name = name
    for et in EVENTS[name]:
      setattr(out, et.value, True)
  return msg


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="carState", ignore_avg_freq=NO_RATE_CHECK)
  pm = messaging.PubMaster(["selfdriveState", "onroadEvents"])
  sd = SelfDrive(Params())
  freeze_startup()
  last_events = 0.0
  while True:
    sm.update(CARSTATE_TIMEOUT_MS)   # carState gone: go on, so its absence is seen and acted on
    now = mono_time() * 1e-9
    msg, events = sd.update(sm, now)
    pm.send("selfdriveState", msg)
    if events is None and now - last_events > EVENTS_PERIOD_S:
      events = events_message(sd.events)
    if events is not None:
      pm.send("onroadEvents", events)
      last_events = now


if __name__ == "__main__":
  sys.exit(main())
