"""The built-in simulator's core: determinism, road geometry, vehicle dynamics, rendering against ground truth,
traffic behaviours, and a closed-loop lane keep."""
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal.arrays import X_IDXS
from tools.sim import constants as C
from tools.sim.camera import Camera, rgb_to_nv12
from tools.sim.render import Pose, clip_near
from tools.sim.road import SIM_ROADS, Road, RoadShape
from tools.sim.traffic import Ego, Event, EventKind
from tools.sim.vehicle import CarParams, Controls, Gear, Vehicle, VehicleState
from tools.sim.world import GroundTruth, World, WorldConfig


def lane_keeper(gt: GroundTruth, v: float, c: Controls, cruise: float = 25.0) -> None:
  """A simple P(D) driver on the ground truth: lateral offset and heading, curvature feed-forward, gap keeping."""
  lat = 0.25 * gt.lateral_offset + 0.8 * v * gt.heading_error + gt.curvature * v * v
  c.steer_torque = float(np.clip(lat / C.LAT_ACCEL_FACTOR, -1.0, 1.0))
  a = 0.4 * (cruise - v)
  if gt.lead_present:
    a = min(a, 0.25 * (gt.lead_distance - 4.0 - 1.6 * v) + 0.6 * gt.lead_v_rel + 0.5 * min(gt.lead_accel, 0.0))
  c.accel, c.long_active = float(np.clip(a, -3.5, 2.0)), True
  c.brake = float(np.clip(-a / C.MAX_BRAKE_DECEL, 0.0, 1.0)) if a < -3.5 else 0.0


def drive(world: World, seconds: float, frames: bool = False) -> list[np.ndarray]:
  c, out = Controls(), []
  for _ in range(round(seconds * C.RENDER_HZ)):
    gt = world.ground_truth()
    if frames:
      out.append(world.render())
    lane_keeper(gt, world.state.v, c)
    for _ in range(C.STEPS_PER_FRAME):
      world.step(c)
  return out


def run_vehicle(v: Vehicle, c: Controls, seconds: float) -> list[VehicleState]:
  out = []
  for _ in range(round(seconds / C.DT)):
    v.step(c)
    out.append(VehicleState(**vars(v.state)))
  return out


# --- determinism
def test_same_seed_same_world_different_seed_different_world():
  a, b, other = World(11), World(11), World(12)
  fa, fb, fo = drive(a, 3.0, True), drive(b, 3.0, True), drive(other, 3.0, True)
  assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))
  assert vars(a.state) == vars(b.state)
  ga, gb = a.ground_truth(), b.ground_truth()
  assert np.array_equal(ga.lane_lines, gb.lane_lines) and np.array_equal(ga.path, gb.path)
  assert [(c.s, c.d, c.v) for c in a.traffic.cars] == [(c.s, c.d, c.v) for c in b.traffic.cars]
  assert not any(np.array_equal(x, y) for x, y in zip(fa, fo, strict=True))
  assert fa[0].shape == (C.MODEL_RES[1], C.MODEL_RES[0], 3) and fa[0].dtype == np.uint8


# --- road
@pytest.mark.parametrize("seed", range(6))
def test_road_curvature_limit_and_length(seed):
  road = Road(np.random.default_rng(seed))
  road.ensure(25_000.0)  # over 10 minutes at 35 m/s
  assert road.length >= 25_000.0
  assert np.abs(road.k).max() <= 1.0 / C.MIN_RADIUS + 1e-9
  assert road.k.max() > 1 / 1000 and road.k.min() < -1 / 1000  # real curves, both ways
  assert np.abs(road.th).max() < math.pi / 2  # never doubles back, so never crosses itself
  lay = road.layout
  assert C.LANES_MIN <= lay.n_lanes <= C.LANES_MAX and C.LANE_WIDTH_MIN <= lay.lane_width <= C.LANE_WIDTH_MAX


def test_road_tight_curves_exist():
  roads = [Road(np.random.default_rng(s)) for s in range(8)]
  for r in roads:
    r.ensure(20_000.0)
  assert max(np.abs(r.k).max() for r in roads) > 1 / 200


