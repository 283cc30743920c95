"""The driving report of a simulated drive, scored on the simulator's truth (simState), never on what the stack
believes: distance, how much of it the stack drove, how well it kept to the lane centre, how hard it pulled
sideways, how close it came to the lead, and what went wrong.

Lane centring, lateral acceleration and jerk and the time gap are measured while the stack drives (selfdrived
active, the car's cruise engaged and the scripted driver not overriding). A car cutting in closer than MIN_GAP_S is a
gap the stack did not choose: such a lead is scored from when the stack has opened the gap past MIN_GAP_S and it has
stopped growing (cut_in_min_gap_s reports the closest it came before, cut_in_recovery_max_s the longest reopening).
"""
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

MIN_GAP_S = 1.0            # the time gap the stack must never close to
GAP_MIN_SPEED = 3.0        # m/s: slower, a time gap means little (stopped behind a lead it is infinite)
NEW_LEAD_JUMP_M = 3.0      # the lead's distance dropping this much between frames: another car is the lead
EDGE_FRAMES = 2            # jerk is not scored this close to where an engaged stretch starts or ends
STOP_SPEED = 0.1           # m/s: stopped
STOP_LEAD_M = 15.0         # ... within this of a stopped lead: a full stop behind it


@dataclass(frozen=True)
class Report:
  perception: str          # "oracle" (ground truth stand-in) or "model"
  seed: int
  minutes: float           # simulated
  km: float
  engaged_pct: float
  center_err_mean_m: float
  center_err_max_m: float
  max_lat_accel: float     # m/s^2
  max_lat_jerk: float      # m/s^3
  lat_jerk_p99: float
  min_gap_s: float         # inf when no lead was followed
  cut_in_min_gap_s: float  # the closest a cut-in started, before the stack opened the gap
  cut_in_recovery_max_s: float  # the longest it took to open a cut-in's gap to MIN_GAP_S again
  collisions: int
  lane_departures: int
  disengagements: int      # engaged -> not engaged, whatever the cause
  takeovers: int           # ... of which the scripted driver took over
  stops_behind_lead: int   # full stops behind a stopped lead while engaged

  def as_json(self) -> str:
    return json.dumps({k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(self).items()})

  def text(self) -> str:
    gap = "no lead followed" if math.isinf(self.min_gap_s) else f"{self.min_gap_s:.2f} s"
    return "\n".join([
      f"driving report (seed {self.seed}, {self.minutes:.1f} simulated minutes, perception: {self.perception})",
      f"  distance            {self.km:.2f} km, {self.engaged_pct:.1f}% engaged",
      f"  lane centring       mean {self.center_err_mean_m:.3f} m, max {self.center_err_max_m:.3f} m",
      f"  lateral             max accel {self.max_lat_accel:.2f} m/s^2, jerk p99 {self.lat_jerk_p99:.2f} m/s^3 "
      f"(max {self.max_lat_jerk:.2f})",
      f"  lead                min time gap {gap}; closest cut-in {self.cut_in_min_gap_s:.2f} s, reopened within "
      f"{self.cut_in_recovery_max_s:.1f} s; "
      f"{self.stops_behind_lead} full stops behind a lead",
      f"  incidents           {self.collisions} collisions, {self.lane_departures} lane departures, "
      f"{self.disengagements} disengagements ({self.takeovers} driver takeovers)",
    ])


