"""The longitudinal plan: cruise speed, curves and the leads (radard's two or the model's one) into the MPC, its
answer onto the published grid, the target acceleration for now, stop and go, and the forward-collision warning."""
import math
import time
from dataclasses import dataclass

import numpy as np

from selfdrive.controls.lib.limits import (
  ACCEL_MIN,
  BESIDE_ACCEL_MAX,
  BESIDE_MIN_SPEED,
  BESIDE_PASSING_MPS,
  BESIDE_ROOM_ACCEL,
  BESIDE_ROOM_S,
  DT_MDL,
  FCW_DECEL,
  FCW_MIN_SPEED,
  LEAD_PROB_MIN,
  STOP_DISTANCE,
  T_CONTROL,
  accel_max,
)
from selfdrive.controls.lib.long_mpc import T_MPC, LeadPrediction, LongitudinalMpc, MpcProblem, SpeedLimit

FCW_GAP_M = 1.0                  # the bumper gap a warning-free lead leaves at the end of braking
FCW_DECELS = np.linspace(0.0, -10.0, 41)
FCW_T = np.linspace(0.0, 10.0, 101)      # s: the warning checks the lead's predicted motion this finely
FCW_PLANS = 2                    # consecutive plans that must agree before the warning sounds
FCW_HOLD_S = 1.5                 # ... and then it stays on at least this long
STOP_LOOKAHEAD_S = 1.0           # the plan must stay stopped this long after the actuator delay to call a stop
STOPPED_LEAD_V = 0.3             # m/s: a lead this slow has stopped
STOP_APPROACH_V = 3.0            # m/s: slower, behind a stopped lead, the car commits to its stop ...
STOP_SHORT_M = 1.5               # ... once braking as now would stop it within this of STOP_DISTANCE behind the lead


@dataclass(frozen=True)
class Lead:
  gap: float       # m from the ego's front bumper to the lead's rear
  v: float
  a: float
  y: float         # m, its centre right of our axis (as the model's lane lines); the lateral plan's, not this one's


def model_leads(leads: np.ndarray) -> list[Lead]:
  """The model's lead now, if it sees one (row 0 of modelV2.leads: x, y, v, a, prob, xStd; x is the bumper gap)."""
  x, y, v, a, prob, _ = (float(f) for f in leads[0])
  return [Lead(x, max(v, 0.0), a, y)] if prob >= LEAD_PROB_MIN else []


def _radar_lead(lead) -> Lead:
  """A radarState LeadData (its y left positive) as a Lead."""
  return Lead(float(lead.dRel), max(float(lead.vLead), 0.0), float(lead.aLeadK), -float(lead.yRel))


def radar_leads(radar_state) -> list[Lead]:
  """radard's leads now, nearest first (radarState.leadOne and leadTwo: the radar's two nearest tracks in our path).
  Both count: the nearer may be moving on while the further has stopped."""
  return [_radar_lead(lead) for lead in (radar_state.leadOne, radar_state.leadTwo) if lead.status]


def radar_beside(radar_state) -> Lead | None:
  """radard's car close ahead in a next lane that may pull in (radarState.beside)."""
  return _radar_lead(radar_state.beside) if radar_state.beside.status else None


def beside_accel_max(v_ego: float, beside: Lead | None) -> float:
  """The most the plan may accelerate with a car close ahead in a next lane that may pull in: above BESIDE_MIN_SPEED
  nothing, and where it sits within BESIDE_ROOM_S of us and we are not passing it, the plan eases off to leave it
  room. On seeds 659 and 677 a car held 9.4-10.3 m ahead in the next lane, at our speed, for 1.6 s and more, then cut
  in at 1.03 s and slowed; braking that opendbc ramps at 4 m/s^3 on a Toyota, the time gap fell to 1.005 and 1.018 s."""
  if beside is None or v_ego <= BESIDE_MIN_SPEED:
    return math.inf
  if beside.gap < BESIDE_ROOM_S * v_ego and beside.v > v_ego - BESIDE_PASSING_MPS:
    return BESIDE_ROOM_ACCEL
  return BESIDE_ACCEL_MAX


def required_decel(v_ego: float, lead: LeadPrediction) -> float:
  """The mildest constant deceleration that keeps FCW_GAP_M to the lead all along its predicted motion (at FCW_T)."""
  a = FCW_DECELS[:, None]
  stop_t = np.where(a < 0, v_ego / np.maximum(-a, 1e-9), np.inf)
  tt = np.minimum(FCW_T[None, :], stop_t)
  s = v_ego * tt + 0.5 * a * tt * tt
  ok = np.all(lead.s[None, :] - s >= FCW_GAP_M, axis=1)
  return float(FCW_DECELS[np.argmax(ok)]) if ok.any() else float(FCW_DECELS[-1])


