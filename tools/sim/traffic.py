"""Other cars, in Frenet coordinates: they follow each other (and the ego) with IDM, and a per-seed schedule of
events makes the lead slow down, brake hard, stop and go, or has a neighbour cut in.

Each scheduled event first sets itself up (a lead placed ahead, an overtaking car placed behind in the next lane)
EVENT_PREPARE_S before it fires, so it happens in view. Everything draws from one generator: same seed and same
ego motion give the same traffic.
"""
import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from tools.sim import constants as C
from tools.sim.look import RGB
from tools.sim.road import Road


class Behaviour(IntEnum):
  CRUISE = 0
  SLOW = 1    # hold a lower speed for a while
  BRAKE = 2   # brake at a fixed deceleration down to a target speed
  STOP = 3    # brake to a stop, wait, go again


class EventKind(IntEnum):
  SLOW_DOWN = 0
  HARD_BRAKE = 1
  CUT_IN = 2
  STOP_AND_GO = 3


@dataclass(frozen=True)
class Event:
  t: float
  kind: EventKind
  speed_frac: float   # SLOW_DOWN / HARD_BRAKE: target speed as a fraction of the current one
  decel: float        # m/s^2 (negative) for HARD_BRAKE and STOP_AND_GO
  hold: float         # s at the low speed (or stopped) before resuming


@dataclass(frozen=True)
class LogEntry:
  t: float
  what: str           # "slow_down", "hard_brake", "cut_in", "stop_and_go", "spawn", "skip_<kind>"
  car: int


@dataclass
class Car:
  id: int
  kind: str
  length: float
  width: float
  height: float
  color: RGB
  s: float            # station of the car's centre
  d: float
  v: float
  v_cruise: float     # its own free-flow speed
  a: float = 0.0
  behaviour: Behaviour = Behaviour.CRUISE
  target_v: float = 0.0
  decel: float = 0.0
  until: float = math.inf   # when the held phase ends (set once the low speed is reached)
  hold: float = 0.0
  lc_from: float = 0.0
  lc_to: float = 0.0
  lc_t0: float = -1.0
  lc_dur: float = 0.0
  d_rate: float = 0.0
  wander: float = 0.0       # m off its lane centre (lane wander), outside lane changes ...
  wander_aim: float = 0.0   # ... and where it is drifting to
  pacing: bool = False      # holding station just ahead of the ego, in the next lane, to cut in
  time_gap: float = C.IDM_TIME_GAP   # IDM's: after a cut-in, the gap the car accepted, growing back (CUT_IN_RELAX_S)

  @property
  def braking(self) -> bool:
    return self.a < -0.3 or self.v < 0.1


@dataclass
class Ego:
  """What traffic needs to know about the ego car."""
  s: float
  d: float
  v: float
  length: float


