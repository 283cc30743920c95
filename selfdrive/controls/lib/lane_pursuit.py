"""Centring by the model's own lane lines: a slow trim for a model that steers beside the line, and a share of the
steer for when the car swings well off it.

The model's desired curvature is the better steer from frame to frame (on eight 10-minute simulator drives its error
against the pure pursuit it was trained on was 0.0007 1/m, pure pursuit on its lane lines' centre 0.0014), but it
has two faults the lines do not share. Far from the centre it under-steers: 0.6 of the right correction once the car
is 0.8 m off or headed 0.06 rad away (58 and 33 frames of those drives; 0.8 within 0.2 m), so that after a close
cut-in the car weaved out of its lane, while the lines still see where the lane is (about half the error 0.6 m or
0.04 rad off). And it holds some drives' cars steadily beside the centre: with the camera's mount known to a few
thousandths of a radian (calibrationd), seeds 67 and 97 held 0.18 m right, the lines seeing it (their centre 0.05-0.09 m
off the truth at NEAR_M), and on seed 67 the car drifted out of its lane over 8 s of a gentle bend, the model asking
for the road's curvature and nothing of the 1 m it was off.
So the model's curvature gets a trim: how much more than the model the arc through the lines' centre TRIM_AIM_M ahead
(or the lookahead, if nearer) has been asking for, averaged over TRIM_TAU_S (at most TRIM_MAX; longer by the square of
lookahead over aim, so that an offset moves the trim as fast as at the lookahead). The slow part of the steer is the
lines' then, the fast part the model's: a model steering beside the line is centred within a minute (tests: a
kinematic car, 8-35 m/s), without swinging across, and held where the lines' centre is at the aim. The lines' own
bias varies by drive and grows with distance: over five 10-minute drives (seeds 151, 163, 173, 179 and 127's first
three minutes) their centre was 0.00-0.08 m off the truth at 5 m, 0.01-0.09 at 10 m, 0.02-0.07 at 15 m and 0.02-0.22
at the lookahead (14-26 m). Aimed at the lookahead, seed 127's car was held 0.21 m off the centre on average (0.171
over ten minutes at stop 21). Nearer aims with the lookahead's time constant swing (the kinematic car aimed at 12-15 m
had not settled after three minutes); with the scaled one, a 10 m aim's time constant would be 100 s at 30 m/s.
And the further the car is off the lines' centre, the more of the steer is the same pure pursuit (lookahead and all)
on that centre: none within RECOVERY_OFFSET_M[0], RECOVERY_SHARE past [1]. Replayed over the two drives above (the
calibration from the vanishing point, the stack without the trim), the error against the truth's pursuit fell from
0.0013 to 0.0006 1/m (signed: -0.0013 to -0.0002), and 0.6 m or 0.04 rad off from 0.0030 to 0.0019 (95th percentile
0.0079 to 0.0047).
And where the trimmed model is far from lane pursuit (DISAGREEMENT_K), lane pursuit takes the same share, whatever the
offset: the model's transients are its worst. Seed 211: a car cut in 10 m ahead at 24 m/s and the ego braked hard;
the model, centred, asked for -0.0014 1/m where the pursuit on the true lane said +0.0004, and, once the car had
turned, for +0.0084 where that pursuit said +0.0031 and the one on its own lines +0.0037: the car swung 0.41 m right,
then 0.67 m left. Over five drives (seeds 191, 197 twice, 199, 211; 48,000 engaged frames) where the two disagreed by
0.002-0.004 1/m the trimmed model was 0.0019 off the true pursuit and lane pursuit 0.0013; past 0.004, 0.0047 against
0.0007; at 0.001-0.002 the model was the better (0.0006 against 0.0013), hence the ramp's start; and below
DISAGREEMENT_MIN_SPEED too (2-8 m/s, engaged or not, any disagreement: the lines 0.0007-0.0018 off, the model
0.0005-0.0017).
And behind a close lead (nearer than CLOSE_LEAD_M[0], above DISAGREEMENT_MIN_SPEED) lane pursuit takes the same share
too: the car cutting in hides the road, and the model's path swings with it before any disagreement builds. Seed 269:
a car cut in 8.3 m ahead at 25 m/s, the ego braked to 16 m/s and the model asked +0.0056 1/m where the true pursuit
said +0.0012 (its lines' pursuit +0.0030); the car swung 0.69 m. Over the five drives above, behind leads under
10 m the steer was 0.0040 1/m off the true pursuit at the 99th percentile, 0.0032 with lane pursuit's share; at
10-15 m, 0.0039 against 0.0021; at 15-20 m and further, no better (0.0027 against 0.0026).
There the lines past the lead are the model's guess, and lane pursuit aims at their centre run on from its first
NEAR_LINES_M (its offset at NEAR_M, its heading over those metres) along the bend the car has been steering
(BEND_TAU_S) instead. Seed 509: a car cut in 9 m ahead at 23 m/s; the lines' centre was right of the car by 0.1-0.3 m
to 10 m, and bent 0.3-1.6 m left of the truth at 20-30 m, the lookahead; lane pursuit asked +0.0006 to +0.0025 1/m
where the true pursuit said -0.0006 to -0.0018, and the car swung 0.78 m left (0.37 m now). Recomputed
over 40 recorded 10-minute drives (267,828 frames at 8 m/s or more; the model's and the lines' outputs and the plan
as logged, lane pursuit's close-lead share alone), the steer was off the true pursuit by 0.0021 1/m at the 99th
percentile behind leads at 10-15 m on straights (0.0024 aimed at the lookahead), 0.0031 in bends (0.0035); under 10 m
0.0024 (0.0024) and 0.0023 (0.0025); at 15-20 m as before. Run on straight, the bend lost, the steer under 10 m in
bends was 0.0028 off.
Until calibrationd learnt the yaw from the vanishing point the lines sat 0.03-0.35 m left of the truth and the
offset was read from their 10 s average instead: that kept their bias out, and a slow drift in too.
In slow traffic the lines can be lost behind the car ahead; there their centre moves towards the lead's track as far
as the model doubts them (LeadGuide).
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from cereal.arrays import X_IDXS
from selfdrive.controls.lib.limits import DT_MDL
from selfdrive.controls.lib.longitudinal_planner import Lead
from selfdrive.controls.lib.radar_leads import RADAR_TO_CAMERA_M
from selfdrive.modeld.constants import pursuit_lookahead

RECOVERY_OFFSET_M = (0.15, 0.4)  # the car this far off the lines' centre at NEAR_M: lane pursuit's share 0 -> full
RECOVERY_SHARE = 0.75            # lane pursuit's share of the steer at full
DISAGREEMENT_K = (0.0015, 0.003) # 1/m: the trimmed model this far from lane pursuit: lane pursuit's share 0 -> full
DISAGREEMENT_MIN_SPEED = 8.0     # m/s: slower, the lines' pursuit is no better than the model's
CLOSE_LEAD_M = (15.0, 20.0)      # m to the lead: lane pursuit's share full -> 0
NEAR_M = 5.0                     # m ahead where the car's offset is read from the lines
NEAR_LINES_M = 10.0              # m: behind a close lead the lines are run on from their heading over this ...
BEND_TAU_S = 2.0                 # s: ... along the bend the car has been steering, averaged over this
LINE_PROB_MIN = 0.5              # both ego-lane lines at least this likely, or the model alone steers
TRIM_TAU_S = 8.0                 # s: the trim is lane pursuit's disagreement with the model, averaged over this
TRIM_AIM_M = 15.0                # m: ... aimed no further than this (the lines' own bias grows with distance)
TRIM_MAX = 0.002                 # 1/m: the most curvature the trim adds
LEAD_GUIDE_SPEED = (5.0, 8.0)    # m/s: in traffic this slow (all of its share, none of it) ...
LEAD_GUIDE_MAX_GAP = 30.0        # m: ... a lead this near shows where the lane goes ...
LEAD_GUIDE_OFFSET_M = (0.7, 1.2) # m: ... fully, and not at all, this far off the lines' centre at its distance
                                 # (a car changing lanes, cutting in, or in another lane)
LEAD_CENTRE_STD = 0.25           # m: how far off its lane's centre a driver keeps (the standard deviation of lane
                                 # position of attentive drivers, 0.2-0.3 m), against the lines' own std
LEAD_STEADY_RATE = 0.8           # m/s: a lead moving across our path faster is changing lanes or cutting in, ...
LEAD_STEADY_S = 2.0              # s: ... until it has moved slower for this long
LEAD_RATE_TAU_S = 0.5            # s: its rate across our path is averaged over this
LEAD_DOUBT_TAU_S = 1.0           # s: the lines' std flickers from frame to frame; their weight is averaged over this
LEAD_SHIFT_RATE = 0.5            # m/s: the lines' centre moves no faster than this (a lead taken or dropped)


@dataclass(frozen=True)
class EgoLane:
  """The ego lane's two lines from modelV2: lateral positions (m, right positive) at X_IDXS, probabilities, and how
  sure the model is of where they are near the car."""
  left_y: np.ndarray
  right_y: np.ndarray
  left_prob: float
  right_prob: float
  std: float          # m: the two lines' std at NEAR_M, averaged

  @classmethod
  def from_model(cls, lane_lines: np.ndarray, stds: np.ndarray, probs: np.ndarray) -> "EgoLane":
    """lane_lines: (4, 33, 2) y, z of far left, left, right, far right; stds: (4, 33) of their y; probs: (4,)."""
    std = float(np.interp(NEAR_M, X_IDXS, stds[1]) + np.interp(NEAR_M, X_IDXS, stds[2])) / 2
    return cls(lane_lines[1, :, 0], lane_lines[2, :, 0], float(probs[1]), float(probs[2]), std)

  def centre_at(self, x: float) -> float:
    return float(np.interp(x, X_IDXS, self.left_y) + np.interp(x, X_IDXS, self.right_y)) / 2

  def shifted(self, dy: float) -> "EgoLane":
    """Both lines dy m further right."""
    return replace(self, left_y=self.left_y + dy, right_y=self.right_y + dy)


def arc_through(y: float, x: float) -> float:
  """The arc (left positive) from the car's axis through the point x m ahead, y m right of it."""
  return 2.0 * -y / (x * x)