def _curvatures(shape, seeds=range(12), length=30_000.0) -> np.ndarray:
  """|curvature| along these seeds' roads, every ROAD_DS metres."""
  roads = [Road(np.random.default_rng(s), shape) for s in seeds]
  for r in roads:
    r.ensure(length)
  return np.concatenate([np.abs(r.k) for r in roads])


def test_road_shape_default_is_the_simulators_roads():
  """A shape passed explicitly as the defaults draws the very same road: the simulator's seeds stay as they were."""
  a, b = Road(np.random.default_rng(9)), Road(np.random.default_rng(9), RoadShape())
  a.ensure(10_000.0)
  b.ensure(10_000.0)
  assert np.array_equal(a.x, b.x) and np.array_equal(a.k, b.k)
  # seed 9's road as it was drawn before road shapes existed (tools/sim/road.py at 7ce2962)
  assert len(a.k) == 12977 and float(np.abs(a.k).max()) == pytest.approx(0.006308834760035279, rel=1e-12)
  assert (float(a.x[-1]), float(a.y[-1])) == pytest.approx((10146.80308816364, -5281.230339338643), rel=1e-12)


def test_training_roads_are_curvier_within_their_bounds():
  from tools.train.data import TRAIN_SHAPE
  train_roads = TRAIN_SHAPE.road
  sim, train = _curvatures(SIM_ROADS), _curvatures(train_roads)
  assert sim.max() <= 1 / SIM_ROADS.min_radius + 1e-9 and train.max() <= 1 / train_roads.min_radius + 1e-9
  share = lambda k, radius: float(np.mean(k > 1 / radius))
  assert share(train, 250.0) > 2 * share(sim, 250.0), (share(train, 250.0), share(sim, 250.0))
  assert share(train, 1000.0) > share(sim, 1000.0)   # less straight road between the curves


ROAD = Road(np.random.default_rng(3))


@settings(max_examples=200, deadline=None)
@given(s=st.floats(0.0, 8000.0), d=st.floats(-20.0, 20.0), guess=st.floats(-8.0, 8.0))
def test_frenet_round_trip(s, d, guess):
  x, y = ROAD.point(np.array([s]), np.array([d]))
  s2, d2 = ROAD.frenet(float(x[0]), float(y[0]), max(s + guess, 0.0))
  assert abs(s2 - s) < 1e-6 and abs(d2 - d) < 1e-6



def test_lane_queries():
  lay = ROAD.layout
  assert lay.lane_at(lay.lane_d(0)) == 0 and lay.lane_at(lay.lane_d(lay.n_lanes - 1)) == lay.n_lanes - 1
  assert lay.line_d(0) - lay.line_d(1) == pytest.approx(lay.lane_width)
  s = np.array([1234.0])
  x, y = ROAD.lane_center(s, 0)
  assert ROAD.frenet(float(x[0]), float(y[0]), 1230.0)[1] == pytest.approx(lay.lane_d(0))
  assert float(ROAD.heading(s)[0]) == pytest.approx(ROAD.pose(1234.0)[2])
  assert float(ROAD.curvature(s)[0]) == pytest.approx(ROAD.pose(1234.0)[3])


# --- vehicle dynamics
@pytest.mark.parametrize("u", [12.0, 20.0, 30.0])
def test_constant_steering_gives_understeer_circle(u):
  v = Vehicle(state=VehicleState(v=u))
  p = v.params
  hist = run_vehicle(v, Controls(steer_torque=0.25, long_active=True), 12.0)[-300:]  # settled
  steer = math.radians(hist[-1].steer_deg)
  assert abs(hist[-1].steer_deg - hist[0].steer_deg) < 0.01 and abs(hist[-1].a_lat) < 1.0
  ds = sum(h.v for h in hist) * C.DT
  radius = ds / (hist[-1].yaw - hist[0].yaw)
  # steady state of the dynamic bicycle: delta = (l + K u^2) / R, K = m (aR/cF - aF/cR) / l
  k_us = p.mass * (p.center_to_rear / p.tire_stiffness_front - p.center_to_front / p.tire_stiffness_rear) / p.wheelbase
  expected = (p.wheelbase + k_us * hist[-1].v ** 2) / (steer / p.steer_ratio)
  assert k_us > 0  # the RAV4 understeers
  assert radius == pytest.approx(expected, rel=0.01)


