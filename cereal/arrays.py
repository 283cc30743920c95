"""Raw float32 arrays inside messages: one home for their shapes and the time/distance grids they use.

Packing is one memcpy and unpacking a zero-copy view, against ~100x more for capnp lists.
"""
import numpy as np

IDX_N = 33
T_IDXS = np.array([10.0 * (i / (IDX_N - 1)) ** 2 for i in range(IDX_N)], dtype=np.float32)   # s, 0..10
X_IDXS = np.array([192.0 * (i / (IDX_N - 1)) ** 2 for i in range(IDX_N)], dtype=np.float32)  # m, 0..192

NUM_LANE_LINES = 4
NUM_ROAD_EDGES = 2
NUM_LEAD_TIMES = 3   # lead predicted at t = 0, 2, 4 s
LEAD_FIELDS = 6      # x, y, v, a, prob, xStd
DESIRE_LEN = 8

MODEL_V2_SHAPES: dict[str, tuple[int, ...]] = {
  "position": (IDX_N, 3),
  "positionStd": (IDX_N, 3),
  "velocity": (IDX_N, 3),
  "acceleration": (IDX_N, 3),
  "orientation": (IDX_N, 3),
  "orientationRate": (IDX_N, 3),
  "laneLines": (NUM_LANE_LINES, IDX_N, 2),
  "laneLineStds": (NUM_LANE_LINES, IDX_N),
  "laneLineProbs": (NUM_LANE_LINES,),
  "roadEdges": (NUM_ROAD_EDGES, IDX_N, 2),
  "roadEdgeStds": (NUM_ROAD_EDGES, IDX_N),
  "leads": (NUM_LEAD_TIMES, LEAD_FIELDS),
  "egomotion": (12,),
}


def pack(arr: np.ndarray, shape: tuple[int, ...]) -> bytes:
  if arr.shape != shape:
    raise ValueError(f"array of shape {arr.shape} where {shape} is expected")
  return np.ascontiguousarray(arr, dtype="<f4").tobytes()


def unpack(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
  """A read-only float32 view of a packed array; an empty field (never written) reads as zeros."""
  if len(data) == 0:
    return np.zeros(shape, dtype=np.float32)
  expected = int(np.prod(shape)) * 4
  if len(data) != expected:
    raise ValueError(f"packed array of {len(data)} bytes where {shape} needs {expected}")
  return np.frombuffer(data, dtype="<f4").reshape(shape)