def aimed_curvature(lane: EgoLane, x: float) -> float:
  """The arc through the lines' centre x m ahead: at the lookahead, the pure pursuit the model learnt (the car as
  far right of that point as the point is left of its axis)."""
  return arc_through(lane.centre_at(x), x)


def lane_pursuit_curvature(lane: EgoLane, v_ego: float) -> float:
  """The model's own pursuit (left positive) aimed at the lines' centre where it crosses the lookahead."""
  return aimed_curvature(lane, float(pursuit_lookahead(v_ego)))


def _ramp(x: float, lo_hi: tuple[float, float]) -> float:
  lo, hi = lo_hi
  return min(max((abs(x) - lo) / (hi - lo), 0.0), 1.0)


def close_lead(lead_gap: float) -> float:
  """How close (1 under CLOSE_LEAD_M[0], 0 past CLOSE_LEAD_M[1]) a lead lead_gap m ahead hides the road."""
  return 1.0 - _ramp(lead_gap, CLOSE_LEAD_M)


def run_on_curvature(lane: EgoLane, x: float, bend: float) -> float:
  """The arc (left positive) from the car's axis through the lines' centre run on from its first NEAR_LINES_M
  (offset at NEAR_M, heading over 0..NEAR_LINES_M, exact for a parabola) along a bend of this curvature (left
  positive) to x m ahead."""
  heading = (lane.centre_at(NEAR_LINES_M) - lane.centre_at(0.0)) / NEAR_LINES_M
  return arc_through(lane.centre_at(NEAR_M) + heading * (x - NEAR_M) - bend * (x - NEAR_M) ** 2 / 2, x)


