"""The vanishing point modeld finds for calibrationd: its geometry, and the pitch it reads on simulator drives."""
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfdrive.modeld.vanishing_point import find, horizon_row, mount_angles
from tests.test_sim import drive
from tools.sim.camera import Camera
from tools.sim.world import World

ANGLE = st.floats(-math.radians(5), math.radians(5))


@settings(max_examples=60, deadline=None)
@given(ANGLE, ANGLE, ANGLE, st.sampled_from([(512, 256), (1164, 874), (1928, 1208)]))
def test_mount_angles_invert_the_projection(roll, pitch, yaw, size):
  """Where a camera mounted at (roll, pitch, yaw) shows straight ahead gives back its pitch and yaw."""
  cam = Camera(*size, roll, pitch, yaw)
  (u, v), = cam.project(np.array([[1e7, 0.0, -cam.mount_height]]))[0]
  assert horizon_row(cam.intrinsics, (roll, pitch, yaw)) == pytest.approx(v, abs=1e-3)
  assert mount_angles(cam.intrinsics, u, v, roll) == pytest.approx((pitch, yaw), abs=1e-5)


def test_nothing_to_find_in_a_blank_frame():
  assert find(np.full((256, 512), 90, np.uint8), 128.0) is None


def test_lines_meeting_at_a_point_are_found_there():
  """Straight lines drawn towards one point, at a camera's full resolution (searched at WORK_WIDTH)."""
  img = np.full((874, 1164), 80, np.uint8)
  vp = (600.0, 420.0)
  for x_bottom in (-400, 100, 500, 800, 1300, 1700):
    t = 0.1   # start the line a little below the point: it is searched for below the horizon only
    start = (vp[0] + t * (x_bottom - vp[0]), vp[1] + t * (874 - vp[1]))
    cv2.line(img, (round(start[0] * 16), round(start[1] * 16)), (x_bottom * 16, 874 * 16), 230, 6, cv2.LINE_AA, 4)
  got = find(img, 410.0)
  assert got is not None and got.segments >= 4
  assert (got.u, got.v) == pytest.approx(vp, abs=1.5)


@pytest.mark.parametrize("seed", [5, 12, 21])
def test_reads_the_mount_pitch_of_simulator_drives(seed):
  """On drives it was never tuned on, the median of a few seconds of frames is within 0.15 degrees of the pitch the
  camera is mounted at; the yaw (which curves and the car's heading in its lane move sideways) within 0.5."""
  world = World(seed)
  cam = world.camera
  frames = drive(world, 6.0, frames=True)[::3]
  found = [find(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), horizon_row(cam.intrinsics, (0.0, 0.0, 0.0))) for f in frames]
  angles = np.array([mount_angles(cam.intrinsics, vp.u, vp.v) for vp in found if vp is not None])
  assert len(angles) >= 0.9 * len(frames)
  pitch, yaw = np.median(angles, axis=0)
  assert math.degrees(abs(pitch - cam.mount_pitch)) < 0.15
  assert math.degrees(abs(yaw - cam.mount_yaw)) < 0.5
