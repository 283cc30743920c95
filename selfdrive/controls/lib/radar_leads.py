"""Which of the radar's tracks are leads: the nearest ones in the model's path, each with its acceleration
filtered from its speed (the Toyota radar sends none).

A track is in the path when its lateral offset from the path, at its distance, is under IN_PATH_M; the lead keeps
its place a little wider (KEEP_IN_PATH_M), so a lead weaving within its lane does not flicker. Far ahead the model's
path is less sure of itself (its lateral std grows to 1-2 m at 70-110 m) and wrong by as much: both widen by that
std, up to PATH_STD_MAX_M. Without it a car stopped dead ahead, 90 m away, sat 2.7 m off a path the model bent to
the right and was taken for a lead only at 63 m, too late to stop from 20 m/s.
Close ahead the car cannot get out of the way of what it is heading into whatever the path says: a track nearer than
NEAR_AHEAD_M or NEAR_AHEAD_S at our speed whose body overlaps ours (centres within NEAR_OVERLAP_M side by side) on
the arc the car is turning on now is in the path too. On simulator seed 8 a car that had cut in 5 m ahead dropped out
of the lead for 0.4 s while the model, blinded by it, swung its path 2-5 m sideways at 10 m; the plan eased its
braking from -3.5 to -2.6 m/s^2. The arc, not the car's straight axis: 20 m into a 200 m bend a car centred in the
next lane is 1 m nearer the axis than in a straight.
A near track moving sideways counts where it will be CUT_IN_LOOKAHEAD_S later too (its lateral speed filtered from
the scans). On seed 4 the simulator counts a car cutting in 10 m ahead at 7 m/s (then braking at 6 m/s^2) in our lane
from 352.45 s, its centre 2.4 m off ours. Within IN_PATH_M of the path it was the lead 0.25-0.5 s later (time gap
1.01 s); on the overlap alone at 352.80 (0.97-1.03 s, by one scan); with the look-ahead at 352.45, the same scan
(1.20 s). Scans 0.05 s apart, read from the recorded drives. One we close on faster than CUT_IN_CLOSING_MPS counts
where it will be when we reach it (up to CUT_IN_CLOSING_LOOKAHEAD_S): on seed 257 a car cut in from the radar's blind
side, born 3.7 m ahead, 3.0 m to the side, closing at 3.2 m/s and coming across at ~1 m/s; looking 0.5 s ahead, radard
took it 2.1 m ahead and dropped it a scan later, its lateral reading jumping 0.08 m outwards (the car hit it); the
lead now keeps its place while it overlaps within KEEP_IN_PATH_M - IN_PATH_M more, as on the path. The look to our
reach counts only for a track tracked SETTLED_SCANS, projected from its filtered position: from the raw reading of
tracks just born, a car held 2.2-2.5 m beside us that we pass was taken for the lead in 20 of 1,350 simulated passes
(none now). Replayed over 37 recorded drives (399,078 scans), leadOne was a car the simulator counted as the lead
within the next 4 s, nearer than its lead then, in 1,601 scans (1,504 before: cut-ins taken early), and a car that
never was the lead in as many scans as before on every drive (6,810 in all).
Further on, up to CUT_IN_AHEAD_S at our speed, a track coming towards the path counts where its offset from the path
will be CUT_IN_LOOKAHEAD_S later (that offset's rate filtered from the scans: in a bend a car keeping its lane moves
sideways in our frame, not relative to the path). On seed 23 a car cutting in 17.7 m ahead at 18.6 m/s, 3 m/s slower
than us, was the lead 0.05 s after the simulator counted it in our lane; now 0.2 s before. Replayed over eight recorded
10-minute drives the rule added no scan where a car that never became the lead was taken for it; at 2.0 s it added
0.25 s of one, where the model's path overshot a bend by 2 m at 30 m. A track we close on faster than
CUT_IN_CLOSING_MPS counts where it will be CUT_IN_CLOSING_LOOKAHEAD_S later: on seed 71 a car 15 m ahead, 3.6 m/s
slower, came across at 1.5-2 m/s and was the lead at 1.0 s of time gap; braking at -3.5 m/s^2 from then, the gap
still closed to 0.86 s; replayed, that drive now has it 0.35 s sooner. Over the same eight drives the longer look for
closing tracks added no such scan either; it had the lead in 86 scans before the simulator counted that car in our
lane (27 before), and missed the simulator's lead in 40 (45).
In a steady bend (turning at least ARC_MIN_CURVATURE) a track within IN_PATH_M of the arc the car is turning on, up
to ARC_AHEAD_S at our speed, is in the path too: on seed 101 the model's path ran 2.6-4.2 m right of a lead braking
to a stop 50-94 m ahead in a 244 m bend, as if the bend eased; radard took it 49 m ahead at 19 m/s, too late, and
the car hit it (an arc of the bend's curvature had it within 0.2 m from 82 m on). Replayed over fourteen recorded
10-minute drives, the scans missing the simulator's lead within 60 m fell from 423 to 155 (201 looking 4 s ahead),
with 17 more where radard's lead was not the simulator's (966; cars at our speed 60 m ahead). On seed 101 a nearer
car in the next lane, on the model's too-straight path, stayed leadOne: plannerd plans on leadTwo too, which was the
stopping lead from 92 s (72-92 m) on, 2-4 s sooner.
Where the model is unsure of its path (its std at the track at least PATH_STD_MAX_M, as far as it widens the path),
the arc counts whatever the car's curvature: there the car's own arc is no worse a guess than the path, and on a
straight it is the road. On seed 127 a lead braking from 23 m/s to a stop just past a bend's exit was within 0.7 m of
straight ahead while the model's path 90-100 m out still bent 2-3 m left (std 1.6-3): radard took it 76 m ahead,
closing at 13 m/s, and the driver took over; on seed 151 the path at 110-150 m ran 2-4.5 m left of a straight road
(std 1.6-3.6) with a lead braking to 3.5 m/s on it. Replayed over four new 10-minute drives (151, 163, 173, 127's
first 3 minutes): scans missing the simulator's lead within 110 m 660 -> 309, those with it under 8 s ahead 43 -> 15,
not one more scan where radard's lead was nearer than the simulator's (on a fifth, 179: 3 more, cars in the next lane
92-95 m ahead in a bend). In a steady bend the arc already counts; at a bend's entry the path is sure of itself where
a car in the next lane crosses the straight arc (35 m at 25 m/s).
Besides the leads, radard names the nearest car close ahead in a next lane that is not pulling away (`beside`,
_may_pull_in): it may pull in, and within 5 m the radar sees a car in the next lane only once it is coming across.
plannerd does not accelerate while there is one. In the loop (oracle perception, the real radard and plannerd), ten
4-minute drives with traffic events every 12-18 s: the closest a cut-in car came (in the 6 s after it cut in) was
4.8 m at the median (1.4 m the least, 10 of 30 under 4 m, 3 takeovers), now 8.3 m (3.1 m, 4 of 31, none), for 3.2 %
less distance.
"""
import math
from dataclasses import dataclass