def recovery_share(offset: float, disagreement: float, close: float = 0.0) -> float:
  """How much of the steer lane pursuit takes: for the car this far (m) off the lines' centre, the trimmed model
  this far (1/m) from lane pursuit, or a lead this close (close_lead), whichever asks more (below
  DISAGREEMENT_MIN_SPEED the caller gives neither a disagreement nor a lead)."""
  return RECOVERY_SHARE * max(_ramp(offset, RECOVERY_OFFSET_M), _ramp(disagreement, DISAGREEMENT_K), close)


class LeadGuide:
  """In slow traffic the lines can be lost behind the car ahead while the model still draws them, and draws them
  where the car is. Seed 491: at 2-5 m/s, 8-14 m behind a lead with a car close beside, the lines' std at NEAR_M was
  0.3-0.6 m and their centre within 0.25 m of the car for 25 s while the car drifted 1 m off the lane's.
  So the lead's track shows where the lane goes, as a driver in a jam follows the car ahead: the lines' centre moves
  to the lead's as far as the lines are less sure than a driver keeps to his lane (their std against LEAD_CENTRE_STD),
  and lane pursuit takes that share of the steer. On 45 recorded 10-minute drives, below 10 m/s behind leads nearer
  than 30 m, the lead's centre was 0.04 m off the lane's at the median, 0.12-0.16 at the 95th percentile; the lines'
  centre, at the lead, 0.05-0.10 and 0.20-0.39.
  The lead's position is taken as it is, frame by frame: blind lines give no feedback of their own, and a lead seen
  late (averaged) swings the car ever wider. Nor does the trim learn meanwhile: the model is as blind as its lines.
  A lead moving across our path as a lane change does is let go, until it has been steady for LEAD_STEADY_S.
  """
  def __init__(self):
    self.doubt = 0.0      # the lead's weight against the lines, lately
    self.shift = 0.0      # m, right positive: how far the lines' centre was moved, last frame
    self.off = 0.0        # m, right positive: the lead's centre off the lines', last frame it was within reach
    self.lead_y = math.nan  # m, right positive: where the lead was, last frame
    self.rate = 0.0       # m/s: how fast it moves across our path, lately (the lines flicker too much to tell)
    self.steady_s = 0.0   # s it has been moving slower than LEAD_STEADY_RATE
    self.weight = 0.0     # the lead's share of where the lines' centre is, this frame

  def update(self, lane: EgoLane, v_ego: float, lead: Lead | None) -> EgoLane:
    doubt = lane.std ** 2 / (lane.std ** 2 + LEAD_CENTRE_STD ** 2)
    self.doubt += (doubt - self.doubt) * DT_MDL / LEAD_DOUBT_TAU_S
    self.weight = 0.0
    if lead is not None and v_ego < LEAD_GUIDE_SPEED[1] and lead.gap <= LEAD_GUIDE_MAX_GAP:
      off = lead.y - lane.centre_at(lead.gap + RADAR_TO_CAMERA_M)
      if abs(off) < LEAD_GUIDE_OFFSET_M[1]:   # else another car, for now (radard's nearest switches for a frame)
        if not math.isnan(self.lead_y):
          self.rate += ((lead.y - self.lead_y) / DT_MDL - self.rate) * DT_MDL / LEAD_RATE_TAU_S
        self.off, self.lead_y = off, lead.y
        self.steady_s = self.steady_s + DT_MDL if abs(self.rate) < LEAD_STEADY_RATE else 0.0
        if self.steady_s >= LEAD_STEADY_S:
          self.weight = self.doubt * (1.0 - _ramp(off, LEAD_GUIDE_OFFSET_M)) * (1.0 - _ramp(v_ego, LEAD_GUIDE_SPEED))
    else:
      self.lead_y, self.rate, self.steady_s = math.nan, 0.0, 0.0
    step = LEAD_SHIFT_RATE * DT_MDL
    self.shift = min(max(self.weight * self.off, self.shift - step), self.shift + step)
    return lane.shifted(self.shift)