class Traffic:
  def __init__(self, rng: np.random.Generator, road: Road, ego: Ego,
               event_gap: tuple[float, float] = C.EVENT_GAP_S, enabled: bool = True, lane_wander: float = 0.0):
    self.rng, self.road, self.layout = rng, road, road.layout
    self.lane_wander = lane_wander
    self._wander_rng = rng.spawn(1)[0]   # its own stream: the schedule and the cars are the same with or without it
    layout = road.layout
    self.cars: list[Car] = []
    self.log: list[LogEntry] = []
    self._next_id = 0
    self.flow = float(rng.uniform(22.0, 31.0))
    self.target_count = int(rng.integers(C.TRAFFIC_MIN_CARS, C.TRAFFIC_MAX_CARS + 1)) if enabled else 0
    self.schedule: list[Event] = self._make_schedule(event_gap) if enabled else []
    self._prepared = 0  # events whose set-up has run
    self._fired = 0
    if enabled:
      ego_lane = layout.lane_at(ego.d)
      self.spawn(ego.s + rng.uniform(35.0, 60.0), layout.lane_d(ego_lane), max(ego.v, 0.8 * self.flow))
      for _ in range(self.target_count - 1):
        lane = int(rng.integers(layout.n_lanes))
        s = ego.s + rng.uniform(-30.0, 220.0)
        if self._free(s, layout.lane_d(lane), 25.0, ego):
          self.spawn(s, layout.lane_d(lane), self.flow * rng.uniform(0.85, 1.1))

  def _make_schedule(self, gap: tuple[float, float]) -> list[Event]:
    """Events over the drive; every run of four holds each kind once, in a shuffled order."""
    rng, out, t = self.rng, [], C.FIRST_EVENT_S
    while t < C.SCHEDULE_S:
      for kind in rng.permutation(len(EventKind)):
        kind = EventKind(int(kind))
        frac = float(rng.uniform(0.3, 0.6)) if kind == EventKind.SLOW_DOWN else float(rng.uniform(0.0, 0.4))
        decel = C.HARD_BRAKE if kind == EventKind.HARD_BRAKE else float(rng.uniform(-3.5, -2.0))
        hold = float(rng.uniform(*(C.STOP_HOLD_S if kind == EventKind.STOP_AND_GO else C.EVENT_HOLD_S)))
        out.append(Event(t, kind, frac, decel, hold))
        t += float(rng.uniform(*gap))
    return out

  # --- population
  def spawn(self, s: float, d: float, v: float) -> Car:
    rng = self.rng
    kind = str(rng.choice(["sedan", "sedan", "suv", "suv", "van"]))
    car = Car(self._next_id, kind, float(rng.uniform(*C.CAR_LENGTHS[kind])), float(rng.uniform(*C.CAR_WIDTHS[kind])),
              float(rng.uniform(*C.CAR_HEIGHTS[kind])), C.CAR_COLORS[int(rng.integers(len(C.CAR_COLORS)))], s, d, v, v)
    self._next_id += 1
    self.cars.append(car)
    return car

  def _free(self, s: float, d: float, clearance: float, ego: Ego) -> bool:
    w = self.layout.lane_width * 0.75
    if abs(ego.d - d) < w and abs(ego.s - s) < clearance:
      return False
    return all(abs(c.d - d) >= w or abs(c.s - s) >= clearance for c in self.cars)

  def lead(self, ego: Ego, d_lane: float, max_range: float = 250.0) -> Car | None:
    """Nearest car ahead whose body is in the lane centred at d_lane."""
    best: Car | None = None
    for c in self.cars:
      if c.s > ego.s and c.s - ego.s < max_range and self._in_lane(c, d_lane) and (best is None or c.s < best.s):
        best = c
    return best

  def _in_lane(self, c: Car, d_lane: float) -> bool:
    """Whether c's body is in the lane centred at d_lane (by more than a wheel's width)."""
    return abs(c.d - d_lane) < self.layout.lane_width / 2 + c.width / 2 - 0.3

  def _recycle(self, ego: Ego) -> None:
    rng, lay = self.rng, self.layout
    for c in list(self.cars):
      ahead = c.s - ego.s
      if ahead > C.TRAFFIC_AHEAD_M or ahead < -C.TRAFFIC_BEHIND_M:
        self.cars.remove(c)
    for _ in range(self.target_count - len(self.cars)):
      lane = int(rng.integers(lay.n_lanes))
      behind = rng.random() < 0.4 and lane != lay.lane_at(ego.d)
      s = ego.s - C.TRAFFIC_BEHIND_M + 15.0 if behind else ego.s + rng.uniform(180.0, C.TRAFFIC_AHEAD_M - 20.0)
      v = self.flow * (rng.uniform(1.0, 1.15) if behind else rng.uniform(0.85, 1.05))
      if self._free(s, lay.lane_d(lane), 30.0, ego):
        self.spawn(s, lay.lane_d(lane), v)

  # --- events
  def _prepare(self, ev: Event, ego: Ego) -> None:
    lay, rng = self.layout, self.rng
    ego_lane = lay.lane_at(ego.d)
    if ev.kind == EventKind.CUT_IN:
      sides = [ln for ln in (ego_lane - 1, ego_lane + 1) if 0 <= ln < lay.n_lanes]
      lane = sides[int(rng.integers(len(sides)))]
      # a car in the next lane (an overtaker from out of view behind, if none) pulls up just ahead of the ego
      d = lay.lane_d(lane)
      near = [c for c in self.cars if abs(c.d - d) < 0.5 and abs(c.s - ego.s) < 60.0]
      if near:
        min(near, key=lambda c: abs(c.s - ego.s)).pacing = True
      elif self._free(ego.s - 25.0, d, 20.0, ego):
        car = self.spawn(ego.s - 25.0, d, ego.v + 2.5)
        car.pacing = True
        self.log.append(LogEntry(ev.t - C.EVENT_PREPARE_S, "spawn", car.id))
    elif self.lead(ego, lay.lane_d(ego_lane), 150.0) is None:
      s = ego.s + max(120.0, 5.0 * ego.v)
      if self._free(s, lay.lane_d(ego_lane), 30.0, ego):
        self.log.append(LogEntry(ev.t - C.EVENT_PREPARE_S, "spawn",
                                 self.spawn(s, lay.lane_d(ego_lane), max(ego.v - 4.0, 0.75 * ego.v)).id))

  def _fire(self, ev: Event, ego: Ego, t: float) -> bool:
    """Start the event's behaviour; False while it should wait (a cut-in whose car is not alongside yet)."""
    lay, rng = self.layout, self.rng
    d_lane = lay.lane_d(lay.lane_at(ego.d))
    name = ev.kind.name.lower()
    if ev.kind == EventKind.CUT_IN:
      front = ego.s + ego.length / 2
      min_gap = max(C.CUT_IN_MIN_GAP, 0.3 * ego.v)
      # a driver pulls in ahead of a car only with room to: a slower one the ego is overtaking waits (pacing brings
      # it level); on seed 191 one 6 m/s slower cut in 7 m ahead from the radar's blind side (1.2 s to collision).
      # It pulls in between the ego and its lead, with room to that lead too (_room_ahead)
      lead = self.lead(ego, d_lane)
      beside = [c for c in self.cars if abs(abs(c.d - d_lane) - lay.lane_width) < 0.5 and c.lc_t0 < 0 and
                max(min_gap, (ego.v - c.v) * C.CUT_IN_MIN_TTC_S) < c.s - c.length / 2 - front < 60.0 and
                (lead is None or c.s < lead.s)]
      cands = [(c, room) for c in beside if (room := self._room_ahead(c, d_lane)) is not None]
      if not cands:
        if t < ev.t + C.CUT_IN_WAIT_S:
          return False
        for c in self.cars:
          c.pacing = False
        self.log.append(LogEntry(t, "skip_" + name, -1))
        return True
      c, room = min(cands, key=lambda cand: cand[0].s)
      c.pacing = False
      c.time_gap = min(max((room - C.IDM_MIN_GAP) / max(c.v, 1.0), 0.0), C.IDM_TIME_GAP)   # what it accepts
      c.lc_from, c.lc_to, c.lc_t0, c.lc_dur = c.d, d_lane, t, float(rng.uniform(*C.LANE_CHANGE_S))
      c.behaviour, c.target_v, c.hold, c.until = Behaviour.SLOW, max(ego.v * 0.85, 0.0), ev.hold, math.inf
    else:
      c = self.lead(ego, d_lane)
      if c is None:
        self.log.append(LogEntry(t, "skip_" + name, -1))
        return True
      c.hold, c.until, c.decel = ev.hold, math.inf, ev.decel
      if ev.kind == EventKind.SLOW_DOWN:
        c.behaviour, c.target_v = Behaviour.SLOW, c.v * ev.speed_frac
      elif ev.kind == EventKind.HARD_BRAKE:
        c.behaviour, c.target_v = Behaviour.BRAKE, c.v * ev.speed_frac
      else:
        c.behaviour, c.target_v = Behaviour.STOP, 0.0
    self.log.append(LogEntry(t, name, c.id))
    return True

  def _room_ahead(self, c: Car, d_lane: float) -> float | None:
    """The bumper gap c would leave to the car it pulls in behind, in the lane centred at d_lane ahead of the ego (inf
    with none there); None where it has no room: a car there overlaps it or is within CUT_IN_MIN_GAP behind it, or
    the one ahead is nearer than the room the ego is given (max of CUT_IN_MIN_GAP, 0.3 s, CUT_IN_MIN_TTC_S closing).
    On seed 900211 a car pulled in 10 m ahead of the ego with its front 0.9 m into the ego's lead."""
    gap, v_ahead = math.inf, 0.0
    for o in self.cars:
      if o is c or not self._in_lane(o, d_lane):
        continue
      g = abs(o.s - c.s) - (o.length + c.length) / 2
      if o.s < c.s and g < C.CUT_IN_MIN_GAP:
        return None
      if o.s >= c.s and g < gap:
        gap, v_ahead = g, o.v
    room = max(C.CUT_IN_MIN_GAP, 0.3 * c.v, (c.v - v_ahead) * C.CUT_IN_MIN_TTC_S)
    return gap if gap > room else None

  # --- motion
  def _leader_gap(self, c: Car, ego: Ego) -> tuple[float, float]:
    """Bumper gap and speed of whatever is ahead of c in its lane (ego included)."""
    w = self.layout.lane_width * 0.7
    gap, v = math.inf, 0.0
    for o in self.cars:
      if o is not c and o.s > c.s and abs(o.d - c.d) < w:
        g = o.s - c.s - (o.length + c.length) / 2
        if g < gap:
          gap, v = g, o.v
    if ego.s > c.s and abs(ego.d - c.d) < w:
      g = ego.s - c.s - (ego.length + c.length) / 2
      if g < gap:
        gap, v = g, ego.v
    return gap, v

  @staticmethod
  def idm(v: float, v0: float, gap: float, v_lead: float, time_gap: float = C.IDM_TIME_GAP) -> float:
    # above its desired speed a car eases off (at most IDM_ACCEL): IDM's own term brakes at 13 m/s^2 for 1.8x its
    # speed, and a car that had paced the ego beside it braked at 8 m/s^2 the moment it cut in, 4 m ahead
    free = max(1.0 - (v / max(v0, 0.1)) ** 4, -1.0) if v0 > 0.1 else -1.0
    if math.isinf(gap):
      return C.IDM_ACCEL * free
    brake = v * (v - v_lead) / (2 * math.sqrt(C.IDM_ACCEL * C.IDM_DECEL))
    s_star = C.IDM_MIN_GAP + max(v * time_gap + brake, 0.0)
    return max(C.IDM_ACCEL * (free - (s_star / max(gap, 0.1)) ** 2), C.TRAFFIC_MAX_DECEL)

  def _accel(self, c: Car, t: float, ego: Ego) -> float:
    """IDM behind whatever is ahead, capped by the behaviour: slow to a target, brake at a set rate, stop."""
    gap, v_lead = self._leader_gap(c, ego)
    k = max(abs(self.road.pose(c.s + c.v * t_ahead)[3]) for t_ahead in (0.0, 2.0, 4.0))
    v_curve = math.sqrt(C.CURVE_LAT_ACCEL / k) if k > 1e-6 else math.inf
    a = self.idm(c.v, min(c.v_cruise, v_curve), gap, v_lead, c.time_gap)
    if c.pacing:
      ahead = c.s - c.length / 2 - (ego.s + ego.length / 2)
      v_want = ego.v + min(max(0.4 * (C.CUT_IN_GAP - ahead), -3.0), 5.0)
      return min(self.idm(c.v, v_curve, gap, v_lead), min(max(0.8 * (v_want - c.v), -3.0), 3.0))
    if c.behaviour != Behaviour.CRUISE and t >= c.until:
      c.behaviour, c.until = Behaviour.CRUISE, math.inf
    if c.behaviour == Behaviour.CRUISE:
      return a
    reached = c.v <= c.target_v + (0.3 if c.behaviour == Behaviour.SLOW else 0.05)
    if reached and math.isinf(c.until):
      c.until = t + c.hold
    if c.behaviour != Behaviour.SLOW and math.isinf(c.until):
      return min(a, c.decel)
    if c.behaviour == Behaviour.STOP:
      return min(a, -1.0)
    return min(a, min(max(0.8 * (c.target_v - c.v), -2.0), C.IDM_ACCEL))

  def _drift(self, c: Car, dt: float) -> None:
    """Lane wander, so that a car ahead does not always mark the lane centre: the car steers smoothly (a first-order
    lag) after an aim that drifts about the centre (Ornstein-Uhlenbeck)."""
    tau = C.LANE_WANDER_TAU_S
    aim = c.wander_aim * (1.0 - dt / tau) + self.lane_wander * math.sqrt(2.0 * dt / tau) * self._wander_rng.normal()
    c.wander_aim = min(max(aim, -C.LANE_WANDER_MAX_M), C.LANE_WANDER_MAX_M)
    w = c.wander + (c.wander_aim - c.wander) * dt / C.LANE_WANDER_LAG_S
    c.d_rate, c.d, c.wander = (w - c.wander) / dt, c.d + w - c.wander, w

  def step(self, t: float, dt: float, ego: Ego) -> None:
    while self._prepared < len(self.schedule) and self.schedule[self._prepared].t - C.EVENT_PREPARE_S <= t:
      self._prepare(self.schedule[self._prepared], ego)
      self._prepared += 1
    while self._fired < len(self.schedule) and self.schedule[self._fired].t <= t and \
        self._fire(self.schedule[self._fired], ego, t):
      self._fired += 1
    for c in self.cars:
      a_des = self._accel(c, t, ego)
      c.a += (a_des - c.a) * min(dt / C.TRAFFIC_ACCEL_TAU, 1.0)
      v = max(c.v + c.a * dt, 0.0)
      if v <= 0.0 and c.a < 0.0:
        c.a = 0.0
      c.s += (c.v + v) / 2 * dt
      c.v = v
      c.time_gap = min(c.time_gap + dt * C.IDM_TIME_GAP / C.CUT_IN_RELAX_S, C.IDM_TIME_GAP)
      if c.lc_t0 >= 0.0:
        tau = min((t - c.lc_t0) / c.lc_dur, 1.0)
        d = c.lc_from + (c.lc_to - c.lc_from) * (1 - math.cos(math.pi * tau)) / 2
        c.d_rate, c.d = (d - c.d) / dt, d
        if tau >= 1.0:
          c.lc_t0, c.d_rate, c.wander, c.wander_aim = -1.0, 0.0, 0.0, 0.0
      elif self.lane_wander > 0.0:
        self._drift(c, dt)
    self._recycle(ego)
