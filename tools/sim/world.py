"""The simulated world: road, ego car, traffic and camera, stepped at 100 Hz, deterministic for a seed.

Ground truth is in openpilot's car frame (x forward, y right, z down, origin at the camera, axes along the car,
not along the crooked camera mount), on openpilot's grids, so it can stand in for modelV2 directly. The ego's
true vehicle state (World.state) keeps openpilot's carState signs: angles and rates positive to the left.
"""
import math
from dataclasses import dataclass

import numpy as np

from cereal.arrays import T_IDXS, X_IDXS
from tools.sim import constants as C
from tools.sim.ecu.interface import RadarTarget
from tools.sim.render import Pose
from tools.sim.road import SIM_ROADS, RoadShape
from tools.sim.scene import LANE_RNG, TRAFFIC_RNG, Scene, world_rngs
from tools.sim.traffic import Ego, Traffic
from tools.sim.vehicle import Controls, Vehicle, VehicleState


@dataclass(frozen=True)
class WorldConfig:
  width: int = C.MODEL_RES[0]
  height: int = C.MODEL_RES[1]
  start_speed: float = 25.0
  start_lane: int = -1                   # -1: the seed picks one
  traffic: bool = True
  event_gap: tuple[float, float] = C.EVENT_GAP_S
  road: RoadShape = SIM_ROADS          # the simulator's own roads; training draws curvier ones
  lane_wander: float = 0.0             # m (1 sigma of their aim): other cars drift in their lanes (training drives)


@dataclass(frozen=True)
class GroundTruth:
  """What a perfect model would output for the current frame, plus the world's verdicts for scoring."""
  t: float
  path: np.ndarray             # (33, 3) the ego lane's centre at T_IDXS * speed ahead (z = 0: camera height)
  lane_lines: np.ndarray       # (4, 33, 2) y, z at X_IDXS: far left, left, right, far right of the ego lane
  lane_line_probs: np.ndarray  # (4,) 1 where that line exists on this road, 0 where it is extrapolated
  road_edges: np.ndarray       # (2, 33, 2) y, z at X_IDXS: left, right edge of the pavement
  lead_present: bool
  lead_id: int                 # traffic car id of the lead, -1 if none
  lead_distance: float         # m from the ego's front bumper to the lead's rear, along the road (radar's dRel)
  lead_y: float                # m, the lead's centre, car frame
  lead_v: float                # m/s
  lead_v_rel: float            # lead speed minus ego speed
  lead_accel: float            # m/s^2
  lateral_offset: float        # m, ego CG right of its lane centre
  heading_error: float         # rad, ego heading right of the lane direction
  lane: int                    # ego lane, 0 = leftmost
  n_lanes: int
  lane_width: float
  curvature: float             # road curvature at the ego, 1/m, positive turning left
  speed: float
  collision: bool              # ego body overlaps another car
  lane_departure: bool         # a wheel is over a lane line
  off_road: bool               # part of the body is beyond the pavement


@dataclass
class DriveStats:
  """Running totals for scoring (counts are rising edges)."""
  time: float = 0.0
  distance: float = 0.0
  collisions: int = 0
  lane_departures: int = 0
  departure_time: float = 0.0
  off_road_time: float = 0.0


@dataclass
class _Flags:
  collision: bool = False
  lane_departure: bool = False
  off_road: bool = False


