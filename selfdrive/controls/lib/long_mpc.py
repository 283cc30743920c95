"""The longitudinal MPC: a 10 s acceleration plan that holds the speed the road allows, or follows a lead at the
personality's time gap (its braking predicted), and never leaves the comfort limits.

Decision variables are the accelerations at N knots, linear in between (so jerk is constant per interval). As in
openpilot's MPC, what is followed is an obstacle: the lead's stopping point (where it would stop braking
comfortably) or, without a closer lead, a virtual one running ahead at the cruise speed. The cost keeps the ego's
own comfortable stopping distance plus the personality's time gap behind the obstacle, penalizes jerk and changes
from the previous plan, and has one-sided (hinge) penalties for coming closer to the lead than that distance, going
faster than the curve ahead allows, or going backwards. Stopping distance is quadratic in speed: it is linearized
about the previous plan. What remains is piecewise quadratic, solved by a projected semismooth Newton method
(selfdrive.controls.lib.qp) warm-started from the previous plan. The acceleration box is hard in the solver; the
jerk limits are applied to its solution in one forward pass, so every plan respects both exactly. Where braking built
at JERK_MIN would still close the time gap to the lead under URGENT_TIME_GAP_S, it builds up at JERK_MIN_URGENT
instead: on seed 197 a car 6 m/s slower cut in 23 m ahead at 20.6 m/s (1.1 s of gap) and, braking built at 5 m/s^3
from +0.9 m/s^2, the gap closed to 0.97 s before it opened (without the car's actuator lag: 0.98 s built at 5 m/s^3,
1.05 at 10, 1.13 braking at -3.5 m/s^2 at once). There the throttle goes at once too: on seed 257 a car cut in 2.1 m
ahead, closing at 3.7 m/s, while the car accelerated at 0.95 m/s^2, and the first plan asked -0.55 m/s^2 after the
actuator delay (-1.5 from 0). What reaches a Toyota is slower still: opendbc's CarController ramps the PCM's accel
command at 4 m/s^3 either way, so there the urgent plan moves the command no faster than a comfortable one would.
Approaching a slower lead from further back, the comfortable jerk stays.
Nor does that check see a lead braking hard from further back: it fades the lead's braking (LEAD_ACCEL_TAU) and looks
3 s ahead. On seed 521 a lead 2.2 s ahead at 23 m/s braked at 6 m/s^2 to 2 m/s; the plan reached ACCEL_MIN 1 s after
the lead began, braking built at JERK_MIN, and the time gap closed to 0.93 s at 5.7 m/s. So where a lead brakes harder
than URGENT_LEAD_DECEL and the plan would brake faster than JERK_MIN allows, braking builds at JERK_MIN_URGENT too.
"""
from dataclasses import dataclass

import numpy as np

from selfdrive.controls.lib.limits import (
  COMFORT_BRAKE,
  CRUISE_DECEL,
  CURVE_DECEL_MAX,
  JERK_MAX,
  JERK_MIN,
  JERK_MIN_URGENT,
  LEAD_ACCEL_TAU,
  STOP_DISTANCE,
  URGENT_HORIZON_S,
  URGENT_LEAD_DECEL,
  URGENT_TIME_GAP_S,
)
from selfdrive.controls.lib.qp import Rows, minimize

N = 20
T_MPC = 10.0 * (np.arange(N + 1) / N) ** 1.5     # s; 0.11 s first interval, 0.74 s last
DT_MPC = np.diff(T_MPC)
DT_LIST = DT_MPC.tolist()

W_OBSTACLE = 3.0     # per (m / (v + 10 m/s))^2 s off the following distance (openpilot's X_EGO_OBSTACLE_COST)
W_DANGER = 100.0     # per m^2 s closer than it to a lead
W_ACCEL = 0.1        # per (m/s^2)^2 s
W_JERK = 5.0         # per (m/s^3)^2 s
W_CHANGE = 2.0       # per (m/s^2)^2 s of change from the previous plan
W_LIMIT = 300.0      # per (m/s)^2 s faster than the curve allows
W_REVERSE = 1e4      # per (m/s)^2 s of going backwards
SPEED_SCALE = 10.0   # m/s added to the speed that scales the distance error
STOPPED_GAP_FACTOR = (0.0, 5.0), (0.5, 1.0)   # behind a lead this slow (m/s), this much of the time gap: the time
                                              # gap is for following; behind a stopped car it only slows the approach
