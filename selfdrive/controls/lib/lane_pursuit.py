"""Steering back to the lane centre by the model's own lane lines, for when the car swings well off its line.

The model's desired curvature is the better steer near the centre (on eight 10-minute simulator drives its error
against the pure pursuit it was trained on was 0.0007 1/m, pure pursuit on its lane lines' centre 0.0014), but far
from it the model under-steers: 0.6 of the right correction once the car is 0.8 m off or headed 0.06 rad away (58
and 33 frames of those drives; 0.8 within 0.2 m), so that after a close cut-in the car weaved out of its lane. The
lines still see where the lane is then (about half the error 0.6 m or 0.04 rad off). So the further the car swings
from the line it has been holding, the more of the steer is the same pure pursuit (lookahead and all) on the lines'
centre: none within RECOVERY_OFFSET_M[0], RECOVERY_SHARE past [1]. Replayed over those drives, the error 0.6 m or
0.04 rad off fell from 0.0034 to 0.0023 1/m (95th percentile 0.0084 to 0.0056), and stayed 0.0007 overall.
From the line it has been holding, not from the lines' centre: in closed loop the lines sit 0.03-0.35 m left of the
truth, by a different amount on every drive (the calibration's yaw, learnt from the model's steering, carries the
model's own bias), while the model's curvature keeps the car nearer the centre. Read raw, the lines had the plan
leave the model's curvature in 18 % of seed 67's frames, a steady 1e-4 1/m to the left. So their slow part (an
average over BIAS_TAU_S) counts as bias, and only the fast part, a swing, as an offset: the model's curvature holds
the line, the lines catch the swings (on seed 67 the plan then leaves the model's curvature in 5 % of frames, 2 %
without this blend).
"""
from dataclasses import dataclass

import numpy as np

from cereal.arrays import X_IDXS
from selfdrive.controls.lib.limits import DT_MDL
from selfdrive.modeld.constants import pursuit_curvature, pursuit_lookahead

RECOVERY_OFFSET_M = (0.15, 0.4)  # the car this far off its held line at NEAR_M: lane pursuit's share ramps 0 -> full
RECOVERY_SHARE = 0.75            # lane pursuit's share of the steer at full
NEAR_M = 5.0                     # m ahead where the car's offset is read from the lines
LINE_PROB_MIN = 0.5              # both ego-lane lines at least this likely, or the model alone steers
BIAS_TAU_S = 10.0                # s: the lines' slow part, their bias
BIAS_MAX_M = 0.5                 # a reading further off is a swing (or a lane change), not bias


@dataclass(frozen=True)
class EgoLane:
  """The ego lane's two lines from modelV2: lateral positions (m, right positive) at X_IDXS, and probabilities."""
  left_y: np.ndarray
  right_y: np.ndarray
  left_prob: float
  right_prob: float

  @classmethod
  def from_model(cls, lane_lines: np.ndarray, probs: np.ndarray) -> "EgoLane":
    """lane_lines: (4, 33, 2) y, z of far left, left, right, far right; probs: (4,)."""
    return cls(lane_lines[1, :, 0], lane_lines[2, :, 0], float(probs[1]), float(probs[2]))

  def centre_at(self, x: float) -> float:
    return float(np.interp(x, X_IDXS, self.left_y) + np.interp(x, X_IDXS, self.right_y)) / 2


def lane_pursuit_curvature(lane: EgoLane, v_ego: float, bias: float = 0.0) -> float:
  """The model's own pursuit (left positive) aimed at the lines' centre, less their bias (m, right positive), where
  it crosses the lookahead: the car is as far right of that point as the point is left of the car's axis."""
  return float(pursuit_curvature(0.0, bias - lane.centre_at(float(pursuit_lookahead(v_ego))), 0.0, v_ego))


def recovery_share(swing: float) -> float:
  """How much of the steer lane pursuit takes for a swing (m) off the held line."""
  lo, hi = RECOVERY_OFFSET_M
  return RECOVERY_SHARE * min(max((abs(swing) - lo) / (hi - lo), 0.0), 1.0)


class LaneRecovery:
  """The lines' bias, and the model's curvature blended towards lane pursuit as far as the car swings off."""
  def __init__(self):
    self.bias = 0.0   # m, right positive: where the lines' centre sits, NEAR_M ahead, while the car holds its line

  def update(self, model_curvature: float, lane: EgoLane, v_ego: float, steering: bool) -> float:
    """Called at every model frame outside lane changes (their lines belong to the lane being left); steering: the
    plan steers the car (else only the bias is learnt)."""
    if min(lane.left_prob, lane.right_prob) < LINE_PROB_MIN:
      return model_curvature
    near = lane.centre_at(NEAR_M)
    self.bias += (min(max(near, -BIAS_MAX_M), BIAS_MAX_M) - self.bias) * DT_MDL / BIAS_TAU_S
    w = recovery_share(near - self.bias) if steering else 0.0
    return model_curvature if w == 0.0 else \
      model_curvature + w * (lane_pursuit_curvature(lane, v_ego, self.bias) - model_curvature)
