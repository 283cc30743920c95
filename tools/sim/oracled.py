"""oracled: a simulator-only stand-in for the driving model, to develop and test the controls in closed loop.

It publishes modelV2 from the simulator's ground truth (simState): the lane centre, lane lines, road edges and the
lead as they really are, one message per camera frame as modeld would, with the action a pure-pursuit driver on
that truth would take. It is not a model and is never presented as one: the manager runs it only under the
"oracle" flag (`localpilot sim --perception oracle`), and the driving report names the perception that ran.
"""
import math
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from cereal import arrays, log, messaging
from cereal.services import SERVICES
from selfdrive.common.process import exit_on_sigterm
from selfdrive.controls.lib.desire_helper import Desire
from selfdrive.controls.lib.limits import FOLLOW_TIME_GAP, STOP_DISTANCE
from tools.sim.constants import RAV4_FRONT_FROM_CG

LOOKAHEAD_S, LOOKAHEAD_MIN_M = 1.0, 8.0   # pure pursuit on the lane centre
PIPELINE_S = 0.05            # camera to actuator on top of the car's steerActuatorDelay: the pose is predicted this far
CONVERGE_S = 1.0             # the planned path joins the lane centre over about this long
LANE_CHANGE_RATE = 1.2       # m/s the target moves sideways during a lane change
LANE_CHANGE_DONE_M = 0.3     # within this of the new lane's centre the change is done
LEAD_X_STD = 0.5
CUT_IN_HORIZON_S = 1.0       # a car whose sideways motion brings it into the ego lane this soon is already the lead
LEAD_OVERLAP_MARGIN = 0.3    # m of a car's width that must be in the lane to count (as the simulator's own lead)
LEAD_RANGE = 250.0
LEAD_TIMES = (0.0, 2.0, 4.0)
HARD_BRAKE = -3.5            # m/s^2: a lead braking harder is a predicted hard brake
FRAMES_KEPT = 40             # simStates kept while waiting for their camera frame
DROP_WINDOW = 20             # frames the drop percentage is measured over
SHAPES = arrays.MODEL_V2_SHAPES
LaneChangeState = log.LaneChangeState


def lane_centre(lane_lines: np.ndarray) -> np.ndarray:
  """y (right) of the ego lane's centre at X_IDXS."""
  return (lane_lines[1, :, 0] + lane_lines[2, :, 0]) / 2


def pure_pursuit(centre_y: np.ndarray, v: float, yaw_rate: float, delay: float) -> float:
  """Curvature (left positive) that brings the car, where it will be after `delay`, onto the centre line."""
  k0 = yaw_rate / max(v, 1.0)
  d = v * delay
  psi = k0 * d
  px, py = d * math.cos(psi / 2), d * math.sin(psi / 2)       # predicted position, y left
  x, y = arrays.X_IDXS.astype(np.float64) - px, -centre_y - py
  xr, yr = x * math.cos(psi) + y * math.sin(psi), -x * math.sin(psi) + y * math.cos(psi)
  look = max(LOOKAHEAD_MIN_M, v * LOOKAHEAD_S)
  y_look = float(np.interp(look, xr, yr))
  return 2.0 * y_look / (look * look + y_look * y_look)


@dataclass
class LaneChange:
  """The oracle's target offset from the ego lane's centre (right positive) during a lane change: it moves to the
  next lane's centre, which becomes the ego lane once the car crosses the line, and back to 0 from there."""
  shift: float = 0.0
  lane: int = -1
  crossed: bool = False

  def update(self, desire: int, lane: int, lane_width: float, line_probs: np.ndarray, dt: float) -> bool:
    """Move the target; True while the change is under way."""
    if self.lane >= 0 and lane != self.lane:
      self.shift += (self.lane - lane) * lane_width   # the reference moved by a lane: the target stays put
      self.crossed = True
    self.lane = lane
    side = -1 if desire == Desire.laneChangeLeft else 1 if desire == Desire.laneChangeRight else 0
    if side == 0:
      self.crossed = False
    lane_there = line_probs[0] > 0.5 if side < 0 else line_probs[3] > 0.5
    target = side * lane_width if side and not self.crossed and (lane_there or self.shift * side > 0) else 0.0
    step = LANE_CHANGE_RATE * dt
    self.shift += min(max(target - self.shift, -step), step)
    return abs(self.shift) > LANE_CHANGE_DONE_M or target != 0.0