class World:
  """Everything the simulator knows. `s`, `d`: the ego CG's Frenet station and lateral offset (left positive);
  `t`: seconds since the start; `stats`: scoring totals; `traffic.log`: what the event schedule made happen."""
  def __init__(self, seed: int, config: WorldConfig | None = None):
    self.seed = seed
    self.config = cfg = config or WorldConfig()
    rngs = world_rngs(seed)
    self.scene = Scene(seed, cfg.width, cfg.height, cfg.road)
    self.road, self.look, self.camera = self.scene.road, self.scene.look, self.scene.camera
    lay = self.road.layout
    lane = cfg.start_lane if cfg.start_lane >= 0 else int(rngs[LANE_RNG].integers(lay.n_lanes))
    self.s, self.d = C.START_STATION, lay.lane_d(min(lane, lay.n_lanes - 1))
    x, y, th, _ = self.road.pose(self.s)
    self.vehicle = Vehicle(state=VehicleState(x - self.d * math.sin(th), y + self.d * math.cos(th), th,
                                              v=cfg.start_speed))
    self.traffic = Traffic(rngs[TRAFFIC_RNG], self.road, self._ego(), cfg.event_gap, cfg.traffic, cfg.lane_wander)
    self.renderer = self.scene.renderer
    self.t = 0.0
    self.steps = 0
    self.stats = DriveStats()
    self.flags = _Flags()

  @property
  def state(self) -> VehicleState:
    return self.vehicle.state

  def _ego(self) -> Ego:
    p = self.vehicle.params
    # the footprint's centre, not the CG, is what traffic keeps its distance from
    return Ego(self.s + (p.front_from_cg - p.rear_from_cg) / 2, self.d, self.vehicle.state.v, p.length)

  # --- stepping
  def step(self, controls: Controls) -> None:
    """Advance the world by DT."""
    self.vehicle.step(controls, C.DT)
    st = self.vehicle.state
    self.s, self.d = self.road.frenet(st.x, st.y, self.s)
    self.t += C.DT
    self.steps += 1
    self.traffic.step(self.t, C.DT, self._ego())
    self._judge()

  def _corners(self, pts: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Frenet extent (s_min, s_max, d_min, d_max) of points given in the ego's body frame (x fwd, y left)."""
    psi = self.vehicle.state.yaw - self.road.pose(self.s)[2]
    c, sn = math.cos(psi), math.sin(psi)
    ss = [self.s + x * c - y * sn for x, y in pts]
    ds = [self.d + x * sn + y * c for x, y in pts]
    return min(ss), max(ss), min(ds), max(ds)

  def _judge(self) -> None:
    p, lay, f, stats = self.vehicle.params, self.road.layout, self.flags, self.stats
    hw = p.width / 2
    s0, s1, d0, d1 = self._corners([(p.front_from_cg, hw), (p.front_from_cg, -hw), (-p.rear_from_cg, hw),
                                    (-p.rear_from_cg, -hw)])
    collision = any(c.s + c.length / 2 > s0 and c.s - c.length / 2 < s1 and c.d + c.width / 2 > d0 and
                    c.d - c.width / 2 < d1 for c in self.traffic.cars)
    off_road = d1 > lay.edge_left or d0 < lay.edge_right
    tw = p.track / 2
    _, _, w0, w1 = self._corners([(p.center_to_front, tw), (p.center_to_front, -tw), (-p.center_to_rear, tw),
                                  (-p.center_to_rear, -tw)])
    lane = lay.lane_at(self.d)
    departure = w1 > lay.line_d(lane) or w0 < lay.line_d(lane + 1)
    stats.collisions += collision and not f.collision
    stats.lane_departures += departure and not f.lane_departure
    stats.departure_time += C.DT * departure
    stats.off_road_time += C.DT * off_road
    stats.time += C.DT
    stats.distance += self.vehicle.state.v * C.DT
    f.collision, f.lane_departure, f.off_road = collision, departure, off_road

  # --- camera
  @property
  def frame_due(self) -> bool:
    """True on the steps a 20 Hz camera takes a frame."""
    return self.steps % C.STEPS_PER_FRAME == 0

  def render(self) -> np.ndarray:
    st = self.vehicle.state
    return self.renderer.render(Pose(st.x, st.y, st.yaw, self.s), self.traffic.cars)

  # --- ground truth
  def _to_car(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World ground points -> car frame (x forward, y right) about the camera."""
    st = self.vehicle.state
    c, s = math.cos(st.yaw), math.sin(st.yaw)
    cx, cy = st.x + C.CAMERA_FROM_CG * c, st.y + C.CAMERA_FROM_CG * s
    dx, dy = x - cx, y - cy
    return dx * c + dy * s, dx * s - dy * c

  def radar_targets(self) -> tuple[RadarTarget, ...]:
    """The traffic ahead within the front radar's range and field of view, nearest first."""
    st, p = self.vehicle.state, self.vehicle.params
    front = self.s + p.front_from_cg
    ahead = [c for c in self.traffic.cars if 0.0 < c.s - c.length / 2 - front < C.RADAR_RANGE_M]
    if not ahead:
      return ()
    rear = np.array([c.s - c.length / 2 for c in ahead])
    x, y = self.road.point(rear, np.array([c.d for c in ahead]))
    _, yc = self._to_car(x, y)
    out = []
    for c, s_rear, y_right in zip(ahead, rear, yc, strict=True):
      d_rel = float(s_rear - front)
      y_rel = -float(y_right)                   # the car frame's y is right; the radar's left
      if abs(y_rel) <= max(C.RADAR_NEAR_HALF_WIDTH_M, d_rel * math.tan(C.RADAR_HALF_FOV)):
        out.append(RadarTarget(c.id, d_rel, y_rel, c.v - st.v, c.a - st.a))
    return tuple(sorted(out, key=lambda t: t.d_rel))

  def ground_truth(self) -> GroundTruth:
    st, lay, road, p = self.vehicle.state, self.road.layout, self.road, self.vehicle.params
    lane = lay.lane_at(self.d)
    h = self.camera.mount_height
    s_cam = self.s + C.CAMERA_FROM_CG
    # lane lines and edges: lateral offset where each crosses the X_IDXS distances
    s = s_cam - 5.0 + (C.GT_AHEAD_M + 5.0) * (np.arange(C.GT_SAMPLES) / (C.GT_SAMPLES - 1)) ** 1.5
    cx, cy, th = road.sample(s)
    lines = [lane - 1, lane, lane + 1, lane + 2]
    ds = np.array([lay.line_d(j) for j in lines] + [lay.edge_left, lay.edge_right])
    wx = cx[None, :] - ds[:, None] * np.sin(th)[None, :]
    wy = cy[None, :] + ds[:, None] * np.cos(th)[None, :]
    xc, yc = self._to_car(wx, wy)
    xi = X_IDXS.astype(np.float64)
    ys = np.stack([np.interp(xi, np.maximum.accumulate(xc[k]), yc[k]) for k in range(len(ds))])
    zs = np.full_like(ys, h)
    yz = np.stack([ys, zs], axis=-1)
    probs = np.array([1.0 if 0 <= j <= lay.n_lanes else 0.0 for j in lines])
    # path: the lane centre at T_IDXS * speed
    sp = s_cam + st.v * T_IDXS.astype(np.float64)
    px, py = road.lane_center(sp, lane)
    pxc, pyc = self._to_car(px, py)
    path = np.stack([pxc, pyc, np.zeros_like(pxc)], axis=1)
    lead = self.traffic.lead(self._ego(), lay.lane_d(lane))
    lead_y = 0.0
    if lead is not None:
      lx, ly = road.point(np.array([lead.s]), lead.d)
      lead_y = float(self._to_car(lx, ly)[1][0])
    _, _, th_road, k_road = road.pose(self.s)
    return GroundTruth(self.t, path, yz[:4], probs, yz[4:], lead_present=lead is not None,
                       lead_id=lead.id if lead else -1,
                       lead_distance=lead.s - lead.length / 2 - (self.s + p.front_from_cg) if lead else 0.0,
                       lead_y=lead_y, lead_v=lead.v if lead else 0.0, lead_v_rel=lead.v - st.v if lead else 0.0,
                       lead_accel=lead.a if lead else 0.0, lateral_offset=-(self.d - lay.lane_d(lane)),
                       heading_error=-math.remainder(st.yaw - th_road, 2 * math.pi),
                       lane=lane, n_lanes=lay.n_lanes, lane_width=lay.lane_width, curvature=k_road, speed=st.v,
                       collision=self.flags.collision, lane_departure=self.flags.lane_departure,
                       off_road=self.flags.off_road)