def test_params_are_rav4():
  p = CarParams.rav4()
  assert 1650 < p.mass < 1750 and p.wheelbase == pytest.approx(2.69, abs=0.01) and p.steer_ratio == 15.3
  assert p.center_to_front == pytest.approx(0.44 * p.wheelbase)
  assert p.rot_inertia == pytest.approx(2500 * p.mass * p.wheelbase ** 2 / (1462 * 2.7 ** 2))


def test_standstill_is_stable():
  v = Vehicle()
  hist = run_vehicle(v, Controls(driver_torque=8.0), 3.0)
  assert all(h.v == 0.0 and h.x == 0.0 and h.y == 0.0 and h.yaw == 0.0 for h in hist)
  assert hist[-1].steer_deg > 90  # the wheel still turns at standstill


def test_low_speed_is_kinematic_and_smooth():
  v = Vehicle(state=VehicleState(v=3.0))
  hist = run_vehicle(v, Controls(driver_torque=4.0, long_active=True, accel=0.0), 6.0)
  p, h = v.params, hist[-1]
  assert all(math.isfinite(x.yaw_rate) and x.v >= 0 for x in hist)
  r_kin = h.v * math.tan(math.radians(h.steer_deg) / p.steer_ratio) / p.wheelbase
  assert h.yaw_rate == pytest.approx(r_kin, rel=0.05)
  rates = np.array([x.yaw_rate for x in hist[-200:]])
  assert np.abs(np.diff(rates)).max() < 1e-3  # no chatter
  for u in np.linspace(0.5, 6.0, 12):  # across the kinematic/dynamic blend
    st_ = run_vehicle(Vehicle(state=VehicleState(v=float(u))), Controls(driver_torque=3.0, long_active=True), 3.0)
    assert all(abs(x.yaw_rate) < 2.0 for x in st_)


def test_accelerate_brake_stop_and_stay_stopped():
  v = Vehicle()
  run_vehicle(v, Controls(long_active=True, accel=1.5), 6.0)
  assert v.state.v == pytest.approx(1.5 * 6.0, rel=0.08)
  hist = run_vehicle(v, Controls(long_active=True, accel=-3.0), 6.0)
  assert min(h.a for h in hist) == pytest.approx(-3.0, abs=0.3)
  assert v.state.v == 0.0 and all(h.v >= 0.0 for h in hist)
  x = v.state.x
  run_vehicle(v, Controls(long_active=True, accel=-3.0), 2.0)
  assert v.state.v == 0.0 and v.state.x == x  # no creeping backwards
  v2 = Vehicle(state=VehicleState(v=30.0))
  coast = run_vehicle(v2, Controls(), 2.0)
  assert -1.0 < coast[-1].a < -0.2  # drag and rolling resistance
  hard = run_vehicle(v2, Controls(brake=1.0), 1.0)
  assert hard[-1].a == pytest.approx(-C.MAX_BRAKE_DECEL, abs=0.5)
  power = run_vehicle(Vehicle(state=VehicleState(v=30.0)), Controls(gas=1.0), 1.0)
  assert power[-1].a < C.MAX_POWER_W / (C.RAV4_MASS * 30.0)  # power limited at speed


def test_park_holds_the_car():
  v = Vehicle()
  run_vehicle(v, Controls(gas=1.0, gear=Gear.PARK), 2.0)
  assert v.state.v == 0.0 and v.state.gear == Gear.PARK


def test_steering_rate_and_torque_limits():
  v = Vehicle(state=VehicleState(v=2.0))
  hist = run_vehicle(v, Controls(steer_torque=5.0, driver_torque=100.0, long_active=True), 3.0)
  assert max(abs(h.steer_rate_dps) for h in hist) <= C.STEER_RATE_MAX_DPS + 1e-6
  assert max(abs(h.eps_torque) for h in hist) <= C.EPS_MAX_NM + 1e-9
  assert max(abs(h.steer_deg) for h in hist) <= C.MAX_WHEEL_DEG + 1e-9
  v = Vehicle(state=VehicleState(v=30.0))
  hist = run_vehicle(v, Controls(steer_torque=1.0, long_active=True), 4.0)
  assert hist[-1].a_lat == pytest.approx(C.LAT_ACCEL_FACTOR - C.STEER_FRICTION, rel=0.1)  # full EPS torque


