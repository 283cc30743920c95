"""Camera frame -> model frame: one homography from the camera's intrinsics and its calibration (roll, pitch, yaw
of the camera against the car), applied to the NV12 planes with OpenCV.

Camera and model frame share their origin, so the warp is a pure rotation plus a change of intrinsics:
  model pixel -> model ray -> car frame -> camera's view frame (through the calibration) -> camera pixel.
"""
import cv2
import numpy as np

from selfdrive.modeld.constants import FRAME_CHANNELS, MODEL_CX, MODEL_CY, MODEL_FOCAL, MODEL_H, MODEL_W
from tools.sim.camera import VIEW_FROM_DEVICE, rot_from_euler

MODEL_INTRINSICS = np.array([[MODEL_FOCAL, 0.0, MODEL_CX], [0.0, MODEL_FOCAL, MODEL_CY], [0.0, 0.0, 1.0]])
# chroma pixel i covers luma pixels 2i, 2i+1: centre 2i + 0.5
_LUMA_FROM_CHROMA = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
_WARP_FLAGS = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP


def view_from_car(rpy: tuple[float, float, float]) -> np.ndarray:
  """Rotation taking car-frame vectors into the view frame of a camera mounted at roll, pitch, yaw."""
  return VIEW_FROM_DEVICE @ rot_from_euler(*rpy).T


def camera_from_model(intrinsics: np.ndarray, rpy: tuple[float, float, float]) -> np.ndarray:
  """Homography taking model-frame pixels to camera pixels (what cv2's WARP_INVERSE_MAP wants)."""
  car_from_model_view = VIEW_FROM_DEVICE.T
  return np.asarray(intrinsics, np.float64) @ view_from_car(rpy) @ car_from_model_view @ \
    np.linalg.inv(MODEL_INTRINSICS)


def warp_nv12(y: np.ndarray, uv: np.ndarray, cam_from_model: np.ndarray) -> np.ndarray:
  """NV12 planes (y: H x W, uv: H/2 x W interleaved) -> (6, MODEL_H/2, MODEL_W/2) uint8: the model frame's four luma
  sub-planes (even/odd rows x even/odd columns, openpilot's order), then U and V. Outside the camera's view is black."""
  y_m = cv2.warpPerspective(y, cam_from_model, (MODEL_W, MODEL_H), flags=_WARP_FLAGS, borderValue=0)
  uv2 = np.ascontiguousarray(uv).reshape(uv.shape[0], uv.shape[1] // 2, 2)
  uv_h = np.linalg.inv(_LUMA_FROM_CHROMA) @ cam_from_model @ _LUMA_FROM_CHROMA
  uv_m = cv2.warpPerspective(uv2, uv_h, (MODEL_W // 2, MODEL_H // 2), flags=_WARP_FLAGS, borderValue=(128, 128))
  out = np.empty((FRAME_CHANNELS, MODEL_H // 2, MODEL_W // 2), np.uint8)
  out[0], out[1], out[2], out[3] = y_m[0::2, 0::2], y_m[1::2, 0::2], y_m[0::2, 1::2], y_m[1::2, 1::2]
  out[4], out[5] = uv_m[..., 0], uv_m[..., 1]
  return out


def model_frame_rgb(frame: np.ndarray) -> np.ndarray:
  """A warped (6, h, w) frame back to an RGB picture of the model frame, for eyes and debugging."""
  y = np.empty((MODEL_H, MODEL_W), np.uint8)
  y[0::2, 0::2], y[1::2, 0::2], y[0::2, 1::2], y[1::2, 1::2] = frame[:4]
  u = cv2.resize(frame[4], (MODEL_W, MODEL_H), interpolation=cv2.INTER_NEAREST)
  v = cv2.resize(frame[5], (MODEL_W, MODEL_H), interpolation=cv2.INTER_NEAREST)
  return cv2.cvtColor(np.stack([y, u, v], -1), cv2.COLOR_YUV2RGB)