@dataclass(frozen=True)
class Lead:
  gap: float       # m, bumper to bumper
  y: float         # m, right of the camera
  v: float
  a: float


def find_lead(ss, prev_d: dict[int, float], dt: float) -> Lead | None:
  """The nearest car ahead in the ego lane now, or moving into it within CUT_IN_HORIZON_S, as a model that reads
  a car's sideways drift would see it."""
  tr = ss.truth
  lane_d = tr.nLanes * tr.laneWidth / 2 - (tr.lane + 0.5) * tr.laneWidth
  ego_d = lane_d - tr.lateralOffset
  front = ss.pose.s + RAV4_FRONT_FROM_CG
  best = None
  for c in ss.cars:
    reach = tr.laneWidth / 2 + c.width / 2 - LEAD_OVERLAP_MARGIN
    d_rate = (c.d - prev_d[c.id]) / dt if c.id in prev_d else 0.0
    in_lane = abs(c.d - lane_d) < reach or abs(c.d + d_rate * CUT_IN_HORIZON_S - lane_d) < reach
    gap = c.s - c.length / 2 - front
    if in_lane and 0.0 < c.s - ss.pose.s < LEAD_RANGE and (best is None or gap < best.gap):
      best = Lead(gap, -(c.d - ego_d), c.v, c.a)
  return best