class LaneRecovery:
  """The model's curvature with its centring trim, blended towards lane pursuit as far as the car is off centre or
  the model far from it; the lines' centre moved towards the lead's track where they are unsure in slow traffic."""
  def __init__(self):
    self.trim = 0.0   # 1/m, left positive: how much more lane pursuit has been asking for than the model, lately
    self.bend = 0.0   # 1/m, left positive: the curvature steered, lately (BEND_TAU_S): in a steady bend, the road's
    self.guide = LeadGuide()

  def update(self, model_curvature: float, lane: EgoLane, v_ego: float, steering: bool,
             lead: Lead | None = None) -> float:
    """Called at every model frame outside lane changes (their lines belong to the lane being left); steering: the
    plan steers the car (else the trim holds: the driver's offset says nothing of the model's, and so do lines the
    model doubts); lead: the nearest lead the plan follows."""
    curvature = self._steer(model_curvature, lane, v_ego, steering, lead)
    self.bend += (curvature - self.bend) * DT_MDL / BEND_TAU_S
    return curvature

  def _steer(self, model_curvature: float, lane: EgoLane, v_ego: float, steering: bool, lead: Lead | None) -> float:
    lane = self.guide.update(lane, v_ego, lead)
    if not steering:
      return model_curvature
    if min(lane.left_prob, lane.right_prob) < LINE_PROB_MIN:
      return model_curvature + self.trim   # the model's bias is still its own
    look = float(pursuit_lookahead(v_ego))
    aim = min(look, TRIM_AIM_M)
    tau = TRIM_TAU_S * (look / aim) ** 2   # the shorter arm turns an offset into (look / aim)^2 more curvature
    learn = 1.0 - self.guide.weight   # lines moved by a lead say nothing of the model's bias: it is as blind as they
    trim = self.trim + (aimed_curvature(lane, aim) - model_curvature - self.trim) * learn * DT_MDL / tau
    self.trim = min(max(trim, -TRIM_MAX), TRIM_MAX)
    trimmed = model_curvature + self.trim
    fast = v_ego >= DISAGREEMENT_MIN_SPEED
    pursuit = aimed_curvature(lane, look)
    close = close_lead(lead.gap) if lead and fast else 0.0
    if close > 0.0:   # past a close lead the lines are guessed
      pursuit += close * (run_on_curvature(lane, look, self.bend) - pursuit)
    disagreement = pursuit - trimmed if fast else 0.0
    share = max(recovery_share(-lane.centre_at(NEAR_M), disagreement, close), RECOVERY_SHARE * self.guide.weight)
    return trimmed + share * (pursuit - trimmed)
