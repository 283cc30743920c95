"""Augmenting a training window: mirrored left-right, and seen from a camera moved sideways, every label moved with
the frames.

Mirroring. A mirrored drive is a drive the simulator could have made (on a mirrored road), so mirroring doubles the
data for nothing; above all it means the model cannot learn a side: from data that drifts left as often as right,
whatever lateral bias a camera mount or a road layout would teach cancels, and the lane's position is only to be had
from what the picture shows. The model frame's principal point (MODEL_CX = W/2) is half a pixel off the flip's axis
((W-1)/2): a mirrored frame is what a camera yawed by 0.12 degrees would see, well inside the warp's own calibration
noise. Car frame: x forward, y right, z down. Mirroring negates every y (positions, velocities, accelerations, lateral
offsets), every rotation about x or z (roll and yaw rates, curvature), swaps left and right (lane lines, road edges,
their probabilities, the left / right desires) and leaves x, z, speeds and rotations about y alone.

Moving sideways. The wandering expert puts the car off the lane centre, but every drive's offsets come with its own
road and light, and a small network learns those sooner than the few pixels the lines move by: it predicts each
drive's usual lane and is blind to where the car really is. A camera moved by `shift` metres to the right sees
every ground point `shift` further left, which in the model frame is a horizontal shift growing linearly below the
horizon: `shift * (row - horizon) / camera height` pixels. So each window can be shown as if the car were off by
another `shift`, on the very same scene, with the labels moved to match: lines, edges, path and lead `shift` further
left, and the expert's curvature towards the reference `2 shift / lookahead^2` more to the left, as its pure
pursuit would steer. What stands above the road (cars, poles) is sheared a little, as in openpilot's augmentation.
"""
import numpy as np

from selfdrive.controls.lib.desire_helper import Desire
from selfdrive.modeld.constants import (
  DESIRE_LEN,
  DIST_GROUPS,
  DIST_SLICES,
  MODEL_CY,
  N_DIST,
  N_PROB,
  PROB_SLICES,
  pursuit_curvature,
)
from tools.sim.constants import CAMERA_HEIGHT

DESIRE_PAIRS = ((Desire.turnLeft, Desire.turnRight), (Desire.laneChangeLeft, Desire.laneChangeRight),
                (Desire.keepLeft, Desire.keepRight))
# luma sub-planes (even/odd rows x even/odd columns, transform.warp_nv12's order): a flip swaps even and odd columns
LUMA_PLANES_MIRRORED = (2, 3, 0, 1)


def _dist_mirror() -> tuple[np.ndarray, np.ndarray]:
  """(source index, sign) per DIST element: mirrored[i] = sign[i] * labels[source[i]]."""
  src, sign = np.arange(N_DIST), np.ones(N_DIST, np.float32)
  for g in DIST_GROUPS:
    sl = DIST_SLICES[g.name]
    idx = np.arange(sl.start, sl.stop).reshape(g.shape)
    s = np.ones(g.shape, np.float32)
    if g.name == "plan":                      # position, velocity, acceleration xyz: y is 1, 4, 7
      s[:, [1, 4, 7]] = -1
    elif g.name in ("lane_lines", "road_edges"):   # (line, distance, (y, z)), lines ordered left to right
      idx, s[..., 0] = idx[::-1], -1
    elif g.name == "lead":                    # x, y, v, a
      s[:, 1] = -1
    elif g.name == "action":                  # curvature, acceleration
      s[0] = -1
    elif g.name == "egomotion":               # velocity xyz, rotation rate xyz
      s[[1, 3, 5]] = -1
    else:
      raise AssertionError(f"no mirror for output group {g.name}")
    src[sl], sign[sl] = idx.reshape(-1), s.reshape(-1)
  return src, sign


def _prob_mirror() -> np.ndarray:
  src = np.arange(N_PROB)
  sl = PROB_SLICES["lane_line_probs"]
  src[sl] = src[sl][::-1]
  return src


def _desire_mirror() -> np.ndarray:
  src = np.arange(DESIRE_LEN)
  for a, b in DESIRE_PAIRS:
    src[a], src[b] = b, a
  return src


DIST_SOURCE, DIST_SIGN = _dist_mirror()
PROB_SOURCE = _prob_mirror()
DESIRE_SOURCE = _desire_mirror()
ACTION_SIGN = np.array([-1.0, 1.0], np.float32)   # the dynamics input: curvature, acceleration


def mirror_frames(frames: np.ndarray) -> np.ndarray:
  """(..., 6, h, w) warped frames -> the same frames flipped left-right."""
  out = np.empty_like(frames)
  for dst, src in enumerate(LUMA_PLANES_MIRRORED):
    out[..., dst, :, :] = frames[..., src, :, ::-1]
  out[..., 4:, :, :] = frames[..., 4:, :, ::-1]
  return out


def mirror_dist(dist: np.ndarray) -> np.ndarray:
  """(..., N_DIST) label means mirrored."""
  return dist[..., DIST_SOURCE] * DIST_SIGN


def mirror_mask(mask: np.ndarray) -> np.ndarray:
  return mask[..., DIST_SOURCE]


def mirror_prob(prob: np.ndarray) -> np.ndarray:
  return prob[..., PROB_SOURCE]


def mirror_desire(desire: np.ndarray) -> np.ndarray:
  return desire[..., DESIRE_SOURCE]


def mirror_action(action: np.ndarray) -> np.ndarray:
  return action * ACTION_SIGN


def _lateral_mask() -> np.ndarray:
  """1 on every DIST element that is a lateral position (what a sideways move of the camera changes by -shift)."""
  m = np.zeros(N_DIST, np.float32)
  for name, col in (("plan", 1), ("lane_lines", 0), ("road_edges", 0), ("lead", 1)):
    g = next(g for g in DIST_GROUPS if g.name == name)
    v = m[DIST_SLICES[name]].reshape(g.shape)
    v[..., col] = 1.0
    m[DIST_SLICES[name]] = v.reshape(-1)
  return m


LATERAL = _lateral_mask()
CURVATURE = DIST_SLICES["action"].start
SPEED = DIST_SLICES["egomotion"].start


def shift_frames(frames: np.ndarray, shift: float) -> np.ndarray:
  """(..., 6, h, w) warped frames as a camera `shift` m to the right of this one would see the road (bilinear, the
  edge columns repeated where the picture has nothing)."""
  h, w = frames.shape[-2:]
  rows = (np.arange(h) + 0.5) * 2.0 - 0.5        # a half-resolution row's centre in model-frame pixels
  # a ground point at model row v moves (v - cy) * shift / height pixels left: sample that far to the right
  src = np.arange(w)[None, :] + np.maximum(rows - MODEL_CY, 0.0)[:, None] * shift / CAMERA_HEIGHT / 2.0
  i0 = np.floor(src).astype(np.int64)
  frac = (src - i0).astype(np.float32)
  i0, i1 = np.clip(i0, 0, w - 1), np.clip(i0 + 1, 0, w - 1)
  r = np.arange(h)[:, None]
  f = frames.astype(np.float32)
  out = f[..., r, i0] * (1.0 - frac) + f[..., r, i1] * frac
  return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def shift_dist(dist: np.ndarray, shift: float) -> np.ndarray:
  """(..., N_DIST) label means as seen from `shift` m further right."""
  out = dist - LATERAL * shift
  # the pursuit is linear in the offset: the shift adds its own correction on top of the label's
  out[..., CURVATURE] = dist[..., CURVATURE] + pursuit_curvature(0.0, shift, 0.0, dist[..., SPEED])
  return out
