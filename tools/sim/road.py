"""Procedural road: a smooth centerline of straights, clothoid transitions and arcs, with lanes beside it.

Geometry is a curvature program integrated on a uniform station grid (ROAD_DS), generated lazily as far as
anyone looks. World frame: x, y on the ground (z up), heading counter-clockwise from +x. Frenet coordinates:
station s along the centerline, lateral d positive to the left. Lanes are numbered from the left (0), lane lines
too (0 = left outer line, n_lanes = right outer line), as openpilot orders its lane lines.
"""
import math
from dataclasses import dataclass

import numpy as np

from tools.sim import constants as C


@dataclass(frozen=True)
class RoadLayout:
  """The cross-section, constant along the road."""
  n_lanes: int
  lane_width: float
  shoulder_left: float
  shoulder_right: float
  mark_width: float
  dash_len: float
  dash_gap: float

  @staticmethod
  def sample(rng: np.random.Generator) -> "RoadLayout":
    u = lambda lo, hi: float(rng.uniform(lo, hi))
    return RoadLayout(int(rng.integers(C.LANES_MIN, C.LANES_MAX + 1)), u(C.LANE_WIDTH_MIN, C.LANE_WIDTH_MAX),
                      u(C.SHOULDER_MIN, C.SHOULDER_MAX * 0.6), u(C.SHOULDER_MIN, C.SHOULDER_MAX),
                      u(C.MARK_WIDTH_MIN, C.MARK_WIDTH_MAX), u(C.DASH_LEN_MIN, C.DASH_LEN_MAX),
                      u(C.DASH_GAP_MIN, C.DASH_GAP_MAX))

  @property
  def half_width(self) -> float:
    return self.n_lanes * self.lane_width / 2

  def lane_d(self, lane: int) -> float:
    """Lateral offset of a lane's centre (lane 0 is the leftmost)."""
    return self.half_width - (lane + 0.5) * self.lane_width

  def line_d(self, line: int) -> float:
    """Lateral offset of lane line `line` (0: left outer, n_lanes: right outer); extrapolates beyond the road."""
    return self.half_width - line * self.lane_width

  def lane_at(self, d: float) -> int:
    """The lane whose centre is nearest to lateral offset d."""
    return min(max(math.floor((self.half_width - d) / self.lane_width), 0), self.n_lanes - 1)

  @property
  def edge_left(self) -> float:
    return self.half_width + self.shoulder_left

  @property
  def edge_right(self) -> float:
    return -(self.half_width + self.shoulder_right)

  @property
  def period(self) -> float:
    return self.dash_len + self.dash_gap


@dataclass(frozen=True)
class RoadShape:
  """How curvy a road is drawn: curve radii log-uniform between the bounds, skewed towards gentle curves when
  `radius_skew` < 1 (towards tight ones when > 1); straights between curves uniform in `straight`. The simulator's
  roads use the defaults; training may draw from another distribution (it does not change any seed's road here)."""
  min_radius: float = C.MIN_RADIUS
  max_radius: float = C.MAX_RADIUS
  radius_skew: float = 0.8
  straight: tuple[float, float] = (C.STRAIGHT_MIN, C.STRAIGHT_MAX)

  def radius(self, u: float) -> float:
    """The radius for a uniform draw u in [0, 1)."""
    return self.min_radius * (self.max_radius / self.min_radius) ** u ** self.radius_skew


SIM_ROADS = RoadShape()   # the simulator's roads: the shape every seed's road is drawn with unless asked otherwise