def test_wheel_returns_to_center_without_torque():
  v = Vehicle(state=VehicleState(v=20.0))
  run_vehicle(v, Controls(driver_torque=5.0, long_active=True), 2.0)
  assert v.state.steer_deg > 5.0
  run_vehicle(v, Controls(long_active=True), 2.0)
  assert abs(v.state.steer_deg) < 1.0 and abs(v.state.yaw_rate) < 0.01


def test_wheel_speeds():
  v = Vehicle(state=VehicleState(v=15.0))
  run_vehicle(v, Controls(driver_torque=4.0, long_active=True), 3.0)
  fl, fr, rl, rr = v.state.wheel_speeds
  assert fl < v.state.v < fr and rl == fl and rr == fr  # turning left: left wheels slower


# --- camera and rendering
def test_ground_truth_lane_lines_land_on_rendered_markings():
  for seed in range(4):
    world = World(seed, WorldConfig(traffic=False, start_lane=0, width=1164, height=874))
    drive(world, 1.0)
    gt, img = world.ground_truth(), world.render()
    lay, cam = world.road.layout, world.camera
    assert gt.lane_line_probs.tolist() == [0.0, 1.0, 1.0, 1.0 if lay.n_lanes > 1 else 0.0]
    assert np.allclose(gt.lane_lines[2, :, 0] - gt.lane_lines[1, :, 0], lay.lane_width, atol=0.05)
    assert gt.road_edges[0, 0, 0] < gt.lane_lines[1, 0, 0] < gt.lane_lines[2, 0, 0] < gt.road_edges[1, 0, 0]
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.int32)
    xs = X_IDXS.astype(np.float64)
    sel = (xs > 6.0) & (xs < 40.0)
    left = gt.lane_lines[1]  # the ego lane's left line: the solid left edge line in lane 0
    pts = np.stack([xs[sel], left[sel, 0], left[sel, 1]], axis=1)
    inside = pts + np.array([0.0, 0.6, 0.0])  # 0.6 m into the lane: asphalt
    (uv, ok), (uv_in, _) = cam.project(pts), cam.project(inside)
    assert ok.all()
    on = lum[uv[:, 1].astype(int), uv[:, 0].astype(int)]
    off = lum[uv_in[:, 1].astype(int), uv_in[:, 0].astype(int)]
    assert (on > off + 25).all(), (seed, on, off)


def test_path_is_the_lane_centre():
  world = World(2, WorldConfig(traffic=False))
  drive(world, 2.0)
  gt = world.ground_truth()
  centre = (gt.lane_lines[1, 0, 0] + gt.lane_lines[2, 0, 0]) / 2
  assert gt.path[0, 0] == pytest.approx(0.0, abs=1e-6) and gt.path[0, 1] == pytest.approx(centre, abs=0.02)
  assert np.all(np.diff(gt.path[:, 0]) >= 0) and gt.path[-1, 0] == pytest.approx(world.state.v * 10.0, rel=0.02)


def test_near_plane_clipping():
  square = np.array([[-1.0, 0.0, -2.0], [1.0, 0.0, -2.0], [1.0, 0.0, 5.0], [-1.0, 0.0, 5.0]])
  out = clip_near(square)
  assert len(out) == 4 and (out[:, 2] >= C.NEAR_Z - 1e-12).all()
  assert len(clip_near(square - np.array([0.0, 0.0, 10.0]))) == 0
  # looking backwards along the road: all but a few metres of road is behind the camera
  world = World(4, WorldConfig(traffic=False))
  st_ = world.state
  img = world.renderer.render(Pose(st_.x, st_.y, st_.yaw + math.pi, world.s), [])
  bg = cv2.LUT(world.renderer.background, world.renderer.lut)
  top = int(world.renderer.horizon - world.camera.focal * math.tan(math.radians(4.5))) - 2
  assert top > 10 and np.array_equal(img[:top], bg[:top])  # nothing folded over into the sky


