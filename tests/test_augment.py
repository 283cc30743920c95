"""Training augmentation (tools.train.augment): a mirrored window is the exact mirror image, labels included, and a
window seen from a camera moved sideways looks like what the simulator renders from there, its labels like the
simulator's truth there."""
import math
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from selfdrive.modeld.constants import DESIRE_LEN, DIST_SLICES, MODEL_CY, N_DIST, N_PROB
from selfdrive.modeld.transform import camera_from_model, model_frame_rgb, warp_nv12
from tools.sim.camera import rgb_to_nv12
from tools.sim.world import World, WorldConfig
from tools.train import augment as A
from tools.train.expert import expert_curvature

FRAME = (6, 64, 128)
finite = st.floats(-50, 50, allow_nan=False, width=32)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (2, *FRAME)), arrays(np.float32, (3, N_DIST), elements=finite),
       arrays(np.float32, (3, N_PROB), elements=st.floats(0, 1, width=32)), st.integers(0, DESIRE_LEN - 1))
def test_mirroring_twice_gives_back_the_window(frames, dist, prob, desire):
  one_hot = np.eye(DESIRE_LEN, dtype=np.float32)[[desire]]
  np.testing.assert_array_equal(A.mirror_frames(A.mirror_frames(frames)), frames)
  np.testing.assert_array_equal(A.mirror_dist(A.mirror_dist(dist)), dist)
  np.testing.assert_array_equal(A.mirror_prob(A.mirror_prob(prob)), prob)
  np.testing.assert_array_equal(A.mirror_desire(A.mirror_desire(one_hot)), one_hot)
  action = dist[:, :2]
  np.testing.assert_array_equal(A.mirror_action(A.mirror_action(action)), action)


@settings(max_examples=10, deadline=None)
@given(arrays(np.uint8, FRAME))
def test_a_mirrored_frame_is_the_picture_flipped(frame):
  np.testing.assert_array_equal(model_frame_rgb(A.mirror_frames(frame)), model_frame_rgb(frame)[:, ::-1])


def test_mirrored_labels_swap_sides():
  rng = np.random.default_rng(0)
  dist = rng.normal(size=N_DIST).astype(np.float32)
  m = A.mirror_dist(dist)
  lines, m_lines = (x[DIST_SLICES["lane_lines"]].reshape(4, -1, 2) for x in (dist, m))
  np.testing.assert_array_equal(m_lines[..., 0], -lines[::-1, :, 0])   # far left <-> far right, y negated
  np.testing.assert_array_equal(m_lines[..., 1], lines[::-1, :, 1])    # heights stay
  assert m[DIST_SLICES["action"]][0] == -dist[DIST_SLICES["action"]][0]
  assert m[DIST_SLICES["action"]][1] == dist[DIST_SLICES["action"]][1]
  plan, m_plan = dist[DIST_SLICES["plan"]].reshape(-1, 9), m[DIST_SLICES["plan"]].reshape(-1, 9)
  np.testing.assert_array_equal(m_plan[:, 0], plan[:, 0])
  np.testing.assert_array_equal(m_plan[:, 1], -plan[:, 1])
  left = np.zeros((1, DESIRE_LEN), np.float32)
  left[0, 3] = 1.0
  assert A.mirror_desire(left)[0, 4] == 1.0


def _view(world: World) -> tuple[np.ndarray, object]:
  cam = world.camera
  nv12 = rgb_to_nv12(world.render())
  warp = camera_from_model(cam.intrinsics, (cam.mount_roll, cam.mount_pitch, cam.mount_yaw))
  return warp_nv12(nv12[:cam.height], nv12[cam.height:], warp), world.ground_truth()