MAX_ITERATIONS = 12   # Newton iterations per plan, for the 5 ms budget; an unfinished solve goes on from its warm
                      # start 50 ms later (real-time iteration, as openpilot's acados SQP_RTI)
RELINEARIZE_TOL = 0.3  # m/s: the stopping distance and curve limit are taken again about a solution this far off
LEAD_FINE_DT = 0.05  # s: the lead's motion is integrated this finely


def _kinematics() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Matrices mapping knot accelerations a (N+1) to v - v0, s - v0 t and jerks, for piecewise-linear accel."""
  av, as_ = np.zeros((N + 1, N + 1)), np.zeros((N + 1, N + 1))
  jerk = np.zeros((N, N + 1))
  eye = np.eye(N + 1)
  for k in range(1, N + 1):
    dt = DT_MPC[k - 1]
    av[k] = av[k - 1] + dt / 2 * (eye[k - 1] + eye[k])
    as_[k] = as_[k - 1] + av[k - 1] * dt + dt * dt / 6 * (2 * eye[k - 1] + eye[k])
    jerk[k - 1] = (eye[k] - eye[k - 1]) / dt
  return av, as_, jerk


AV, AS, JM = _kinematics()


@dataclass(frozen=True)
class LeadPrediction:
  """Where the lead will be (its rear, m ahead of the ego's front bumper now) and how fast, at T_MPC."""
  s: np.ndarray
  v: np.ndarray

  @staticmethod
  def predict(gap: float, v: float, a: float, t: np.ndarray = T_MPC) -> "LeadPrediction":
    """Its acceleration fading with LEAD_ACCEL_TAU; once stopped it stays stopped."""
    tf = np.arange(0.0, t[-1] + LEAD_FINE_DT / 2, LEAD_FINE_DT)
    vf = np.maximum(v + a * LEAD_ACCEL_TAU * (1.0 - np.exp(-tf / LEAD_ACCEL_TAU)), 0.0)
    sf = gap + np.concatenate(([0.0], np.cumsum((vf[1:] + vf[:-1]) / 2 * LEAD_FINE_DT)))
    return LeadPrediction(np.interp(t, tf, sf), np.interp(t, tf, vf))

  @staticmethod
  def nearest(preds: "list[LeadPrediction]") -> "LeadPrediction":
    """Of several leads, at each time the one whose stopping point is nearest: the one the ego must stay behind."""
    s, v = np.array([p.s for p in preds]), np.array([p.v for p in preds])
    pick = np.argmin(s + stopping_distance(v), axis=0)
    cols = np.arange(s.shape[1])
    return LeadPrediction(s[pick, cols], v[pick, cols])


@dataclass(frozen=True)
class SpeedLimit:
  """The most the road allows, as speed against distance ahead (from the curves of the planned path), and the
  hardest braking from the speed now it may ask for."""
  x: np.ndarray
  v: np.ndarray
  decel: float = CURVE_DECEL_MAX

  def at(self, s: np.ndarray) -> np.ndarray:
    return np.interp(s, self.x, self.v)


NO_LIMIT = SpeedLimit(np.array([0.0, 1.0]), np.array([1e3, 1e3]))   # m/s: no limit


def stopping_distance(v: np.ndarray) -> np.ndarray:
  return v * v / (2 * COMFORT_BRAKE)


def following_distance(v: np.ndarray, t_follow: np.ndarray | float) -> np.ndarray:
  """How far behind an obstacle's stopping point to be: stopping comfortably, the time gap, and the stop gap."""
  return stopping_distance(v) + t_follow * v + STOP_DISTANCE


def cruise_ramp(v0: float, v_cruise: float, a_up: float, a_down: float) -> tuple[np.ndarray, np.ndarray]:
  """Position and speed at T_MPC going from v0 to the cruise speed comfortably."""
  v = np.minimum(v_cruise, v0 + a_up * T_MPC) if v_cruise >= v0 else np.maximum(v_cruise, v0 - a_down * T_MPC)
  return np.concatenate(([0.0], np.cumsum((v[1:] + v[:-1]) / 2 * DT_MPC))), v


@dataclass(frozen=True)
class MpcProblem:
  v0: float
  a0: float                # the acceleration being commanded now (the previous plan's): the plan starts from it
  a_min: float
  a_max: float
  v_cruise: float
  a_cruise: float          # acceleration to get up to the cruise speed at
  t_follow: float = 1.45   # s of time gap behind the lead
  lead: LeadPrediction | None = None
  limit: SpeedLimit = NO_LIMIT


@dataclass(frozen=True)
class MpcSolution:
  a: np.ndarray            # (N+1,) at T_MPC
  v: np.ndarray
  s: np.ndarray
  j: np.ndarray            # (N,) per interval
  iterations: int          # Newton iterations
  lead_gap_min: float      # smallest bumper gap to the lead along the plan, m (inf with no lead)
  following: bool          # the lead, not the cruise speed, is the closer obstacle now
  urgent: bool             # braking builds at JERK_MIN_URGENT: comfortable braking would close the time gap under
                           # URGENT_TIME_GAP_S, or a lead brakes harder than URGENT_LEAD_DECEL and the plan would
                           # brake faster than JERK_MIN


def trajectory(v0: float, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  return v0 + AV @ a, v0 * T_MPC + AS @ a


def jerk_limit(a: np.ndarray, a_min: float, a_max: float, jerk_min: float = JERK_MIN) -> np.ndarray:
  """The closest plan (forward, knot by knot) inside the acceleration box and the jerk limits."""
  out = a.tolist()   # knot by knot in Python floats: numpy's scalars cost ~1 us an op
  out[0] = min(max(out[0], a_min), a_max)
  for k in range(1, N + 1):
    lo, hi = out[k - 1] + jerk_min * DT_LIST[k - 1], out[k - 1] + JERK_MAX * DT_LIST[k - 1]
    out[k] = min(max(out[k], lo, a_min), hi, a_max)
  return np.array(out)


def comfort_gap_min(v0: float, a0: float, a_min: float, lead: LeadPrediction) -> float:
  """The smallest time gap (s) to the lead within URGENT_HORIZON_S if braking builds from a0 at JERK_MIN to a_min."""
  v, s = trajectory(v0, np.maximum(a0 + JERK_MIN * T_MPC, a_min))
  moving = (T_MPC <= URGENT_HORIZON_S) & (v > 1.0)
  return float(np.min((lead.s - s)[moving] / v[moving])) if moving.any() else float("inf")


class LongitudinalMpc:
  def __init__(self):
    self.x = np.zeros(N)     # the last solution's knot accelerations 1..N, for warm starts

  def reset(self, a0: float = 0.0) -> None:
    self.x = np.full(N, a0)

  def warm_start(self, shift_s: float) -> None:
    """Move the last solution forward in time by shift_s (the next solve starts that much later)."""
    a = np.concatenate(([self.x[0]], self.x))
    self.x = np.interp(T_MPC[1:] + shift_s, T_MPC, a)

  def solve(self, p: MpcProblem) -> MpcSolution:
    a0 = min(max(p.a0, p.a_min), p.a_max)
    urgent = p.lead is not None and comfort_gap_min(p.v0, a0, p.a_min, p.lead) < URGENT_TIME_GAP_S
    if urgent:
      a0 = min(a0, 0.0)   # the throttle goes at once; braking then builds at JERK_MIN_URGENT
    lb, ub = np.full(N, p.a_min), np.full(N, p.a_max)
    x = np.clip(self.x, lb, ub)
    # affine in x over knots 1..N: v = cv + Bv x, s = cs + Bs x
    cv, bv = p.v0 + AV[1:, 0] * a0, AV[1:, 1:]
    cs, bs = p.v0 * T_MPC[1:] + AS[1:, 0] * a0, AS[1:, 1:]
    ramp_s, ramp_v = cruise_ramp(p.v0, p.v_cruise, p.a_cruise, CRUISE_DECEL)
    obstacle = ramp_s[1:] + following_distance(ramp_v[1:], p.t_follow)
    t_follow = np.full(N, p.t_follow)
    lead_obstacle = p.lead.s[1:] + stopping_distance(p.lead.v[1:]) if p.lead is not None else None
    following = lead_obstacle is not None and lead_obstacle[0] < obstacle[0]
    if lead_obstacle is not None:
      behind_lead = lead_obstacle < obstacle
      t_follow[behind_lead] *= np.interp(p.lead.v[1:][behind_lead], *STOPPED_GAP_FACTOR)
      obstacle = np.minimum(obstacle, lead_obstacle)
    fixed = [ACCEL_ROWS, Rows(JERK_ROWS.m, JERK_ROWS.c * (JM[:, 0] * a0)), Rows(CHANGE_ROWS.m, CHANGE_ROWS.c * -x)]
    floor = p.v0 - p.limit.decel * T_MPC[1:]
    iterations = 0
    v_bar, s_bar = np.maximum(cv + bv @ x, 0.0), cs + bs @ x
    for _ in range(2):
      # the following distance about v_bar: d(v) ~ d(v_bar) + d'(v_bar) (v - v_bar), so s + d(v) = cd + Bd x
      slope = v_bar / COMFORT_BRAKE + t_follow
      cd = cs + following_distance(v_bar, t_follow) + slope * (cv - v_bar)
      bd = bs + slope[:, None] * bv
      scale = 1.0 / (v_bar + SPEED_SCALE)
      quad = [*fixed, _rows(W_OBSTACLE, scale[:, None] * bd, scale * (cd - obstacle))]
      hinge = [_rows(W_REVERSE, -bv, -cv), _rows(W_LIMIT, bv, cv - np.maximum(p.limit.at(s_bar), floor))]
      if lead_obstacle is not None:
        # the tangent underestimates the convex d(v); for safety the chord from 0 to v_hi overestimates it below v_hi
        chord = np.maximum(v_bar, p.v0) / (2 * COMFORT_BRAKE) + t_follow
        hinge.append(_rows(W_DANGER, bs + chord[:, None] * bv, cs + chord * cv + STOP_DISTANCE - lead_obstacle))
      res = minimize(_stack(quad), _stack(hinge), lb, ub, x, MAX_ITERATIONS - iterations)
      x, iterations = res.x, iterations + res.iterations
      v_new, s_bar = np.maximum(cv + bv @ x, 0.0), cs + bs @ x
      if np.abs(v_new - v_bar).max() < RELINEARIZE_TOL or iterations >= MAX_ITERATIONS:
        break
      v_bar = v_new
    self.x = x
    wanted = np.concatenate(([a0], x))
    hard_braking_lead = p.lead is not None and (p.lead.v[1] - p.lead.v[0]) / T_MPC[1] < URGENT_LEAD_DECEL
    if not urgent and hard_braking_lead and (wanted[1] - a0) / DT_MPC[0] < JERK_MIN:
      urgent, wanted[0] = True, min(a0, 0.0)   # the plan brakes as fast as it wants to, up to JERK_MIN_URGENT
    a = jerk_limit(wanted, p.a_min, p.a_max, JERK_MIN_URGENT if urgent else JERK_MIN)
    v, s = trajectory(p.v0, a)
    gap_min = float(np.min(p.lead.s - s)) if p.lead is not None else float("inf")
    return MpcSolution(a, v, s, np.diff(a) / DT_MPC, iterations, gap_min, following, urgent)


def _rows(weight: float, mat: np.ndarray, offset: np.ndarray) -> Rows:
  """Residual rows for weight * dt * (mat x + offset)^2 at each knot."""
  w = np.sqrt(weight * DT_MPC)
  return Rows(w[:, None] * mat, w * offset)


# the rows the same in every solve, made once: the accelerations' own, and the jerks' and changes' matrices with
# their weights (c: the weights, for the offsets of each solve)
ACCEL_ROWS = _rows(W_ACCEL, np.eye(N), np.zeros(N))
JERK_ROWS = _rows(W_JERK, JM[:, 1:], np.ones(N))
CHANGE_ROWS = _rows(W_CHANGE, np.eye(N), np.ones(N))


def _stack(rows: list[Rows]) -> Rows:
  return Rows(np.vstack([r.m for r in rows]), np.concatenate([r.c for r in rows]))
