"""controlsd: carControl at the carState rate (100 Hz), from the plans and selfdrived's engagement.

Lateral: the curvature of the latest lateralPlan, taken at the plan's age, through the torque controller.
Longitudinal: the plan's target acceleration through the longitudinal controller. It commands only while
selfdrived says active. When its inputs go stale (the plans stop: perception or plannerd died, or selfdrived is
gone) or selfdrived soft-disables, it keeps steering along the last plan and fades the torque out over the last
TORQUE_RAMP_S of SOFT_DISABLE_S, brakes as planned but never accelerates, and then lets go and cancels the car's
cruise.
"""
import sys

import numpy as np

from cereal import log, messaging
from cereal.clock import mono_time
from selfdrive.common.process import exit_on_sigterm, freeze_startup
from selfdrive.controls.lib.car import wait_for_car
from selfdrive.controls.lib.latcontrol_torque import LatControlTorque, TorqueParams
from selfdrive.controls.lib.limits import (
  ACCEL_MIN,
  DISTANCE_BARS,
  SOFT_DISABLE_S,
  T_CONTROL,
  TORQUE_RAMP_S,
  accel_max,
)
from selfdrive.controls.lib.longcontrol import LongControl
from selfdrive.controls.lib.vehicle_model import VehicleModel

INPUTS = ["carState", "carParams", "selfdriveState", "lateralPlan", "longitudinalPlan", "liveParameters",
          "liveTorqueParameters"]
PLANS = ["lateralPlan", "longitudinalPlan"]
CARSTATE_TIMEOUT_MS = 100
ENGAGE_GRACE_S = 0.3    # the car's cruise just came on: selfdrived has this long to engage before it is cancelled
State = log.SelfdriveState.OpenpilotState
AlertStatus = log.SelfdriveState.AlertStatus


def torque_params(cp, live) -> TorqueParams:
  """torqued's estimate when it has a usable one, else opendbc's numbers for the car."""
  if live is not None and live.liveValid and live.useParams:
    return TorqueParams(live.latAccelFactorFiltered, live.frictionCoefficientFiltered)
  return TorqueParams(cp.lateralTuning.latAccelFactor, cp.lateralTuning.friction)


def plan_at(plan: list[float], age_s: float) -> tuple[float, float]:
  """A lateral plan's curvature and its rate, age_s after it was sent."""
  if len(plan) != len(T_CONTROL):
    return 0.0, 0.0
  k = np.asarray(plan)
  t = min(max(age_s, 0.0), float(T_CONTROL[-1]))
  i = min(int(np.searchsorted(T_CONTROL, t, side="right")), len(T_CONTROL) - 1)
  rate = (k[i] - k[i - 1]) / (T_CONTROL[i] - T_CONTROL[i - 1])
  return float(np.interp(t, T_CONTROL, k)), float(rate)