def stop_in_reach(v_ego: float, a_target: float, lead: Lead | None) -> bool:
  """Behind a stopped lead, slow, and braking as now would stop the car less than STOP_SHORT_M short of its stop
  point: commit to the stop (longcontrol's stopping state only ever brakes harder, so it stops there or sooner). The
  MPC's own approach ends asymptotically: on seed 43 the car crept the last metre at under 1 m/s and the lead left
  after 9 s before it had stopped; four stops behind a lead that drive, none full."""
  if lead is None or lead.v > STOPPED_LEAD_V or v_ego > STOP_APPROACH_V or a_target >= 0.0:
    return False
  short = lead.gap - STOP_DISTANCE - v_ego * v_ego / (2.0 * -a_target)
  return 0.0 <= short < STOP_SHORT_M


@dataclass(frozen=True)
class LongPlan:
  speeds: np.ndarray       # at T_CONTROL
  accels: np.ndarray
  jerks: np.ndarray
  a_target: float          # what to command now (the plan after the actuator delay)
  should_stop: bool
  has_lead: bool
  following: bool          # the lead, not the cruise speed, shapes the plan
  fcw: bool
  v_cruise: float
  solve_time: float        # s


class LongitudinalPlanner:
  def __init__(self, actuator_delay: float, v_stopping: float):
    self.delay = actuator_delay
    self.v_stopping = v_stopping
    self.mpc = LongitudinalMpc()
    self.a = np.zeros_like(T_MPC)       # the last plan's accelerations, for the next plan's start
    self.urgent = False                 # ... and whether it braked at JERK_MIN_URGENT
    self.fcw_count = 0
    self.fcw_until = 0.0
    self.stop_committed = False         # stop_in_reach said so, and the lead has not moved since
    self.t = 0.0

  def update(self, v_ego: float, a_ego: float, v_cruise: float, leads: list[Lead], limit: SpeedLimit,
             t_follow: float, long_active: bool, beside: Lead | None = None) -> LongPlan:
    """leads: nearest first; the plan stays behind whichever of them it must (LeadPrediction.nearest). beside: a car
    close ahead in a next lane that may pull in (beside_accel_max)."""
    self.t += DT_MDL
    if long_active:
      a0 = float(np.interp(DT_MDL, T_MPC, self.a))
      self.mpc.warm_start(DT_MDL)
    else:   # not in control: plan from what the car does now
      a0 = min(max(a_ego, ACCEL_MIN), accel_max(v_ego))
      self.mpc.reset(a0)
    pred = LeadPrediction.nearest([LeadPrediction.predict(ld.gap, ld.v, ld.a) for ld in leads]) if leads else None
    a_max = min(accel_max(v_ego), beside_accel_max(v_ego, beside))
    problem = MpcProblem(v_ego, a0, ACCEL_MIN, a_max, v_cruise, a_max, t_follow, pred, limit)
    t0 = time.perf_counter()
    sol = self.mpc.solve(problem)
    solve_time = time.perf_counter() - t0
    self.a, self.urgent = sol.a, sol.urgent
    speeds, accels = np.interp(T_CONTROL, T_MPC, sol.v), np.interp(T_CONTROL, T_MPC, sol.a)
    jerks = np.interp(T_CONTROL, T_MPC[:-1], sol.j)
    a_target = float(np.interp(self.delay, T_MPC, sol.a))
    v_soon, v_later = np.interp([self.delay, self.delay + STOP_LOOKAHEAD_S], T_MPC, sol.v)
    lead = leads[0] if leads else None
    # a stop once committed to holds while the lead stays stopped: longcontrol's stopping state brakes harder than
    # the plan, the stop point falls further short, and on seed 479 the commit lapsed at 0.94 m/s (1.52 m short); the
    # plan's creep had the car at 0.56 m/s, not stopped, when the lead went on 0.6 s later (after 7.2 s stopped)
    self.stop_committed = lead is not None and lead.v <= STOPPED_LEAD_V and v_ego <= STOP_APPROACH_V and \
      (self.stop_committed or stop_in_reach(v_ego, a_target, lead))
    should_stop = bool(v_soon < self.v_stopping and v_later < self.v_stopping) or self.stop_committed
    warn = v_ego > FCW_MIN_SPEED and \
      any(required_decel(v_ego, LeadPrediction.predict(ld.gap, ld.v, ld.a, FCW_T)) < FCW_DECEL for ld in leads)
    self.fcw_count = self.fcw_count + 1 if warn else 0
    if self.fcw_count >= FCW_PLANS:
      self.fcw_until = self.t + FCW_HOLD_S
    return LongPlan(speeds, accels, jerks, a_target, should_stop, bool(leads), sol.following,
                    self.t < self.fcw_until, v_cruise, solve_time)