def test_camera_intrinsics_scale_with_resolution():
  a, b = Camera(1164, 874), Camera(*C.FULL_RES)
  assert a.focal == pytest.approx(910.0) and b.focal / b.width == pytest.approx(a.focal / a.width)
  cam = Camera(512, 256, mount_pitch=0.02)
  assert cam.horizon_v > 128  # tilted up: the horizon drops below the centre
  uv, ok = cam.project(np.array([[10.0, 0.0, C.CAMERA_HEIGHT], [-1.0, 0.0, 0.0]]))
  assert ok.tolist() == [True, False] and uv[0, 0] == pytest.approx(256.0)


def test_nv12():
  rgb = drive(World(5), 0.05, True)[0]
  nv12 = rgb_to_nv12(rgb)
  h, w = rgb.shape[:2]
  assert nv12.shape == (h * 3 // 2, w)
  yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
  assert np.array_equal(nv12[:h].reshape(-1), yuv[:h * w])
  assert np.array_equal(nv12[h:].reshape(-1)[0::2], yuv[h * w:h * w * 5 // 4])
  back = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
  assert np.abs(back.astype(int) - rgb).mean() < 4


def test_sample_frame_saved():
  world = World(1)
  drive(world, 30.0)
  frame = world.render()
  cv2.imwrite("/tmp/sim_frame.png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  assert frame.std() > 20  # a picture, not a flat fill


# --- traffic and the closed loop
def test_traffic_behaviours_happen():
  world = World(1, WorldConfig(event_gap=(10.0, 14.0)))
  c = Controls()
  leads, cut_in_ids = [], set()
  for i in range(round(105.0 / C.DT)):
    if i % C.STEPS_PER_FRAME == 0:
      gt = world.ground_truth()
      leads.append((gt.lead_present, gt.lead_accel, gt.lead_v, gt.lead_id))
      lane_keeper(gt, world.state.v, c)
    world.step(c)
  what = {e.what for e in world.traffic.log}
  assert {"slow_down", "hard_brake", "cut_in", "stop_and_go"} <= what
  assert min(a for p, a, _, _ in leads if p) < -5.5  # a hard brake, about -6 m/s^2
  standing, longest = 0.0, 0.0
  for p, _, v, _ in leads:
    standing = standing + C.DT * C.STEPS_PER_FRAME if p and v == 0.0 else 0.0
    longest = max(longest, standing)
  assert longest > C.STOP_HOLD_S[0] - 0.5  # a stop, long enough to stop behind
  stops = [e.hold for e in world.traffic.schedule if e.kind == EventKind.STOP_AND_GO]
  assert stops and all(C.STOP_HOLD_S[0] <= h <= C.STOP_HOLD_S[1] for h in stops)
  cut_in_ids = {e.car for e in world.traffic.log if e.what == "cut_in"}
  assert cut_in_ids & {i for *_, i in leads}  # the car that cut in became the lead
  assert world.stats.collisions == 0


def test_lane_wander_moves_cars_smoothly_within_their_lanes_and_changes_nothing_else():
  """Training drives' cars drift about their lane centres; the simulator's stay on them, and the drift draws on its
  own random stream: the same seed schedules the same events and spawns the same cars either way."""
  plain, wandering = World(1003, WorldConfig()), World(1003, WorldConfig(lane_wander=0.5))
  lay = wandering.road.layout
  offsets, rates = [], []
  for _ in range(round(60.0 / C.DT)):
    for w in (plain, wandering):
      w.step(Controls(gas=0.2))
    for c in wandering.traffic.cars:
      if c.lc_t0 < 0:
        offsets.append(c.d - lay.lane_d(lay.lane_at(c.d)))
        rates.append(c.d_rate)
  assert all(c.d == lay.lane_d(lay.lane_at(c.d)) for c in plain.traffic.cars if c.lc_t0 < 0)
  assert np.max(np.abs(offsets)) <= C.LANE_WANDER_MAX_M + 1e-9 and np.std(offsets) > 0.15
  assert np.percentile(np.abs(rates), 99) < 1.0   # a drift, not a jitter: the renderer turns d_rate into heading
  assert plain.traffic.schedule == wandering.traffic.schedule
  assert [c.kind for c in plain.traffic.cars[:3]] == [c.kind for c in wandering.traffic.cars[:3]]


def test_straight_drive_stays_in_lane():
  world = World(6, WorldConfig(traffic=False, start_speed=20.0))
  world.vehicle.state.yaw += 0.02  # start a little crooked
  c = Controls(long_active=True)
  worst = 0.0
  for i in range(round(20.0 / C.DT)):  # the drive starts on a straight of ROAD_START_STRAIGHT_M
    if i % C.STEPS_PER_FRAME == 0:
      gt = world.ground_truth()
      c.steer_torque = float(np.clip(0.2 * gt.lateral_offset + 0.5 * gt.heading_error * world.state.v, -1, 1))
      worst = max(worst, abs(gt.lateral_offset))
      assert gt.curvature == 0.0
    world.step(c)
  assert world.stats.lane_departures == 0 and world.stats.off_road_time == 0.0 and worst < 0.5
  assert world.stats.distance > 350 and abs(world.ground_truth().lateral_offset) < 0.4  # column friction leaves some


def test_engaged_driver_raises_a_slow_set_speed_to_cruising_speed():
  """SET takes the speed of the moment; engaged, the driver pushes the stalk up a step a second until cruising."""
  from tools.sim.driver import CRUISE_SPEED, SET_SPEED_PRESS_S, ScriptedDriver
  world = World(2, WorldConfig(traffic=False))
  gt, driver = world.ground_truth(), ScriptedDriver()
  pushes = []
  for _ in range(round(3.0 / C.DT)):
    action = driver.step(world, gt, True, 10.0)
    assert action.torque == 0.0 and action.gas == 0.0 and action.brake == 0.0   # hands and feet off
    if action.inputs.cruise_accel:
      pushes.append(world.t)
    world.step(Controls())
  assert len(pushes) == 3 and np.allclose(np.diff(pushes), SET_SPEED_PRESS_S, atol=C.DT * 1.5)
  assert not driver.step(world, gt, True, CRUISE_SPEED).inputs.cruise_accel       # there already
  assert not driver.step(world, gt, False, 10.0).inputs.cruise_accel              # not engaged: nothing to raise


@settings(max_examples=100, deadline=None)
@given(v=st.floats(0.0, 40.0), v0=st.floats(0.2, 40.0))
def test_traffic_on_a_free_road_eases_off_above_its_speed(v, v0):
  """A car faster than it wants to be, with nothing ahead, slows gently (no emergency braking out of nowhere)."""
  from tools.sim.traffic import Traffic
  a = Traffic.idm(v, v0, math.inf, 0.0)
  assert -C.IDM_ACCEL - 1e-9 <= a <= C.IDM_ACCEL + 1e-9
  assert (a < 0) == (v > v0) or abs(v - v0) < 1e-6


def test_a_cut_in_leaves_the_ego_room_to_brake():
  """A car in the next lane cuts in ahead of the ego only where the ego, closing on it, would not reach it within
  CUT_IN_MIN_TTC_S: one 6 m/s slower 7 m ahead (seed 191: 1.2 s, from the radar's blind side) waits; at the ego's
  pace it cuts in."""
  world = World(1, WorldConfig(traffic=False))
  traffic = world.traffic
  ego = Ego(world.s, world.d, 18.0, world.vehicle.params.length)
  lay = traffic.layout
  neighbour = lay.lane_d(lay.lane_at(ego.d)) + lay.lane_width
  cut_in = Event(0.0, EventKind.CUT_IN, 0.0, 0.0, 3.0)
  for closing, fires in ((6.0, False), (1.0, True)):
    car = traffic.spawn(0.0, neighbour, ego.v - closing)
    car.s = ego.s + ego.length / 2 + 7.0 + car.length / 2   # its rear bumper 7 m ahead of the ego's front one
    assert traffic._fire(cut_in, ego, 0.0) is fires
    assert (car.lc_t0 >= 0.0) is fires
    traffic.cars.remove(car)


def cut_in_beside_a_lead(ahead_m: float, behind: bool = False):
  """The simulator's traffic with a car in the next lane 10 m ahead of the ego, its front ahead_m behind the ego's
  lead, all at 18 m/s (and, if behind, a car alongside it in the ego's lane); the cut-in event, the ego, that car."""
  world = World(1, WorldConfig(traffic=False))
  traffic = world.traffic
  ego = Ego(world.s, world.d, 18.0, world.vehicle.params.length)
  lay = traffic.layout
  own = lay.lane_d(lay.lane_at(ego.d))
  car = traffic.spawn(0.0, own + lay.lane_width, ego.v)
  car.s = ego.s + ego.length / 2 + 10.0 + car.length / 2   # its rear bumper 10 m ahead of the ego's front one
  lead = traffic.spawn(0.0, own, ego.v)
  lead.s = car.s + car.length / 2 + ahead_m + lead.length / 2
  if behind:
    traffic.spawn(car.s - 1.0, own, ego.v)
  return traffic, Event(0.0, EventKind.CUT_IN, 0.0, 0.0, 3.0), ego, car


@pytest.mark.parametrize("ahead_m, behind, fires", [(8.0, False, True), (3.0, False, False), (-1.0, False, False),
                                                    (30.0, True, False)])
def test_a_cut_in_needs_room_in_the_lane_it_pulls_into(ahead_m, behind, fires):
  """A car cuts in only with the room ahead the ego is given behind it (seed 900211: one pulled in with its front
  0.9 m into the ego's lead) and no car alongside it in that lane: 8 m behind the ego's lead at 18 m/s it cuts in
  (0.3 s is 5.4 m); 3 m behind it or overlapping it, or with a car alongside, it waits."""
  traffic, cut_in, ego, car = cut_in_beside_a_lead(ahead_m, behind)
  assert traffic._fire(cut_in, ego, 0.0) is fires
  assert (car.lc_t0 >= 0.0) is fires


def test_a_car_that_cut_in_accepts_its_short_gap():
  """A car that cut in 8 m behind the ego's lead eases off (its cut-in behaviour brakes at 2 m/s^2) instead of
  braking as plain IDM does to open the gap to 1.4 s (4 m/s^2 here, up to 8); it is back to IDM_TIME_GAP after
  CUT_IN_RELAX_S."""
  traffic, cut_in, ego, car = cut_in_beside_a_lead(8.0)
  assert traffic._fire(cut_in, ego, 0.0)
  assert car.time_gap < 0.5
  accels, t = [], 0.0
  while t < C.CUT_IN_RELAX_S:
    t += C.DT
    ego.s += ego.v * C.DT
    traffic.step(t, C.DT, ego)
    accels.append(car.a)
  assert min(accels) > -2.1
  assert car.time_gap == C.IDM_TIME_GAP


def test_driver_takes_the_foot_off_the_brake_before_pressing_set():
  """Brake released and SET pressed in one step let the car's cruise frame say engaged before its brake frame said
  released: the safety model refused the engagement and selfdrived disengaged on controlsMismatch."""
  from tools.sim.driver import BRAKE_TO_SET_S, ENGAGE_AFTER_S, ScriptedDriver
  world = World(2, WorldConfig(traffic=False))
  world.state.v = 30.0   # faster than the driver cruises: it brakes down to its speed
  driver = ScriptedDriver(calm_since=-ENGAGE_AFTER_S)
  braked, set_at = [], None
  while set_at is None and world.t < 30.0:
    action = driver.step(world, world.ground_truth(), False)
    if action.brake > 0.0:
      braked.append(world.t)
    if action.inputs.cruise_set:
      set_at = world.t
    world.step(Controls(driver_torque=action.torque, gas=action.gas, brake=action.brake))
  assert braked and set_at is not None, "the driver never braked, or never engaged"
  assert set_at - braked[-1] >= 0.25, "SET pressed as the foot left the brake (the car's frames come every 10-100 ms)"
  assert set_at - braked[-1] < BRAKE_TO_SET_S + 2 * C.DT, "calm for long enough: SET as soon as the foot is off"
