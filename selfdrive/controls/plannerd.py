"""plannerd: a longitudinal and a lateral plan for every model frame (20 Hz).

Longitudinal: the MPC (selfdrive.controls.lib.long_mpc) over the cruise speed, the curves ahead (of the model's
path, or of the lateral plan where it steers tighter) and the leads — radard's two (the radar's nearest tracks in
our path) on a car with a radar, else the model's — at the personality's time gap, not accelerating while radard
sees a car close ahead in a next lane that may pull in, and easing off to leave one room that sits within
BESIDE_ROOM_S. Lateral: the model's desired curvature (with a trim and a share of pursuit on its lane lines, moved
towards the lead's track in slow traffic where the model doubts them, see lane_pursuit) within ISO lateral limits,
and the lane-change desire from the blinker and the driver's nudge.
"""
import sys
import time

from cereal import arrays, messaging
from selfdrive.common.process import exit_on_sigterm, freeze_startup
from selfdrive.controls.lib.car import wait_for_car
from selfdrive.controls.lib.desire_helper import Desire, DriverInput
from selfdrive.controls.lib.lane_pursuit import EgoLane
from selfdrive.controls.lib.lateral_planner import LateralPlanner
from selfdrive.controls.lib.limits import FOLLOW_TIME_GAP
from selfdrive.controls.lib.long_mpc import SpeedLimit
from selfdrive.controls.lib.longitudinal_planner import LongitudinalPlanner, model_leads, radar_beside, radar_leads
from selfdrive.controls.lib.path import curve_decel, curve_speed_limit, path_curvature, with_planned_curvature
from selfdrive.controls.lib.vehicle_model import VehicleModel

INPUTS = ["modelV2", "carState", "carParams", "selfdriveState", "liveParameters", "radarState"]
CHECKED = ["modelV2", "carState"]
RADAR_CHECKED = [*CHECKED, "radarState"]   # a car with a radar plans on it: without it the plan is not valid
LANE_CHANGE_DESIRES = (Desire.laneChangeLeft, Desire.laneChangeRight)


class Planner:
  def __init__(self, cp):
    self.cp = cp
    self.radar = not cp.radarUnavailable
    self.checked = RADAR_CHECKED if self.radar else CHECKED
    self.long = LongitudinalPlanner(cp.longitudinalActuatorDelay, cp.vEgoStopping)
    self.lat = LateralPlanner()

  def update(self, sm: messaging.SubMaster) -> tuple:
    """The longitudinalPlan and lateralPlan messages for the model frame just received."""
    md, cs, sd = sm["modelV2"], sm["carState"], sm["selfdriveState"]
    active = sm.seen["selfdriveState"] and sd.active
    personality = str(sd.personality) if sm.seen["selfdriveState"] else "standard"
    v_ego = cs.vEgo
    curv = path_curvature(arrays.unpack(md.position, arrays.MODEL_V2_SHAPES["position"]))
    v_cruise = cs.cruiseState.speed if cs.cruiseState.enabled and cs.cruiseState.speed > 0 else v_ego
    leads = radar_leads(sm["radarState"]) if self.radar else model_leads(arrays.unpack(md.leads,
                                                                                      arrays.MODEL_V2_SHAPES["leads"]))
    vm = VehicleModel.from_submaster(self.cp, sm)
    if not active:
      self.lat.reset(vm.curvature(cs.steeringAngleDeg, v_ego))
    desire_state = arrays.unpack(md.meta.desireState, (arrays.DESIRE_LEN,))
    driver = DriverInput(v_ego, cs.leftBlinker, cs.rightBlinker, cs.steeringPressed, cs.steeringTorque,
                         cs.leftBlindspot, cs.rightBlindspot)
    desired = md.action.desiredCurvature if active else self.lat.curvature
    lane_change_prob = float(sum(desire_state[d] for d in LANE_CHANGE_DESIRES))
    lane = EgoLane.from_model(arrays.unpack(md.laneLines, arrays.MODEL_V2_SHAPES["laneLines"]),
                              arrays.unpack(md.laneLineStds, arrays.MODEL_V2_SHAPES["laneLineStds"]),
                              arrays.unpack(md.laneLineProbs, arrays.MODEL_V2_SHAPES["laneLineProbs"]))
    lat = self.lat.update(desired, curv, v_ego, driver, active, lane_change_prob, lane,
                          leads[0] if leads else None)   # leads: nearest first
    planned = with_planned_curvature(curv, lat.curvatures, v_ego)
    limit = SpeedLimit(*curve_speed_limit(planned), curve_decel(planned, v_ego, self.cp.lateralTuning.latAccelFactor))
    beside = radar_beside(sm["radarState"]) if self.radar else None
    lp = self.long.update(v_ego, cs.aEgo, v_cruise, leads, limit, FOLLOW_TIME_GAP[personality],
                          active and self.cp.openpilotLongitudinalControl, beside)

    valid = sm.all_alive(self.checked) and sm.all_valid(self.checked) and md.valid  # rates are selfdrived's to judge
    model_t = sm.logMonoTime["modelV2"]
    long_msg = messaging.new_message("longitudinalPlan")
    long_msg.valid = valid
    p = long_msg.longitudinalPlan
    p.modelMonoTime, p.hasLead, p.fcw = model_t, lp.has_lead, lp.fcw
    p.longitudinalPlanSource = "stop" if lp.should_stop else "lead0" if lp.following else "cruise"
    p.speeds, p.accels, p.jerks = lp.speeds.tolist(), lp.accels.tolist(), lp.jerks.tolist()
    p.aTarget, p.shouldStop = lp.a_target, lp.should_stop
    p.allowThrottle = p.allowBrake = True
    p.solverExecutionTime, p.personality, p.vCruise = lp.solve_time, personality, lp.v_cruise
    lat_msg = messaging.new_message("lateralPlan")
    lat_msg.valid = valid
    q = lat_msg.lateralPlan
    q.modelMonoTime, q.desiredCurvature, q.desiredCurvatureRate = model_t, lat.desired_curvature, \
      lat.desired_curvature_rate
    q.laneChangeState, q.laneChangeDirection, q.desire = lat.lane_change_state, lat.lane_change_direction, lat.desire
    q.curvatures = lat.curvatures.tolist()
    return long_msg, lat_msg


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="modelV2")
  pm = messaging.PubMaster(["longitudinalPlan", "lateralPlan"])
  planner = Planner(wait_for_car(sm))
  freeze_startup()
  while True:
    sm.update(1000)
    if not sm.updated["modelV2"] or not sm.seen["carState"]:
      continue
    t0 = time.perf_counter()
    long_msg, lat_msg = planner.update(sm)
    lat_msg.lateralPlan.solverExecutionTime = time.perf_counter() - t0
    pm.send("longitudinalPlan", long_msg)
    pm.send("lateralPlan", lat_msg)


if __name__ == "__main__":
  sys.exit(main())
