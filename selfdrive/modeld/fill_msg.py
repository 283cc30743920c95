"""ModelOutput -> modelV2: every array of MODEL_V2_SHAPES, the action, and a confidence."""
import numpy as np

from cereal.arrays import MODEL_V2_SHAPES, T_IDXS, pack
from selfdrive.modeld.model import ModelOutput

STOP_SPEED = 0.5               # m/s: a plan slower than this over its first STOP_HORIZON_S means stop
STOP_HORIZON_S = 1.0
CONFIDENCE_T_S = 2.0           # confidence from the plan's lateral std this far ahead
CONFIDENCE_STD_M = (0.5, 1.5)  # below the first: green, below the second: yellow, else red


def orientation(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(33, 3) roll, pitch, yaw along the planned path and their rates (the model plans positions, not poses)."""
  yaw = np.arctan2(np.gradient(position[:, 1]), np.gradient(position[:, 0]) + 1e-6)
  ori, rate = np.zeros_like(position), np.zeros_like(position)
  ori[:, 2], rate[:, 2] = yaw, np.gradient(yaw, T_IDXS)
  return ori, rate


def fill_model_msg(md, out: ModelOutput) -> None:
  """Write one frame's outputs into a ModelDataV2 builder (frame ids and timing are the caller's)."""
  m, s, p = out.mean, out.std, out.prob
  plan, plan_std = m["plan"], s["plan"]
  ori, ori_rate = orientation(plan[:, :3])
  lead = np.concatenate([m["lead"][:, :2], m["lead"][:, 2:4], p["lead_prob"][:, None], s["lead"][:, :1]], axis=1)
  arrays = {
    "position": plan[:, 0:3], "positionStd": plan_std[:, 0:3], "velocity": plan[:, 3:6], "acceleration": plan[:, 6:9],
    "orientation": ori, "orientationRate": ori_rate,
    "laneLines": m["lane_lines"], "laneLineStds": s["lane_lines"][..., 0], "laneLineProbs": p["lane_line_probs"],
    "roadEdges": m["road_edges"], "roadEdgeStds": s["road_edges"][..., 0],
    "leads": lead, "egomotion": np.concatenate([m["egomotion"], s["egomotion"]]),
  }
  for name, shape in MODEL_V2_SHAPES.items():
    setattr(md, name, pack(arrays[name].astype(np.float32), shape))
  md.action.desiredCurvature = float(m["action"][0])
  md.action.desiredAcceleration = float(m["action"][1])
  md.action.shouldStop = bool(np.max(np.interp([0.0, STOP_HORIZON_S], T_IDXS, plan[:, 3])) < STOP_SPEED)
  lat_std = float(np.interp(CONFIDENCE_T_S, T_IDXS, plan_std[:, 1]))
  md.confidence = "green" if lat_std < CONFIDENCE_STD_M[0] else "yellow" if lat_std < CONFIDENCE_STD_M[1] else "red"
