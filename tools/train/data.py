"""Training data from the simulator: drives with the wandering expert, each frame warped into the model frame exactly
as modeld warps it, with labels from the simulator's ground truth and the drive's own future.

One episode per seed, cached on disk: `<data>/<seed>/frames.npy` (N, 6, 64, 128) uint8 and `labels.npz`. Seeds
vary the road, lighting, camera mount and traffic; training and evaluation seeds never overlap.
"""
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cereal.arrays import T_IDXS
from selfdrive.common.errors import UserError
from selfdrive.modeld.constants import (
  DESIRE_LEN,
  DIST_GROUPS,
  DIST_SLICES,
  LEAD_TIMES,
  N_DIST,
  N_PROB,
  PROB_SLICES,
)
from selfdrive.modeld.transform import camera_from_model, warp_nv12
from tools.sim import constants as C
from tools.sim.camera import rgb_to_nv12
from tools.sim.road import SIM_ROADS, RoadShape
from tools.sim.world import World, WorldConfig
from tools.train.augment import mirror_dist, mirror_mask
from tools.train.expert import Expert

TRAIN_SEED_BASE, EVAL_SEED_BASE = 1000, 900000   # the simulator's own default seeds (0, 1, ...) are never trained on
LEAD_MAX_M = 100.0            # a lead further than this is too small to see in the model frame: "no lead"
CALIB_NOISE = math.radians(0.3)  # the warp's calibration is off by this much (1 sigma), as calibrationd's would be
GENERATE_LOG = "generate.json"  # wall seconds each cached drive took to generate (its share of a parallel run)
FPS = round(1 / (C.DT * C.STEPS_PER_FRAME))
FUTURE_FRAMES = round(float(T_IDXS[-1]) * FPS)  # a frame needs this much future for its plan label
SHAPE_FILE = "drives.json"     # the DriveShape a cache directory's drives were made with


@dataclass(frozen=True)
class DriveShape:
  """What a cache directory's drives were made with: the roads, how much other cars wander in their lanes, and how
  often the traffic's events (a lead slowing, braking hard, stopping; a neighbour cutting in) come."""
  road: RoadShape
  lane_wander: float = 0.0   # m, 1 sigma (WorldConfig.lane_wander)
  event_gap: tuple[float, float] = C.EVENT_GAP_S   # s between events (WorldConfig.event_gap)
  start_speed: tuple[float, float] = (12.0, 30.0)   # m/s, uniform


# Training roads are curvier than the simulator's (whose radii lean gentle, ~12 % of curves under 250 m): trained on
# those, the model read a 200 m bend as one of 300 m and drifted out of it. Here over a third of curves are under
# 250 m, one in eight tighter than any simulator road, with shorter straights between them.
# Other cars wander in their lanes (an aim of 0.5 m, 1 sigma; 0.26 m off on average): in the simulator's traffic a
# car ahead sits on the lane centre, so it marked the path the labels follow wherever the wandering expert was, and
# the model learnt to steer for it: a car cutting in 5-10 m ahead pulled its path 1-2 m sideways while its lane lines
# stayed right.
# Events come twice as often as in the simulator's drives (4.5 in a 90 s drive, not 2.6, counted over ten seeds): at
# the simulator's rate 40 drives held ~28 cut-ins and ~20 stop-and-go, and the model lost the road behind a car that
# had just cut in close ahead in a bend, and under-steered pulling away from a stop into one; 60 drives now hold ~70
# and ~65. Some drives start slower, for more bends taken at town speeds.
TRAIN_SHAPE = DriveShape(RoadShape(min_radius=130.0, radius_skew=1.5, straight=(40.0, 300.0)), lane_wander=0.5,
                         event_gap=(12.0, 25.0), start_speed=(8.0, 30.0))
EVAL_SHAPE = DriveShape(SIM_ROADS)   # evaluation drives are the simulator's own