@dataclass
class DriveRecorder:
  """Takes every simState of a drive (in order, none skipped) and scores it."""
  perception: str
  seed: int = 0
  t: list[float] = field(default_factory=list)
  engaged: list[bool] = field(default_factory=list)
  offset: list[float] = field(default_factory=list)
  lat_accel: list[float] = field(default_factory=list)
  gaps: list[float] = field(default_factory=list)           # time gaps the stack chose
  cut_in_gaps: list[float] = field(default_factory=list)
  recoveries: list[float] = field(default_factory=list)      # s from a cut-in to MIN_GAP_S again
  distance: float = 0.0
  collisions: int = 0
  departures: int = 0
  disengagements: int = 0
  takeovers: int = 0
  stops: int = 0
  _prev_lead_m: float = math.inf
  _imposed: bool = False     # the current lead cut in closer than MIN_GAP_S and the stack is still opening the gap
  _imposed_at: float = 0.0
  _reopened: bool = False    # ... past MIN_GAP_S already
  _prev_gap: float = math.inf
  _overriding: bool = False
  _stopped: bool = False

  def add(self, ss, stack_active: bool) -> None:
    """One simState, and whether selfdrived said active at the time."""
    tr = ss.truth
    engaged = stack_active and ss.driver.cruiseEngaged and not ss.driver.overriding
    if self.engaged and self.engaged[-1] and not engaged:
      self.disengagements += 1
    if ss.driver.overriding and not self._overriding:
      self.takeovers += 1
    self._overriding = ss.driver.overriding
    self.seed, self.distance = ss.seed, ss.stats.distance
    self.collisions, self.departures = ss.stats.collisions, ss.stats.laneDepartures
    self.t.append(ss.t)
    self.engaged.append(engaged)
    self.offset.append(abs(tr.lateralOffset))
    self.lat_accel.append(tr.lateralAccel)
    lead = tr.leadDistance if tr.leadPresent else math.inf
    new_lead = lead < self._prev_lead_m - NEW_LEAD_JUMP_M or math.isinf(self._prev_lead_m)
    self._prev_lead_m = lead
    if math.isinf(lead):
      self._imposed = False
      return
    gap = lead / tr.speed if tr.speed > GAP_MIN_SPEED else math.inf
    if new_lead:
      self._imposed, self._imposed_at, self._reopened = gap < MIN_GAP_S, ss.t, False
    elif self._imposed and gap >= MIN_GAP_S:
      if not self._reopened:
        self.recoveries.append(ss.t - self._imposed_at)
        self._reopened = True
      self._imposed = gap > self._prev_gap    # scored from when the gap stops growing
    self._prev_gap = gap
    if engaged and not math.isinf(gap):
      (self.cut_in_gaps if self._imposed else self.gaps).append(gap)
    stopped = engaged and tr.speed < STOP_SPEED and tr.leadV < STOP_SPEED and lead < STOP_LEAD_M
    self.stops += stopped and not self._stopped
    self._stopped = stopped

  def report(self) -> Report:
    eng = np.array(self.engaged, dtype=bool)
    off = np.array(self.offset)[eng]
    minutes = (self.t[-1] - self.t[0]) / 60 if len(self.t) > 1 else 0.0
    accel, jerk = self._lateral(eng)
    return Report(self.perception, self.seed, round(minutes, 3), round(self.distance / 1000, 3),
                  round(100.0 * eng.mean(), 1) if len(eng) else 0.0,
                  round(float(off.mean()), 3) if len(off) else 0.0, round(float(off.max()), 3) if len(off) else 0.0,
                  round(float(np.abs(accel).max()), 3) if len(accel) else 0.0,
                  round(float(np.abs(jerk).max()), 3) if len(jerk) else 0.0,
                  round(float(np.percentile(np.abs(jerk), 99)), 3) if len(jerk) else 0.0,
                  round(min(self.gaps), 3) if self.gaps else math.inf,
                  round(min(self.cut_in_gaps), 3) if self.cut_in_gaps else math.inf,
                  round(max(self.recoveries), 2) if self.recoveries else 0.0,
                  self.collisions, self.departures, self.disengagements, self.takeovers, self.stops)

  def _lateral(self, eng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lateral accel while engaged, and its jerk (per frame, central differences) inside the engaged stretches."""
    if len(self.t) < 3:
      return np.zeros(0), np.zeros(0)
    a = np.array(self.lat_accel)
    jerk = np.gradient(a, np.array(self.t))
    off = np.pad(~eng, 1, constant_values=True)   # the drive's ends count as stretch ends
    near_edge = np.convolve(off, np.ones(2 * EDGE_FRAMES + 1), mode="same")[1:-1] > 0
    return a[eng], jerk[eng & ~near_edge]