import numpy as np

RADAR_TO_CAMERA_M = 1.5    # the camera sits this far behind the front bumper (the model's path starts there)
IN_PATH_M = 1.5            # half a lane, less a margin for the path's own error at distance
KEEP_IN_PATH_M = 1.9
NEAR_AHEAD_M = 10.0        # m from the bumper, or NEAR_AHEAD_S at our speed if further: closer, what the car is
NEAR_AHEAD_S = 0.8         # heading into is in the path
NEAR_OVERLAP_M = 1.8       # two cars' centres this close side by side: bodies of ~1.85 m (a RAV4, a sedan) overlap
CUT_IN_LOOKAHEAD_S = 0.5   # a near track moving sideways is also taken where it will be this much later
CUT_IN_AHEAD_S = 1.5       # ... and a track closer than this at our speed moving towards the path
CUT_IN_CLOSING_LOOKAHEAD_S = 1.0   # ... this much later, for one we close on faster than CUT_IN_CLOSING_MPS
CUT_IN_CLOSING_MPS = 1.0
SETTLED_SCANS = 10         # a track's lateral speed is mostly noise until the filter has had this many scans
BESIDE_M = 5.5             # a track off the path by more than IN_PATH_M and less than this is in a next lane; one
BESIDE_AHEAD_M = 12.0      # ... closer ahead than this (where a car waiting to pull in sits), or that we will draw
BESIDE_AHEAD_S = 3.0       # ... level with within this, or closer than BESIDE_GAP_S at our speed (pulling in, it
BESIDE_GAP_S = 1.5         # would be inside our following gap), and not pulling away faster than BESIDE_RECEDING_MPS,
BESIDE_RECEDING_MPS = 1.0  # may pull in ahead of us
ARC_MIN_CURVATURE = 0.002  # 1/m: turning at least this (a 500 m bend), a track on the arc ahead is in the path ...
ARC_AHEAD_S = 5.0          # ... up to this far at our speed
PATH_STD_MAX_M = 1.0       # the most the path's uncertainty widens either (an adjacent lane's centre stays outside)
RADAR_DT = 0.05            # the radar scans at 20 Hz
ALPHA, BETA = 0.35, 0.06   # the speed/acceleration tracker's gains (a steady-state Kalman filter)
Y_ALPHA, Y_BETA = 0.3, 0.05  # the lateral position/speed tracker's: 0.05 m of jitter gives 0.07 m/s (measured)
A_LEAD_TAU = 1.5           # s: an old acceleration estimate decays towards 0 (openpilot's aLeadTau)