@dataclass
class Episode:
  """One cached drive: frames memory-mapped, labels in memory."""
  seed: int
  frames: np.ndarray      # (N, 6, 64, 128) uint8
  dist: np.ndarray        # (N, N_DIST) float32 label means in DIST_GROUPS layout
  dist_mask: np.ndarray   # (N, N_DIST) float32 1 where the label exists
  prob: np.ndarray        # (N, N_PROB) float32 0/1
  prob_mask: np.ndarray   # (N, N_PROB)
  desire: np.ndarray      # (N, DESIRE_LEN) float32 one-hot
  action: np.ndarray      # (N, 2) the car's curvature and acceleration over the next frame (the dynamics input)
  valid: np.ndarray       # (N,) bool: every label is complete

  def __len__(self) -> int:
    return len(self.frames)


def episode_dir(root: Path, seed: int) -> Path:
  return root / f"{seed:07d}"


def _car_frame(x: np.ndarray, y: np.ndarray, pose: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
  """World ground points -> car frame (x forward, y right) at the camera of a car at pose (x, y, yaw) of its CG."""
  cx, cy, yaw = pose
  c, s = math.cos(yaw), math.sin(yaw)
  dx, dy = x - (cx + C.CAMERA_FROM_CG * c), y - (cy + C.CAMERA_FROM_CG * s)
  return dx * c + dy * s, dx * s - dy * c


def _plan_labels(world: World, rec: dict[str, np.ndarray], i: int) -> np.ndarray:
  """(33, 9) position, velocity, acceleration at T_IDXS: the reference path (lane centre, or the lane change) at the
  distance the drive actually covered, with the drive's actual speeds and accelerations along it."""
  n = len(rec["s"])
  tf = np.minimum(i + T_IDXS * FPS, n - 1)
  frames = np.arange(n)
  s_f, d_f = np.interp(tf, frames, rec["s"]), np.interp(tf, frames, rec["d_ref"])
  v_f, a_f = np.interp(tf, frames, rec["v"]), np.interp(tf, frames, rec["a"])
  px, py = world.road.point(rec["s"][i] + C.CAMERA_FROM_CG + (s_f - rec["s"][i]), d_f)
  x, y = _car_frame(px, py, (rec["x"][i], rec["y"][i], rec["yaw"][i]))
  psi = np.arctan2(np.gradient(y), np.gradient(x) + 1e-9)
  c, s = np.cos(psi), np.sin(psi)
  z = np.zeros_like(x)
  return np.stack([x, y, z, v_f * c, v_f * s, z, a_f * c, a_f * s, z], axis=1)


def _labels(world: World, rec: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  n = len(rec["s"])
  dist, dist_mask = np.zeros((n, N_DIST), np.float32), np.ones((n, N_DIST), np.float32)
  prob, prob_mask = np.zeros((n, N_PROB), np.float32), np.ones((n, N_PROB), np.float32)
  lead_fields = np.stack([rec["lead_x"], rec["lead_y"], rec["lead_v"], rec["lead_a"]], axis=1)
  lead_steps = [round(t * FPS) for t in LEAD_TIMES]
  sl, pl = DIST_SLICES, PROB_SLICES
  for i in range(n):
    dist[i, sl["plan"]] = _plan_labels(world, rec, i).reshape(-1)
    lead, lead_mask, lead_prob, lead_prob_mask = np.zeros((len(lead_steps), 4)), np.zeros((len(lead_steps), 4)), \
      np.zeros(len(lead_steps)), np.zeros(len(lead_steps))
    for k, step in enumerate(lead_steps):
      j = i + step
      if j < n:
        lead_prob[k], lead_prob_mask[k] = rec["lead_present"][j], 1.0
        if rec["lead_present"][j]:
          lead[k], lead_mask[k] = lead_fields[j], 1.0
    dist[i, sl["lead"]], dist_mask[i, sl["lead"]] = lead.reshape(-1), lead_mask.reshape(-1)
    prob[i, pl["lead_prob"]], prob_mask[i, pl["lead_prob"]] = lead_prob, lead_prob_mask
  dist[:, sl["lane_lines"]] = rec["lane_lines"].reshape(n, -1)
  dist[:, sl["road_edges"]] = rec["road_edges"].reshape(n, -1)
  dist[:, sl["action"]] = np.stack([rec["curvature"], rec["accel"]], axis=1)
  z = np.zeros(n)
  dist[:, sl["egomotion"]] = np.stack([rec["v"], z, z, z, z, -rec["yaw_rate"]], axis=1)
  prob[:, pl["lane_line_probs"]] = rec["lane_line_probs"]
  # the car's own curvature and acceleration between this frame and the next: the action the dynamics sees
  curv = rec["yaw_rate"] / np.maximum(rec["v"], 1.0)
  action = np.stack([np.append(curv[1:], curv[-1]), np.append(rec["a"][1:], rec["a"][-1])], axis=1)
  desire = np.eye(DESIRE_LEN, dtype=np.float32)[rec["desire"].astype(np.int64)]
  valid = np.arange(n) + FUTURE_FRAMES < n
  return {"dist": dist, "dist_mask": dist_mask, "prob": prob, "prob_mask": prob_mask, "desire": desire,
          "action": action.astype(np.float32), "valid": valid}


def record_episode(seed: int, seconds: float, out: Path, lane_changes: bool = True,
                   shape: DriveShape = EVAL_SHAPE) -> dict[str, float]:
  """Drive one seed for `seconds` and cache its frames and labels under `out` (written last, atomically)."""
  rng = np.random.default_rng([seed, 7])
  world = World(seed, WorldConfig(start_speed=float(rng.uniform(*shape.start_speed)), road=shape.road,
                                  lane_wander=shape.lane_wander, event_gap=shape.event_gap))
  cam = world.camera
  rpy = (cam.mount_roll, cam.mount_pitch + rng.normal() * CALIB_NOISE, cam.mount_yaw + rng.normal() * CALIB_NOISE)
  warp = camera_from_model(cam.intrinsics, rpy)
  expert = Expert(rng, lane_changes)
  keys = ("s", "d_ref", "v", "a", "x", "y", "yaw", "yaw_rate", "curvature", "accel", "desire", "lead_present",
          "lead_x", "lead_y", "lead_v", "lead_a", "lane_lines", "lane_line_probs", "road_edges")
  rec: dict[str, list] = {k: [] for k in keys}
  frames = []
  gt = world.ground_truth()
  h = cam.height
  while world.t < seconds:
    step = expert.step(world, gt)
    world.step(step.controls)
    gt = world.ground_truth()
    if not world.frame_due:
      continue
    nv12 = rgb_to_nv12(world.render())
    frames.append(warp_nv12(nv12[:h], nv12[h:], warp))
    st = world.state
    lead = gt.lead_present and gt.lead_distance < LEAD_MAX_M
    for k, v in (("s", world.s), ("d_ref", step.d_ref), ("v", st.v), ("a", st.a), ("x", st.x), ("y", st.y),
                 ("yaw", st.yaw), ("yaw_rate", st.yaw_rate), ("curvature", step.curvature), ("accel", step.accel),
                 ("desire", step.desire), ("lead_present", float(lead)), ("lead_x", gt.lead_distance if lead else 0.0),
                 ("lead_y", gt.lead_y if lead else 0.0), ("lead_v", gt.lead_v if lead else 0.0),
                 ("lead_a", gt.lead_accel if lead else 0.0), ("lane_lines", gt.lane_lines),
                 ("lane_line_probs", gt.lane_line_probs), ("road_edges", gt.road_edges)):
      rec[k].append(v)
  arr = {k: np.asarray(v, np.float64) for k, v in rec.items()}
  labels = _labels(world, arr)
  out.mkdir(parents=True, exist_ok=True)
  np.save(out / "frames.npy", np.stack(frames))
  tmp = out / "labels.tmp.npz"
  np.savez(tmp, **labels)
  os.replace(tmp, out / "labels.npz")
  return {"collisions": float(world.stats.collisions), "lane_departures": float(world.stats.lane_departures),
          "lane_changes": float(np.sum(np.diff((arr["desire"] > 0).astype(int)) == 1))}


def _record(job: tuple[int, float, str, DriveShape]) -> tuple[int, dict[str, float]]:
  seed, seconds, out, shape = job
  os.nice(5)
  return seed, record_episode(seed, seconds, Path(out), shape=shape)


def check_shape(root: Path, shape: DriveShape) -> None:
  """A cache directory holds drives of one shape: mixing in drives made with another, or reusing drives whose shape
  was not recorded, would train on a distribution nobody asked for."""
  want = json.dumps(asdict(shape))
  f = root / SHAPE_FILE
  if f.exists() and f.read_text() != want:
    raise UserError(f"{root}: its drives were made on other roads or traffic ({f.read_text()}, not {want}); delete "
                    "that directory or pass another --data")
  if not f.exists() and root.exists() and any(p.is_dir() for p in root.iterdir()):
    raise UserError(f"{root}: it holds drives made without a record of their roads and traffic ({SHAPE_FILE}); "
                    "delete that directory or pass another --data")
  root.mkdir(parents=True, exist_ok=True)
  f.write_text(want)


def generate(root: Path, seeds: list[int], seconds: float, jobs: int, desc: str, progress: bool = True,
             shape: DriveShape = EVAL_SHAPE) -> float:
  """Record every seed not already cached, `jobs` at a time, drives of this shape, with a progress bar. Returns
  the wall time spent generating these seeds, now or when they were cached (minutes)."""
  import multiprocessing as mp
  import time

  from tqdm import tqdm
  check_shape(root, shape)
  log = root / GENERATE_LOG
  spent = json.loads(log.read_text()) if log.exists() else {}
  todo = [s for s in seeds if not (episode_dir(root, s) / "labels.npz").exists()]
  if todo:
    work = [(s, seconds, str(episode_dir(root, s)), shape) for s in todo]
    t0 = time.monotonic()
    with mp.get_context("spawn").Pool(jobs) as pool, tqdm(total=len(seeds), initial=len(seeds) - len(todo), desc=desc,
                                                           unit="drive", disable=not progress) as bar:
      for _ in pool.imap_unordered(_record, work):
        bar.update()
    per_drive = (time.monotonic() - t0) / len(todo)
    spent |= {str(s): per_drive for s in todo}
    log.write_text(json.dumps(spent))
  return sum(spent.get(str(s), 0.0) for s in seeds) / 60


def load_episode(root: Path, seed: int) -> Episode:
  d = episode_dir(root, seed)
  with np.load(d / "labels.npz") as z:
    lab = {k: z[k] for k in z.files}
  frames = np.load(d / "frames.npy", mmap_mode="r")
  if len(frames) != len(lab["valid"]):
    raise ValueError(f"{d}: {len(frames)} frames but {len(lab['valid'])} labels; delete it to regenerate")
  return Episode(seed, frames, **lab)


def label_stats(episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray]:
  """Per-element mean and std of the labels (where present) and of their mirror images, as training mirrors half its
  windows: the model's output normalisation, symmetric between left and right."""
  dist = np.concatenate([e.dist[e.valid] for e in episodes]).astype(np.float64)
  mask = np.concatenate([e.dist_mask[e.valid] for e in episodes]).astype(np.float64)
  dist, mask = np.concatenate([dist, mirror_dist(dist)]), np.concatenate([mask, mirror_mask(mask)])
  cnt = np.maximum(mask.sum(0), 1.0)
  mu = (dist * mask).sum(0) / cnt
  sigma = np.sqrt((((dist - mu) * mask) ** 2).sum(0) / cnt)
  floor = np.concatenate([np.full(g.size, 0.05 if g.name != "action" else 1e-3) for g in DIST_GROUPS])
  return mu.astype(np.float32), np.maximum(sigma, floor).astype(np.float32)
