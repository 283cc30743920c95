"""Pinhole road camera: intrinsics, its (slightly crooked) mount on the car, projection, and RGB -> NV12.

Frames, as openpilot names them: car frame x forward, y right, z down, origin at the camera (the ground is at
z = +height); device frame is the car frame turned by the mount's roll, pitch, yaw; view frame is x right,
y down, z forward, which the intrinsics turn into pixels. Positive mount pitch tilts the camera up, positive yaw
turns it right.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

from tools.sim.constants import CAMERA_HEIGHT, FOCAL_REF, MODEL_RES, MOUNT_PITCH_MAX, MOUNT_YAW_MAX, WIDTH_REF

VIEW_FROM_DEVICE = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def rot_from_euler(roll: float, pitch: float, yaw: float) -> np.ndarray:
  """Rotation R = Rz(yaw) Ry(pitch) Rx(roll), openpilot's convention."""
  cr, sr, cp, sp = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch)
  cy, sy = math.cos(yaw), math.sin(yaw)
  rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
  ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
  rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
  return rz @ ry @ rx


@dataclass(frozen=True)
class Camera:
  width: int = MODEL_RES[0]
  height: int = MODEL_RES[1]
  mount_roll: float = 0.0
  mount_pitch: float = 0.0
  mount_yaw: float = 0.0
  mount_height: float = CAMERA_HEIGHT

  @staticmethod
  def sample(rng: np.random.Generator, width: int, height: int) -> "Camera":
    """A camera with this seed's small mounting error, which calibration has to learn."""
    return Camera(width, height, 0.0, float(rng.uniform(-MOUNT_PITCH_MAX, MOUNT_PITCH_MAX)),
                  float(rng.uniform(-MOUNT_YAW_MAX, MOUNT_YAW_MAX)))

  @property
  def focal(self) -> float:
    return FOCAL_REF * self.width / WIDTH_REF

  @property
  def intrinsics(self) -> np.ndarray:
    f = self.focal
    return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

  @property
  def view_from_car(self) -> np.ndarray:
    """Rotation taking car-frame vectors into the view frame (the mount's error included)."""
    return VIEW_FROM_DEVICE @ rot_from_euler(self.mount_roll, self.mount_pitch, self.mount_yaw).T

  @property
  def horizon_v(self) -> float:
    """Image row of the horizon (exact for zero roll)."""
    d = self.view_from_car @ np.array([1.0, 0.0, 0.0])
    return self.height / 2 + self.focal * d[1] / d[2]

  def project(self, pts_car: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 2) of car-frame points (N, 3), and a mask of those in front of the camera."""
    v = pts_car @ self.view_from_car.T
    z = v[:, 2]
    ok = z > 1e-6
    zs = np.where(ok, z, 1.0)
    f = self.focal
    return np.stack([self.width / 2 + f * v[:, 0] / zs, self.height / 2 + f * v[:, 1] / zs], axis=1), ok


def rgb_to_nv12(rgb: np.ndarray) -> np.ndarray:
  """NV12 (H*3/2, W): the Y plane, then interleaved U, V at half resolution, as VisionIPC stores it."""
  h, w = rgb.shape[:2]
  i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
  n = h * w
  out = np.empty((h * 3 // 2, w), dtype=np.uint8)
  out[:h] = i420[:n].reshape(h, w)
  uv = out[h:].reshape(-1, 2)
  uv[:, 0] = i420[n:n + n // 4]
  uv[:, 1] = i420[n + n // 4:]
  return out