def test_a_shifted_frame_is_what_the_camera_sees_from_there():
  shift = 0.5
  world = World(5, WorldConfig(traffic=False))
  frame, gt = _view(world)
  st0 = world.state
  world.vehicle.state = st1 = replace(st0, x=st0.x + shift * math.sin(st0.yaw), y=st0.y - shift * math.cos(st0.yaw))
  world.s, world.d = world.road.frenet(st1.x, st1.y, world.s)   # `shift` m to the right
  moved, gt_moved = _view(world)
  rows = slice(int(MODEL_CY / 2) + 4, None)    # the road, below the horizon
  cols = slice(16, -16)                        # away from the columns a shift fills in
  diff = lambda a, b: float(np.abs(a[:4, rows, cols].astype(float) - b[:4, rows, cols]).mean())
  assert diff(A.shift_frames(frame, shift), moved) < 0.35 * diff(frame, moved)
  assert diff(A.shift_frames(frame, -shift), moved) > diff(frame, moved)   # the other way is worse than nothing

  dist = np.zeros(N_DIST, np.float32)
  dist[DIST_SLICES["lane_lines"]] = gt.lane_lines.reshape(-1)
  dist[DIST_SLICES["egomotion"].start] = st0.v
  dist[DIST_SLICES["action"].start] = expert_curvature(gt, gt.lateral_offset, st0.v)
  shifted = A.shift_dist(dist, shift)
  lines = shifted[DIST_SLICES["lane_lines"]].reshape(4, -1, 2)
  np.testing.assert_allclose(lines[:, :10, 0], gt_moved.lane_lines[:, :10, 0], atol=0.02)
  # the expert steers back from the new offset as its pure pursuit would
  want = expert_curvature(gt_moved, gt_moved.lateral_offset, st0.v)
  assert abs(shifted[DIST_SLICES["action"].start] - want) < 1e-4


def _episode(n: int = 30):
  from tools.train.data import Episode
  rng = np.random.default_rng(1)
  return Episode(0, rng.integers(0, 255, (n, *FRAME), dtype=np.uint8), rng.normal(size=(n, N_DIST)).astype(np.float32),
                 np.ones((n, N_DIST), np.float32), (rng.random((n, N_PROB)) > 0.5).astype(np.float32),
                 np.ones((n, N_PROB), np.float32), np.eye(DESIRE_LEN, dtype=np.float32)[rng.integers(0, 5, n)],
                 rng.normal(size=(n, 2)).astype(np.float32), np.ones(n, bool))


def test_the_sampler_mirrors_and_moves_whole_windows_and_keeps_states_of_unmoved_ones():
  from tools.train.train import Sampler
  ep = _episode()
  mu, sigma = np.zeros(N_DIST, np.float32), np.ones(N_DIST, np.float32)
  sampler = Sampler([ep], 3, mu, sigma)
  batch, pick = sampler.sample(np.random.default_rng(2), 64)
  kinds = set()
  for k, (_, t, mirrored, unmoved) in enumerate(pick):
    frames, tgt = ep.frames[t - 1:t + 3], ep.dist[t:t + 3]
    if mirrored:
      frames, tgt = A.mirror_frames(frames), A.mirror_dist(tgt)
      np.testing.assert_array_equal(batch["desire"][k], A.mirror_desire(ep.desire[t:t + 3]))
    if unmoved:
      np.testing.assert_array_equal(batch["frames"][k], frames)
      np.testing.assert_allclose(batch["tgt"][k], tgt, rtol=1e-6)
    else:   # moved: the lane lines moved sideways by the same amount in every frame of the window
      d = (batch["tgt"][k] - tgt)[:, DIST_SLICES["lane_lines"]].reshape(3, 4, -1, 2)
      assert np.ptp(d[..., 0]) < 1e-5 and abs(d[0, 0, 0, 0]) > 0 and np.all(d[..., 1] == 0)
    kinds.add((int(mirrored), int(unmoved)))
  assert kinds == {(0, 0), (0, 1), (1, 0), (1, 1)}
  sampler.store(pick, np.ones((64, 3, sampler.hidden[0][0].shape[1]), np.float32))
  stored = {(m, t + j) for i, t, m, unmoved in pick if unmoved for j in range(3)}
  for m in (0, 1):
    for t in range(len(ep)):
      assert bool(sampler.hidden[m][0][t].any()) == ((m, t) in stored)