class Controls:
  def __init__(self, cp):
    self.cp = cp
    self.lat = LatControlTorque()
    self.long = LongControl(cp)
    self.degraded_since: int | None = None   # ns; when the inputs went stale or selfdrived began soft-disabling
    self.gave_up = False                    # soft disable ran out: disabled until selfdrived says disabled too
    self.enabled = False
    self.cruise_since: int | None = None    # ns; when the car's cruise came on
    self.engaged_this_cruise = False        # ... and whether the stack has been engaged since

  def update(self, sm: messaging.SubMaster, now: int) -> tuple:
    """carControl and controlsState for the carState just received."""
    cs, sd, lat_plan, long_plan = sm["carState"], sm["selfdriveState"], sm["lateralPlan"], sm["longitudinalPlan"]
    sd_alive = sm.alive["selfdriveState"]
    if sd_alive:
      self.enabled = sd.enabled
      if not sd.enabled:
        self.gave_up = False
    plans_ok = sm.all_alive(PLANS)
    degraded = self.enabled and (not sd_alive or not plans_ok or sd.state == State.softDisabling)
    if not degraded:
      self.degraded_since = None
    elif self.degraded_since is None:
      self.degraded_since = now
    elapsed = (now - self.degraded_since) * 1e-9 if self.degraded_since is not None else 0.0
    if elapsed >= SOFT_DISABLE_S:
      self.gave_up = True
    enabled = self.enabled and not self.gave_up
    active = enabled and (sd.active or not sd_alive)
    left = SOFT_DISABLE_S - elapsed
    if sd_alive and sd.state == State.softDisabling:  # selfdrived's own countdown: the fade ends when it disengages
      left = min(left, sd.softDisableRemaining)
    authority = min(max(left / TORQUE_RAMP_S, 0.0), 1.0)

    v_ego = cs.vEgo
    vm = VehicleModel.from_submaster(self.cp, sm)
    actual_curvature = vm.curvature(cs.steeringAngleDeg, v_ego)
    plan_age = (now - sm.logMonoTime["lateralPlan"]) * 1e-9
    desired_curvature, curvature_rate = plan_at(list(lat_plan.curvatures), plan_age)
    lat_active = (active and authority > 0.0 and not cs.steerFaultTemporary and not cs.steerFaultPermanent and
                  v_ego > self.cp.minSteerSpeed and not cs.standstill)
    tp = torque_params(self.cp, sm["liveTorqueParameters"] if sm.seen["liveTorqueParameters"] else None)
    lat = self.lat.update(lat_active, v_ego, desired_curvature, curvature_rate, actual_curvature, tp,
                          cs.steeringPressed)

    long_active = active and self.cp.openpilotLongitudinalControl and not cs.gasPressed
    a_target = min(long_plan.aTarget, 0.0) if degraded else long_plan.aTarget   # soft-disabling: never speed up
    accel = self.long.update(long_active, v_ego, cs.aEgo, cs.brakePressed, a_target, long_plan.shouldStop,
                             ACCEL_MIN, accel_max(v_ego))

    cc_msg = messaging.new_message("carControl")
    cc_msg.valid = sm.all_alive(["carState"]) and sm.all_valid(["carState"])   # rates are selfdrived's to judge
    cc = cc_msg.carControl
    cc.enabled, cc.latActive, cc.longActive = enabled, lat_active, long_active
    cc.currentCurvature = actual_curvature
    act = cc.actuators
    act.torque = lat.torque * authority if lat_active else 0.0
    act.accel, act.longControlState, act.curvature = accel, self.long.state, desired_curvature
    cc.cruiseControl.cancel = self.cp.pcmCruise and self._cancel(cs.cruiseState.enabled, enabled, now)
    hud = cc.hudControl
    hud.setSpeed, hud.leadVisible = long_plan.vCruise, long_plan.hasLead
    hud.leftLaneVisible = hud.rightLaneVisible = lat_active
    personality = str(long_plan.personality) if sm.seen["longitudinalPlan"] else "standard"
    hud.leadDistanceBars = DISTANCE_BARS[personality]
    critical = sd_alive and sd.alertStatus == AlertStatus.critical
    hud.visualAlert = "fcw" if long_plan.fcw else "steerRequired" if critical or degraded else "none"
    hud.audibleAlert = str(sd.alertSound) if sd_alive else "warningImmediate" if degraded else "none"  # by name

    st_msg = messaging.new_message("controlsState")
    st_msg.valid = cc_msg.valid
    st_msg.logMonoTime = cc_msg.logMonoTime    # one cycle: e2e tracing pairs them by time
    st = st_msg.controlsState
    ls = st.lateralControlState
    ls.active, ls.error, ls.p, ls.i, ls.f, ls.output = lat_active, lat.error, lat.p, lat.i, lat.f, act.torque
    ls.saturated, ls.actualLateralAccel, ls.desiredLateralAccel = lat.saturated, lat.actual_lateral_accel, \
      lat.desired_lateral_accel
    st.longControlState, st.vCruise, st.aTarget = self.long.state, long_plan.vCruise, a_target
    st.ufAccelCmd, st.upAccelCmd, st.uiAccelCmd = self.long.pid.f, self.long.pid.p, self.long.pid.i
    st.curvature, st.desiredCurvature = actual_curvature, desired_curvature
    st.cumLagMs = (mono_time() - sm.logMonoTime["carState"]) / 1e6
    st.lateralPlanMonoTime, st.longitudinalPlanMonoTime = sm.logMonoTime["lateralPlan"], \
      sm.logMonoTime["longitudinalPlan"]
    # what the torque fade ran on: its own countdown or selfdrived's, whichever ends first
    st.softDisableRemaining = max(left, 0.0) if self.degraded_since is not None or left < SOFT_DISABLE_S else 0.0
    return cc_msg, st_msg

  def _cancel(self, cruise: bool, enabled: bool, now: int) -> bool:
    """Cancel the car's cruise when the stack is not engaged: at once once it was, after ENGAGE_GRACE_S when the
    cruise just came on (selfdrived sees the same carState and engages within a cycle or two)."""
    if not cruise:
      self.cruise_since = None
    elif self.cruise_since is None:
      self.cruise_since = now
    self.engaged_this_cruise = cruise and (self.engaged_this_cruise or enabled)
    waited = self.cruise_since is not None and (now - self.cruise_since) * 1e-9 > ENGAGE_GRACE_S
    return cruise and not enabled and (self.engaged_this_cruise or waited)


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="carState")
  pm = messaging.PubMaster(["carControl", "controlsState"])
  controls = Controls(wait_for_car(sm))
  freeze_startup()
  while True:
    sm.update(CARSTATE_TIMEOUT_MS)
    if not sm.updated["carState"]:
      continue   # no carState, no command: card (if alive) sends nothing once carControl stops
    cc_msg, st_msg = controls.update(sm, mono_time())
    pm.send("carControl", cc_msg)
    pm.send("controlsState", st_msg)


if __name__ == "__main__":
  sys.exit(main())