@dataclass(frozen=True)
class Track:
  """One radar point (the car frame: yRel left positive) with our speed added."""
  track_id: int
  d_rel: float
  y_rel: float
  v_rel: float


@dataclass(frozen=True)
class RadarLead:
  track_id: int
  d_rel: float
  y_rel: float
  v_rel: float
  v_lead: float
  a_lead: float
  path_offset: float
  age: int


def _alpha_beta(x: float, rate: float, measured: float) -> tuple[float, float]:
  """One lateral alpha-beta step (Y_ALPHA, Y_BETA at RADAR_DT): the filtered value and its rate."""
  r = measured - (x + rate * RADAR_DT)
  return x + rate * RADAR_DT + Y_ALPHA * r, rate + Y_BETA / RADAR_DT * r


@dataclass
class _Filter:
  """One track's speed and acceleration, its lateral position in our frame, and its offset from the path, each with
  its rate. The offset is tracked apart from y: in a bend or while we turn, a car keeping its lane moves sideways in
  our frame while its offset from the path holds."""
  v: float
  y: float
  offset: float   # from the path, left positive
  a: float = 0.0
  vy: float = 0.0
  v_offset: float = 0.0
  age: int = 0

  def update(self, v_meas: float, y_meas: float, offset_meas: float, new_path: bool) -> None:
    """new_path: the path changed source, so the offset starts again from this scan."""
    predicted = self.v + self.a * RADAR_DT
    r = v_meas - predicted
    self.v = predicted + ALPHA * r
    self.a = self.a * math.exp(-RADAR_DT / A_LEAD_TAU) + BETA / RADAR_DT * r
    self.y, self.vy = _alpha_beta(self.y, self.vy, y_meas)
    if new_path:
      self.offset, self.v_offset = offset_meas, 0.0
    else:
      self.offset, self.v_offset = _alpha_beta(self.offset, self.v_offset, offset_meas)
    self.age += 1


def path_y_left(path_x: np.ndarray, path_y_right: np.ndarray, x: float) -> float:
  """The path's lateral position (left positive) at x m ahead of the camera; straight on past its end."""
  return -float(np.interp(x, np.maximum.accumulate(path_x), path_y_right))


def arc_y_left(curvature: float, x: "float | np.ndarray") -> "float | np.ndarray":
  """The lateral position (left positive) x m ahead (a float or an array) on an arc of this curvature (left
  positive), the arc starting along the car."""
  return 0.5 * curvature * x * x


def _overlaps(t: Track, f: _Filter, arc_y: float, margin: float) -> bool:
  """A near track overlaps our car on its arc (its centre within NEAR_OVERLAP_M + margin of ours), now or, at its
  lateral speed, CUT_IN_LOOKAHEAD_S later; one we close on fast and have tracked SETTLED_SCANS, where it will be when
  we reach it (up to CUT_IN_CLOSING_LOOKAHEAD_S). Projected from its filtered position: the radar's raw one jitters."""
  look = CUT_IN_LOOKAHEAD_S
  if t.v_rel < -CUT_IN_CLOSING_MPS and f.age >= SETTLED_SCANS:
    look = min(max(t.d_rel / -t.v_rel, CUT_IN_LOOKAHEAD_S), CUT_IN_CLOSING_LOOKAHEAD_S)
  return min(abs(t.y_rel - arc_y), abs(f.y + f.vy * look - arc_y)) < NEAR_OVERLAP_M + margin


