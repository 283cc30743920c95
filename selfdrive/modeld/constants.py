"""The driving model's contract, in one place: its input frame, its inputs and the layout of its outputs.

The model frame is a virtual camera at the road camera's position looking straight along the car (openpilot's
"calibrated frame"): every camera, whatever its intrinsics and mount, is warped into it before the model sees it.
"""
import math
from dataclasses import dataclass

import numpy as np

from cereal.arrays import DESIRE_LEN, IDX_N, NUM_LANE_LINES, NUM_LEAD_TIMES, NUM_ROAD_EDGES

# --- model frame: W x H luma, horizon above the middle so most pixels see road
MODEL_W, MODEL_H = 256, 128
MODEL_FOCAL = 240.0
MODEL_CX, MODEL_CY = MODEL_W / 2, 52.0

# --- inputs: two consecutive frames, each 6 channels at half resolution (4 luma sub-planes, U, V), like openpilot
FRAME_CHANNELS = 6
INPUT_FRAMES = 2
INPUT_SHAPE = (1, INPUT_FRAMES * FRAME_CHANNELS, MODEL_H // 2, MODEL_W // 2)
HIDDEN = 256           # recurrent latent state
ACTION_LEN = 2         # the action the dynamics head is conditioned on: curvature (1/m), acceleration (m/s^2)

# desires, numbered as openpilot's log.Desire (one-hot of DESIRE_LEN)
DESIRE_NONE, DESIRE_LANE_CHANGE_LEFT, DESIRE_LANE_CHANGE_RIGHT = 0, 3, 4
assert DESIRE_LEN == 8

LEAD_TIMES = (0.0, 2.0, 4.0)
assert len(LEAD_TIMES) == NUM_LEAD_TIMES
EGOMOTION_LEN = 6      # velocity xyz (m/s), rotation rate xyz (rad/s), car frame

# desired curvature is trained on a pure pursuit of the lane centre this far ahead (the scripted driver steers by it)
PURSUIT_LOOKAHEAD_MIN_M, PURSUIT_LOOKAHEAD_S = 10.0, 1.2


def pursuit_lookahead(speed):
  """m ahead the pursuit aims at, for a speed in m/s (a number or a numpy array)."""
  return np.maximum(PURSUIT_LOOKAHEAD_MIN_M, PURSUIT_LOOKAHEAD_S * np.maximum(speed, 1.0))


def pursuit_curvature(road_curvature, offset, heading_error, speed):
  """The pure pursuit the model's desired curvature is trained on: the curvature (left positive) that takes a car
  `offset` m right of its target line, heading `heading_error` rad off it, back onto it. Numbers or numpy arrays."""
  look = pursuit_lookahead(speed)
  # ground truth is x forward, y right: a car right of its lane (offset > 0) must turn left (curvature > 0)
  return road_curvature + 2.0 * (offset + look * heading_error) / look ** 2


@dataclass(frozen=True)
class Group:
  name: str
  shape: tuple[int, ...]

  @property
  def size(self) -> int:
    return math.prod(self.shape)


# outputs with a mean and a std (Laplace), then probabilities (logits inside the network)
DIST_GROUPS = (
  Group("plan", (IDX_N, 9)),                           # position xyz, velocity xyz, acceleration xyz at T_IDXS
  Group("lane_lines", (NUM_LANE_LINES, IDX_N, 2)),    # y, z at X_IDXS
  Group("road_edges", (NUM_ROAD_EDGES, IDX_N, 2)),
  Group("lead", (NUM_LEAD_TIMES, 4)),                 # x (m from our front bumper), y, v, a at LEAD_TIMES
  Group("action", (2,)),                              # desired curvature (1/m, left +), desired acceleration
  Group("egomotion", (EGOMOTION_LEN,)),
)
PROB_GROUPS = (
  Group("lane_line_probs", (NUM_LANE_LINES,)),
  Group("lead_prob", (NUM_LEAD_TIMES,)),
)


def _offsets(groups: tuple[Group, ...]) -> dict[str, slice]:
  out, i = {}, 0
  for g in groups:
    out[g.name] = slice(i, i + g.size)
    i += g.size
  return out


DIST_SLICES, PROB_SLICES = _offsets(DIST_GROUPS), _offsets(PROB_GROUPS)
N_DIST = sum(g.size for g in DIST_GROUPS)
N_PROB = sum(g.size for g in PROB_GROUPS)
N_RAW = 2 * N_DIST + N_PROB          # the network's head: means, log-stds, logits (normalised units)
# the runner's one output vector: means, stds, probabilities (real units), then the next recurrent state
N_OUT = 2 * N_DIST + N_PROB + HIDDEN

WEIGHTS_FILE = "models/driving.safetensors"
RUNNER_FILE = "selfdrive/modeld/models/driving_tinygrad.pkl"
TRAIN_COMMAND = "localpilot train"
BUILD_COMMAND = "scons"
BEAM_DEFAULT = 2       # kernel search width scons compiles the runner with
