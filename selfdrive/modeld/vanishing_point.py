"""Where the road's straight lines meet in the road-camera image, and the camera pitch and yaw that point implies.

On a flat road every lane marking, road edge and seam runs horizontally, so the image lines they make meet on the
horizon; the horizon's row tells the camera's pitch against the car, and on a straight road the point's column its yaw
(calibrationd takes the median of both). A pitch left uncalibrated is costly: the model reads distance from how far
below the horizon the road is, and 1.3 degrees off (a camera tilted down a little) read a 275 m bend at a seventh of
its curvature 20 m ahead.

Straight segments (Canny edges, probabilistic Hough) below the expected horizon, neither near-horizontal (dash ends,
car bottoms) nor near-vertical (posts, car sides), are intersected by weighted least squares, each weighted by its
length, then again with a Cauchy weight on its distance from the point, so that segments of other directions (a car,
a shadow) count little. Segment positions, not local gradient directions, fix the point: on simulator frames the
per-pixel gradient estimate read the horizon 1-3 px low (smoothing bends the gradients of converging lines), the
segments within 0.3 px.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

from selfdrive.modeld.transform import view_from_car

WORK_WIDTH = 512           # px: frames are searched at this width (every pixel figure below is at it)
HORIZON_MARGIN = 6         # px: the search starts this far below the expected horizon
BOTTOM = 0.92              # of the height: below this a car's own hood may show
CANNY_LOW, CANNY_HIGH = 50, 150
HOUGH_VOTES = 20
MIN_SEGMENT = 30           # px
MAX_GAP = 3                # px
MIN_SEGMENTS = 4
SLANT_MIN, SLANT_MAX = math.radians(5), math.radians(80)   # against the image rows
CAUCHY_PX = 3.0
ITERATIONS = 5


@dataclass(frozen=True)
class VanishingPoint:
  u: float                 # camera pixels
  v: float
  segments: int            # how many segments met there


def horizon_row(intrinsics: np.ndarray, rpy: tuple[float, float, float]) -> float:
  """Image row where straight ahead (the car's x axis) shows, for a camera mounted at roll, pitch, yaw."""
  ray = np.asarray(intrinsics, np.float64) @ view_from_car(rpy) @ np.array([1.0, 0.0, 0.0])
  return float(ray[1] / ray[2])


def mount_angles(intrinsics: np.ndarray, u: float, v: float, roll: float = 0.0) -> tuple[float, float]:
  """The (pitch, yaw) of a camera at this roll whose straight ahead shows at pixel (u, v)."""
  ray = np.linalg.solve(np.asarray(intrinsics, np.float64), np.array([u, v, 1.0]))
  # the roll undone, straight ahead is Ry(p)^T Rz(y)^T (1, 0, 0) = (cos p cos y, -sin y, sin p cos y) (device frame)
  x, y, z = view_from_car((roll, 0.0, 0.0)).T @ ray / np.linalg.norm(ray)
  return math.atan2(z, x), math.asin(max(-1.0, min(1.0, -y)))


def find(luma: np.ndarray, horizon_v: float) -> VanishingPoint | None:
  """The point the road's lines meet at in this frame (full-resolution pixels), None without enough of them.
  horizon_v: the row the horizon is expected at (from the current calibration); the search keeps below it."""
  scale = WORK_WIDTH / luma.shape[1]
  img = luma if scale == 1.0 else cv2.resize(luma, (WORK_WIDTH, round(luma.shape[0] * scale)),
                                             interpolation=cv2.INTER_AREA)
  top = max(0, round((horizon_v + 0.5) * scale - 0.5) + HORIZON_MARGIN)
  bottom = int(img.shape[0] * BOTTOM)
  if bottom - top < MIN_SEGMENT:
    return None
  lines = cv2.HoughLinesP(cv2.Canny(img[top:bottom], CANNY_LOW, CANNY_HIGH), 1, np.pi / 360, HOUGH_VOTES,
                          minLineLength=MIN_SEGMENT, maxLineGap=MAX_GAP)
  if lines is None:
    return None
  seg = lines.reshape(-1, 4).astype(np.float64)
  seg[:, [1, 3]] += top
  dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
  length = np.hypot(dx, dy)
  slant = np.arctan2(np.abs(dy), np.abs(dx))
  keep = (slant > SLANT_MIN) & (slant < SLANT_MAX)
  if keep.sum() < MIN_SEGMENTS:
    return None
  seg, dx, dy, length = seg[keep], dx[keep], dy[keep], length[keep]
  nx, ny = -dy / length, dx / length              # unit normals: a line is n . p = c
  c = nx * seg[:, 0] + ny * seg[:, 1]
  w = length
  for _ in range(ITERATIONS):
    a = np.array([[w @ (nx * nx), w @ (nx * ny)], [w @ (nx * ny), w @ (ny * ny)]])
    if abs(np.linalg.det(a)) < 1e-9 * np.trace(a) ** 2:
      return None                                  # all parallel: they meet nowhere
    p = np.linalg.solve(a, [w @ (nx * c), w @ (ny * c)])
    w = length / (1.0 + ((nx * p[0] + ny * p[1] - c) / CAUCHY_PX) ** 2)
  u, v = (p + 0.5) / scale - 0.5   # pixel centres: the resized frame's pixel j covers the frame's [j, j+1) / scale
  return VanishingPoint(float(u), float(v), int(keep.sum()))