def _may_pull_in(t: Track, offset: float, v_ego: float) -> bool:
  """A track not in the path that is a car close ahead in a next lane and may pull in ahead of us. Close ahead the
  radar sees a car in the next lane only once it is coming across (its field is 3 m wide there), too late to brake
  away from one we accelerate into. Further on, one inside our following gap: on seed 691 the car accelerated at
  0.9 m/s^2 past 18 m/s towards one 30 m ahead in the next lane, 4.2 m/s slower, that cut in 21.5 m ahead (1.05 s);
  braking ramped at 4 m/s^3 by opendbc from +0.85 m/s^2, the time gap fell to 0.96 s."""
  return abs(offset) < BESIDE_M and t.v_rel < BESIDE_RECEDING_MPS and \
    0 < t.d_rel < max(BESIDE_AHEAD_M, -t.v_rel * BESIDE_AHEAD_S, BESIDE_GAP_S * v_ego)


class LeadTracker:
  def __init__(self):
    self.filters: dict[int, _Filter] = {}
    self.lead_id: int | None = None
    self.model_path = False   # the last path was the model's (not the steering arc)
    self.beside: RadarLead | None = None   # the last update's nearest car close ahead in a next lane (_may_pull_in)

  def update(self, tracks: list[Track], v_ego: float, path_x: np.ndarray, path_y_right: np.ndarray,
             path_y_std: np.ndarray | None = None, curvature: float = 0.0) -> tuple[RadarLead | None, RadarLead | None]:
    """The two nearest leads in the path (model frame: path x ahead of the camera, y to the right; path_y_std: its
    lateral uncertainty, None for a path known exactly such as the arc the car steers; curvature: of the arc the car
    is turning on now, left positive)."""
    seen = {t.track_id for t in tracks}
    self.filters = {k: f for k, f in self.filters.items() if k in seen}
    new_path = self.model_path != (path_y_std is not None)  # offsets from another path say nothing of motion
    self.model_path = path_y_std is not None
    in_path, beside = [], []
    near = max(NEAR_AHEAD_M, NEAR_AHEAD_S * v_ego)
    cut_in_zone = max(NEAR_AHEAD_M, CUT_IN_AHEAD_S * v_ego)
    bending, arc_zone = abs(curvature) >= ARC_MIN_CURVATURE, ARC_AHEAD_S * v_ego
    for t in tracks:
      x = t.d_rel + RADAR_TO_CAMERA_M
      offset = t.y_rel - path_y_left(path_x, path_y_right, x)
      f = self.filters.get(t.track_id)
      if f is None:
        f = self.filters[t.track_id] = _Filter(v_ego + t.v_rel, t.y_rel, offset)
      else:
        f.update(v_ego + t.v_rel, t.y_rel, offset, new_path)
      path_std = None if path_y_std is None else float(np.interp(x, path_x, path_y_std))
      widen = 0.0 if path_std is None else min(path_std, PATH_STD_MAX_M)
      unsure = path_std is not None and path_std >= PATH_STD_MAX_M
      width = KEEP_IN_PATH_M if t.track_id == self.lead_id else IN_PATH_M
      arc_y = arc_y_left(curvature, x)
      ahead = t.d_rel < near and _overlaps(t, f, arc_y, width - IN_PATH_M)
      look = CUT_IN_CLOSING_LOOKAHEAD_S if t.v_rel < -CUT_IN_CLOSING_MPS else CUT_IN_LOOKAHEAD_S
      cutting_in = t.d_rel < cut_in_zone and abs(offset + f.v_offset * look) < IN_PATH_M + widen
      on_arc = (bending or unsure) and t.d_rel < arc_zone and abs(t.y_rel - arc_y) < width
      if (abs(offset) < width + widen or ahead or cutting_in or on_arc) and t.d_rel > 0:
        kept = in_path
      elif _may_pull_in(t, offset, v_ego):
        kept = beside
      else:
        continue
      kept.append(RadarLead(t.track_id, t.d_rel, t.y_rel, t.v_rel, max(f.v, 0.0), f.a, offset, f.age))
    self.beside = min(beside, key=lambda lead: lead.d_rel, default=None)
    in_path.sort(key=lambda lead: lead.d_rel)
    one = in_path[0] if in_path else None
    self.lead_id = one.track_id if one is not None else None
    return one, in_path[1] if len(in_path) > 1 else None