class Oracle:
  def __init__(self):
    self.lane_change = LaneChange()
    self.frames: list[int] = []
    self.prev_d: dict[int, float] = {}

  def model(self, ss, frame_id: int, timestamp_eof: int, steer_delay: float, desire: int, lane_change_state: int,
            lane_change_direction: int, dt: float):
    """The modelV2 message for the simState `ss` of camera frame `frame_id`."""
    t0 = time.perf_counter()
    tr = ss.truth
    v = float(tr.speed)
    lines = arrays.unpack(tr.laneLines, SHAPES["laneLines"]).copy()
    probs = arrays.unpack(tr.laneLineProbs, SHAPES["laneLineProbs"])
    changing = self.lane_change.update(desire, tr.lane, tr.laneWidth, probs, dt)
    centre = lane_centre(lines) + self.lane_change.shift
    curvature = pure_pursuit(centre, v, tr.yawRate, steer_delay + PIPELINE_S)

    t = arrays.T_IDXS.astype(np.float64)
    x = v * t
    y = np.interp(x, arrays.X_IDXS, centre) - centre[0] * np.exp(-t / CONVERGE_S)
    heading = np.arctan2(np.gradient(y, edge_order=2), np.maximum(np.gradient(x, edge_order=2), 1e-6))
    position = np.stack([x, y, np.zeros_like(x)], axis=1)
    orientation = np.stack([np.zeros_like(t), np.zeros_like(t), heading], axis=1)
    rate = np.stack([np.zeros_like(t), np.zeros_like(t), np.gradient(heading, t, edge_order=2)], axis=1)
    velocity = np.stack([np.full_like(t, v), np.zeros_like(t), np.zeros_like(t)], axis=1)

    self.frames = ([*self.frames, frame_id])[-DROP_WINDOW:]
    span = self.frames[-1] - self.frames[0] + 1
    msg = messaging.new_message("modelV2")
    md = msg.modelV2
    md.frameId = md.frameIdExtra = frame_id
    md.timestampEof, md.valid = timestamp_eof, True
    md.frameDropPerc = 100.0 * (1.0 - len(self.frames) / span)
    md.position = arrays.pack(position, SHAPES["position"])
    md.positionStd = arrays.pack(np.full((arrays.IDX_N, 3), 0.1), SHAPES["positionStd"])
    md.velocity = arrays.pack(velocity, SHAPES["velocity"])
    md.acceleration = arrays.pack(np.zeros((arrays.IDX_N, 3)), SHAPES["acceleration"])
    md.orientation = arrays.pack(orientation, SHAPES["orientation"])
    md.orientationRate = arrays.pack(rate, SHAPES["orientationRate"])
    md.laneLines = arrays.pack(lines, SHAPES["laneLines"])
    md.laneLineStds = arrays.pack(np.full(SHAPES["laneLineStds"], 0.05), SHAPES["laneLineStds"])
    md.laneLineProbs = arrays.pack(np.asarray(probs), SHAPES["laneLineProbs"])
    md.roadEdges = tr.roadEdges
    md.roadEdgeStds = arrays.pack(np.full(SHAPES["roadEdgeStds"], 0.1), SHAPES["roadEdgeStds"])
    lead = find_lead(ss, self.prev_d, dt)
    self.prev_d = {c.id: c.d for c in ss.cars}
    md.leads = arrays.pack(self.leads(lead, v), SHAPES["leads"])
    md.egomotion = arrays.pack(np.array([v, 0, 0, 0, 0, -tr.yawRate, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001]),
                               SHAPES["egomotion"])
    md.action.desiredCurvature = curvature
    md.action.desiredAcceleration = self.acceleration(lead, v)
    md.action.shouldStop = bool(lead is not None and lead.v < 0.1 and lead.gap < STOP_DISTANCE + 2 and v < 1)
    desire_state = np.zeros(arrays.DESIRE_LEN)
    desire_state[desire if changing or desire < Desire.laneChangeLeft else Desire.none] = 1.0
    md.meta.desireState = arrays.pack(desire_state, (arrays.DESIRE_LEN,))
    md.meta.desirePrediction = arrays.pack(np.zeros((4, arrays.DESIRE_LEN)), (4, arrays.DESIRE_LEN))
    md.meta.engagedProb = 1.0
    md.meta.hardBrakePredicted = bool(lead is not None and lead.a < HARD_BRAKE)
    md.meta.laneChangeState, md.meta.laneChangeDirection = lane_change_state, lane_change_direction
    md.confidence = "green"
    md.modelExecutionTime = time.perf_counter() - t0
    return msg

  @staticmethod
  def leads(lead: Lead | None, v_ego: float) -> np.ndarray:
    """Row per LEAD_TIMES: x (the bumper gap then), y, v, a, prob, xStd; the lead keeping its acceleration."""
    out = np.zeros(SHAPES["leads"])
    if lead is None:
      return out
    stop_t = lead.v / -lead.a if lead.a < 0 else math.inf
    for i, t in enumerate(LEAD_TIMES):
      tt = min(t, stop_t)
      v = lead.v + lead.a * tt
      x = lead.gap + (lead.v + v) / 2 * tt - v_ego * t
      out[i] = (x, lead.y, v, lead.a if t < stop_t else 0.0, 1.0, LEAD_X_STD)
    return out

  @staticmethod
  def acceleration(lead: Lead | None, v_ego: float) -> float:
    """A gap keeper on the true lead, for completeness: plannerd plans with its MPC and does not read it."""
    if lead is None:
      return 0.0
    gap = STOP_DISTANCE + FOLLOW_TIME_GAP["standard"] * v_ego
    return float(np.clip(0.25 * (lead.gap - gap) + 0.6 * (lead.v - v_ego), -3.5, 1.5))

def main() -> int:
  exit_on_sigterm()
  sim = messaging.sub_sock("simState")   # every frame's truth, not only the latest: each camera frame needs its own
  sm = messaging.SubMaster(["roadCameraState", "carParams", "lateralPlan"], poll="roadCameraState")
  pm = messaging.PubMaster(["modelV2"])
  oracle = Oracle()
  truths: OrderedDict[int, object] = OrderedDict()
  dt = 1.0 / SERVICES["modelV2"].frequency
  while True:
    sm.update(1000)
    for data in messaging.drain_sock_raw(sim):
      ss = messaging.log_from_bytes(data).simState
      truths[ss.frameId] = ss
    while len(truths) > FRAMES_KEPT:
      truths.popitem(last=False)
    if not sm.updated["roadCameraState"]:
      continue
    cam = sm["roadCameraState"]
    ss = truths.get(cam.frameId)
    if ss is None:
      continue   # its truth never came: the frame is dropped, as a lagging model would
    lp = sm["lateralPlan"]
    pm.send("modelV2", oracle.model(ss, cam.frameId, cam.timestampEof, sm["carParams"].steerActuatorDelay, lp.desire,
                                    lp.laneChangeState, lp.laneChangeDirection, dt))


if __name__ == "__main__":
  sys.exit(main())