class Road:
  """Centerline samples every ROAD_DS metres of station, extended on demand; all queries interpolate them."""
  def __init__(self, rng: np.random.Generator, shape: RoadShape = SIM_ROADS):
    self.layout = RoadLayout.sample(rng)
    self.shape = shape
    self._rng = rng
    self.x = np.zeros(1)
    self.y = np.zeros(1)
    self.th = np.zeros(1)
    self.k = np.zeros(1)
    self._append(C.ROAD_START_STRAIGHT_M, 0.0, 0.0)
    self._extend(C.ROAD_CHUNK_M)

  @property
  def length(self) -> float:
    return (len(self.x) - 1) * C.ROAD_DS

  # --- generation
  def _append(self, length: float, k0: float, k1: float) -> None:
    """Integrate a piece whose curvature goes linearly from k0 to k1 (a clothoid; an arc or straight if equal)."""
    n = max(round(length / C.ROAD_DS), 1)
    k = k0 + (k1 - k0) * np.arange(1, n + 1) / n
    kk = np.concatenate(([self.k[-1]], k))
    th = self.th[-1] + np.cumsum((kk[:-1] + kk[1:]) * (C.ROAD_DS / 2))
    thm = (np.concatenate(([self.th[-1]], th[:-1])) + th) / 2
    x = self.x[-1] + np.cumsum(np.cos(thm) * C.ROAD_DS)
    y = self.y[-1] + np.cumsum(np.sin(thm) * C.ROAD_DS)
    self.x, self.y = np.concatenate((self.x, x)), np.concatenate((self.y, y))
    self.th, self.k = np.concatenate((self.th, th)), np.concatenate((self.k, k))

  def _curve(self) -> None:
    """A straight, then a curve (clothoid in, arc, clothoid out), turning back towards the mean direction."""
    rng = self._rng
    self._append(rng.uniform(*self.shape.straight), 0.0, 0.0)
    k = 1.0 / self.shape.radius(rng.random())
    lt = rng.uniform(C.TRANSITION_MIN, C.TRANSITION_MAX)
    la = rng.uniform(C.ARC_MIN, C.ARC_MAX)
    direction = 1.0 if rng.random() < 0.5 else -1.0
    turn = min(k * (la + lt), C.MAX_TURN)
    th = float(self.th[-1])
    if abs(th + direction * turn) > C.MAX_HEADING:
      direction = -direction
    turn = min(turn, C.MAX_HEADING - direction * th)
    lt = min(lt, turn / k)  # a clothoid of length lt turns k*lt/2 each side
    la = max(turn / k - lt, 0.0)
    self._append(lt, 0.0, direction * k)
    self._append(la, direction * k, direction * k)
    self._append(lt, direction * k, 0.0)

  def _extend(self, s: float) -> None:
    while self.length < s:
      self._curve()

  def ensure(self, s: float) -> None:
    """Make sure the road is generated past station s (plus lookahead)."""
    if s + C.ROAD_LOOKAHEAD_M > self.length:
      self._extend(s + C.ROAD_LOOKAHEAD_M + C.ROAD_CHUNK_M)

  # --- queries (vectorized over s unless noted)
  def _idx(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.clip(np.asarray(s, dtype=np.float64) / C.ROAD_DS, 0.0, len(self.x) - 1.000001)
    i = u.astype(np.int64)
    return i, u - i

  def sample(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centerline x, y and heading at stations s."""
    self.ensure(float(np.max(s)))
    i, f = self._idx(s)
    lerp = lambda a: a[i] + (a[i + 1] - a[i]) * f
    return lerp(self.x), lerp(self.y), lerp(self.th)

  def heading(self, s: np.ndarray) -> np.ndarray:
    return self.sample(s)[2]

  def curvature(self, s: np.ndarray) -> np.ndarray:
    self.ensure(float(np.max(s)))
    i, f = self._idx(s)
    return self.k[i] + (self.k[i + 1] - self.k[i]) * f

  def point(self, s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World x, y of Frenet (s, d)."""
    x, y, th = self.sample(s)
    return x - d * np.sin(th), y + d * np.cos(th)

  def lane_center(self, s: np.ndarray, lane: int) -> tuple[np.ndarray, np.ndarray]:
    return self.point(s, self.layout.lane_d(lane))

  def pose(self, s: float) -> tuple[float, float, float, float]:
    """Scalar centerline x, y, heading, curvature (the fast path for per-step queries)."""
    u = min(max(s / C.ROAD_DS, 0.0), len(self.x) - 1.000001)
    i = int(u)
    f = u - i
    x, y, th, k = self.x, self.y, self.th, self.k
    return (float(x[i] + (x[i + 1] - x[i]) * f), float(y[i] + (y[i + 1] - y[i]) * f),
            float(th[i] + (th[i + 1] - th[i]) * f), float(k[i] + (k[i + 1] - k[i]) * f))

  def frenet(self, x: float, y: float, s_guess: float) -> tuple[float, float]:
    """Station and lateral offset of a world point near station s_guess (Newton on the tangent condition)."""
    self.ensure(s_guess + 50.0)
    s, d = s_guess, 0.0
    for _ in range(8):
      px, py, th, k = self.pose(s)
      c, sn = math.cos(th), math.sin(th)
      ex, ey = x - px, y - py
      along, d = ex * c + ey * sn, -ex * sn + ey * c
      s += along / max(1.0 - k * d, 0.1)
      if abs(along) < 1e-9:
        break
    return s, d

  def nearest_station(self, x: float, y: float) -> float:
    """Coarse global search, for a starting guess when nothing better is known."""
    return float(np.argmin((self.x - x) ** 2 + (self.y - y) ** 2)) * C.ROAD_DS
