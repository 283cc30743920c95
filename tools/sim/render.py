"""OpenCV renderer: the road, its markings, shadows, roadside posts and traffic, seen from the ego's camera.

Everything is a polygon on a flat world, transformed into the camera's view frame, clipped against the near
plane (so nothing behind the camera folds into the image) and filled with cv2.fillPoly, far before near.
Ground texture and shadows are one multiplicative layer, warped onto the ground with the ground homography at
no more than TEXTURE_MAX_WIDTH and upscaled. Lighting is one lookup table at the end.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

from tools.sim import constants as C
from tools.sim.camera import Camera
from tools.sim.look import RGB, Look
from tools.sim.road import Road
from tools.sim.traffic import Car

SCALE = float(1 << C.SUBPIXEL_SHIFT)


@dataclass(frozen=True)
class Pose:
  """Where the ego is: CG position and yaw in the world, its station on the road."""
  x: float
  y: float
  yaw: float
  s: float


def clip_near(p: np.ndarray) -> np.ndarray:
  """Sutherland-Hodgman: the part of closed polygon p (n, 3, view frame) with z >= NEAR_Z."""
  z = p[:, 2] - C.NEAR_Z
  inside = z >= 0
  if inside.all():
    return p
  if not inside.any():
    return p[:0]
  q, zq = np.roll(p, -1, axis=0), np.roll(z, -1)
  cross = inside != (zq >= 0)
  t = np.where(cross, z / np.where(cross, z - zq, 1.0), 0.0)
  out = np.stack([p, p + t[:, None] * (q - p)], axis=1)
  return out[np.stack([inside, cross], axis=1)]


def _hash01(a: np.ndarray, b: float, seed: float) -> np.ndarray:
  """Deterministic per-item pseudo-random numbers in [0, 1) (the classic shader hash)."""
  return np.modf(np.abs(np.sin(a * 12.9898 + b * 78.233 + seed) * 43758.5453))[0]


def _tileable_noise(rng: np.random.Generator, n: int) -> np.ndarray:
  """n x n noise with a 1/f spectrum that wraps seamlessly: asphalt grain plus blotches, mean 128."""
  f = np.fft.fftfreq(n)
  r = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
  spec = np.fft.fft2(rng.standard_normal((n, n))) / np.maximum(r, 1.0 / n) ** 0.9
  img = np.real(np.fft.ifft2(spec))
  img = (img - img.mean()) / img.std()
  return np.clip(128 + 40 * img, 0, 255).astype(np.uint8)


class Renderer:
  def __init__(self, camera: Camera, road: Road, look: Look, rng: np.random.Generator):
    self.camera, self.road, self.look = camera, road, look
    w, h = camera.width, camera.height
    self.hash_seed = float(rng.uniform(0, 1000))
    self.texture = _tileable_noise(rng, C.TEXTURE_SIZE)
    self.treeline = self._treeline(rng)
    n = int(C.SHADOW_PERIOD_M / C.SHADOW_SPACING_M[0])
    self.shadow_s = np.cumsum(rng.uniform(*C.SHADOW_SPACING_M, n))
    lay = road.layout
    self.shadow_d = np.where(rng.random(n) < 0.5, lay.edge_left, lay.edge_right) + rng.normal(0, 2.0, n)
    r = rng.uniform(0.6, 1.4, (n, C.SHADOW_VERTS))
    r = (r + np.roll(r, 1, axis=1) + np.roll(r, -1, axis=1)) / 3  # a blob, not a star
    self.shadow_r = r * rng.uniform(1.5, 5.0, (n, 1))
    self.lut = look.lut()
    sc = min(1.0, C.TEXTURE_MAX_WIDTH / w)
    self.low = (max(round(w * sc), 1), max(round(h * sc), 1))
    self.low_scale = (self.low[0] / w, self.low[1] / h)
    self.horizon = camera.horizon_v
    self.background = self._background()

  # --- static layers
  def _treeline(self, rng: np.random.Generator) -> np.ndarray:
    """Elevation (rad) of the distant treeline/hills against azimuth, periodic and smooth, with open gaps."""
    n = C.TREELINE_SAMPLES
    f = np.fft.rfftfreq(n, 1.0 / n)
    spec = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) / np.maximum(f, 1.0) ** 1.2
    base = np.fft.irfft(spec, n)
    base = (base - base.mean()) / base.std()
    fine = rng.random(n) * 0.4
    return np.radians(np.clip(1.0 + 0.9 * base + fine, 0.0, 4.0))

  def _background(self) -> np.ndarray:
    w, h, lk = self.camera.width, self.camera.height, self.look
    img = np.empty((h, w, 3), dtype=np.uint8)
    hz = int(np.clip(math.ceil(self.horizon), 0, h))
    t = np.clip(np.arange(hz) / max(self.horizon, 1.0), 0.0, 1.0) ** 0.7
    sky = np.array(lk.sky_top)[None] * (1 - t[:, None]) + np.array(lk.sky_horizon)[None] * t[:, None]
    img[:hz] = sky[:, None, :].astype(np.uint8)
    img[hz:] = lk.grass
    return img

  # --- geometry helpers
  def _view(self, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Rotation view_from_world and the camera's world position."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    car_from_world = np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])
    cam = np.array([pose.x + C.CAMERA_FROM_CG * c, pose.y + C.CAMERA_FROM_CG * s, self.camera.mount_height])
    return self.camera.view_from_car @ car_from_world, cam

  def _project(self, pts: np.ndarray) -> np.ndarray:
    """View-frame points (n, 3), all z >= NEAR_Z, to fixed-point pixels for fillPoly."""
    f, cam = self.camera.focal, self.camera
    # pixel (i, j) covers [i, i+1) x [j, j+1); fillPoly puts its centre at the integer, hence the half pixel
    uv = np.stack([cam.width / 2 + f * pts[:, 0] / pts[:, 2], cam.height / 2 + f * pts[:, 1] / pts[:, 2]], axis=1)
    return np.round((uv - 0.5) * SCALE).astype(np.int32)

  def _polys(self, polys: np.ndarray) -> list[np.ndarray]:
    """Batch (k, n, 3) of view-frame polygons -> clipped, projected polygons for fillPoly."""
    if len(polys) == 0:
      return []
    inside = polys[..., 2] >= C.NEAR_Z
    full = inside.all(axis=1)
    out = list(self._project(polys[full].reshape(-1, 3)).reshape(-1, polys.shape[1], 2)) if full.any() else []
    for p in polys[~full & inside.any(axis=1)]:
      q = clip_near(p)
      if len(q) >= 3:
        out.append(self._project(q))
    return out

  def _fill(self, img: np.ndarray, polys: list[np.ndarray], color: RGB | int, aa: bool = False) -> None:
    if polys:
      cv2.fillPoly(img, polys, color, cv2.LINE_AA if aa else cv2.LINE_8, C.SUBPIXEL_SHIFT)

  # --- the frame
  def render(self, pose: Pose, cars: list[Car]) -> np.ndarray:
    """RGB uint8 (H, W, 3) of the scene from the ego's camera."""
    m, cam = self._view(pose)
    img = self.background.copy()
    self._draw_treeline(img, m)
    s_cam = pose.s + C.CAMERA_FROM_CG
    self._draw_road(img, m, cam, s_cam)
    self._apply_ground_layer(img, m, cam, s_cam, cars)
    self._draw_posts(img, m, cam, s_cam)
    self._draw_cars(img, m, cam, cars)
    self._haze(img, m, cam)
    return cv2.LUT(img, self.lut)

  def _draw_treeline(self, img: np.ndarray, m: np.ndarray) -> None:
    """The distant treeline, standing on the horizon at the azimuth it has in the world (it pans as the car turns)."""
    w, f = self.camera.width, self.camera.focal
    hz = self.horizon
    if hz <= 0:
      return
    u = np.linspace(0.0, w, C.TREELINE_COLUMNS + 1)
    rays = np.stack([(u - w / 2) / f, np.full_like(u, (hz - self.camera.height / 2) / f), np.ones_like(u)], axis=1) @ m
    idx = np.mod(np.arctan2(rays[:, 1], rays[:, 0]) / (2 * math.pi) * C.TREELINE_SAMPLES, C.TREELINE_SAMPLES)
    top = hz - f * np.tan(np.interp(idx, np.arange(C.TREELINE_SAMPLES + 1), np.append(self.treeline, self.treeline[0])))
    base = math.floor(hz) + 2  # down to where the haze starts
    poly = np.concatenate([np.stack([u, top], axis=1), [[w, base], [0.0, base]]])
    self._fill(img, [np.round((poly - 0.5) * SCALE).astype(np.int32)], self.look.treeline, aa=True)

  def _strip(self, pts: np.ndarray, a: int, b: int) -> np.ndarray:
    """Closed polygon between lateral columns a and b of the (n, k, 3) sample grid."""
    return np.concatenate([pts[:, a], pts[::-1, b]])[None]

  def _draw_road(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, s_cam: float) -> None:
    road, lay, lk = self.road, self.road.layout, self.look
    t = np.linspace(0.0, 1.0, C.RENDER_SAMPLES) ** 2
    s = s_cam - C.RENDER_BEHIND_M + (C.RENDER_AHEAD_M + C.RENDER_BEHIND_M) * t
    x, y, th = road.sample(s)
    half = lay.mark_width / 2
    n = lay.n_lanes
    ds = np.array([lay.edge_left, lay.line_d(0) + half, lay.line_d(0) - half, lay.line_d(n) + half,
                   lay.line_d(n) - half, lay.edge_right])
    pts = self._ground(x, y, th, ds, cam, m)  # (samples, 6, 3)
    self._fill(img, self._polys(self._strip(pts, 0, 5)), lk.shoulder)
    self._fill(img, self._polys(self._strip(pts, 1, 4)), lk.asphalt)
    solid_wear = 0.5 * lk.wear
    left = lk.yellow if lk.left_yellow else lk.white
    self._fill(img, self._polys(self._strip(pts, 1, 2)), _mix(left, lk.asphalt, solid_wear), aa=True)
    self._fill(img, self._polys(self._strip(pts, 3, 4)), _mix(lk.white, lk.asphalt, solid_wear), aa=True)
    self._draw_dashes(img, m, cam, s_cam)

  def _ground(self, x: np.ndarray, y: np.ndarray, th: np.ndarray, d: np.ndarray, cam: np.ndarray,
              m: np.ndarray) -> np.ndarray:
    """View-frame points (n, k, 3) of ground points at lateral offsets d ((k,) or (n, k)) from n centerline samples."""
    d = d[None, :] if d.ndim == 1 else d
    wx = x[:, None] - d * np.sin(th)[:, None] - cam[0]
    wy = y[:, None] + d * np.cos(th)[:, None] - cam[1]
    w = np.stack([wx, wy, np.full_like(wx, -cam[2])], axis=-1)
    return w @ m.T

  def _draw_dashes(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, s_cam: float) -> None:
    lay, lk = self.road.layout, self.look
    if lay.n_lanes < 2:
      return
    k = np.arange(math.floor((s_cam - C.RENDER_BEHIND_M) / lay.period),
                  math.ceil((s_cam + C.DASH_AHEAD_M) / lay.period))
    s0 = k * lay.period
    ends = np.stack([s0, s0 + lay.dash_len], axis=1).reshape(-1)
    x, y, th = self.road.sample(ends)
    half = lay.mark_width / 2
    for line in range(1, lay.n_lanes):
      d = lay.line_d(line)
      pts = self._ground(x, y, th, np.array([d + half, d - half]), cam, m).reshape(len(k), 2, 2, 3)
      quads = np.stack([pts[:, 0, 0], pts[:, 1, 0], pts[:, 1, 1], pts[:, 0, 1]], axis=1)
      wear = np.clip(lk.wear * (0.3 + _hash01(k.astype(np.float64), line, self.hash_seed)), 0.0, 0.95)
      level = np.minimum((wear * C.WEAR_LEVELS).astype(np.int64), C.WEAR_LEVELS - 1)
      for lv in range(C.WEAR_LEVELS):
        sel = level == lv
        if sel.any():
          color = _mix(lk.white, lk.asphalt, (lv + 0.5) / C.WEAR_LEVELS * 0.95)
          self._fill(img, self._polys(quads[sel]), color, aa=True)

  def _ground_homography(self, m: np.ndarray, cam: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Pixel (of an image scaled by sx, sy) -> world ground (x, y), homogeneous."""
    k = self.camera.intrinsics.copy()
    k[0] *= sx
    k[1] *= sy
    a = m.T @ np.linalg.inv(k)
    wz = -a[2] / cam[2]
    return np.stack([a[0] + cam[0] * wz, a[1] + cam[1] * wz, wz])

  def _apply_ground_layer(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, s_cam: float, cars: list[Car]) -> None:
    """Texture and shadows: one multiplicative layer (128 = unchanged) over the ground."""
    (lw, lh), (sx, sy) = self.low, self.low_scale
    h_full = self.camera.height
    v0 = math.floor(self.horizon * sy) + 2
    if v0 >= lh:
      return
    v0 = max(v0, 0)
    hw = self._ground_homography(m, cam, sx, sy)
    tile = C.TEXTURE_SIZE * C.TEXTURE_RES
    ox, oy = math.floor(cam[0] / tile) * tile, math.floor(cam[1] / tile) * tile
    r = C.TEXTURE_RES
    to_tex = np.array([[1 / r, 0, -ox / r], [0, 1 / r, -oy / r], [0, 0, 1]])
    shift = np.array([[1.0, 0, 0.5], [0, 1, v0 + 0.5], [0, 0, 1]])
    layer = np.full((lh, lw), 128, dtype=np.uint8)
    tex = cv2.warpPerspective(self.texture, to_tex @ hw @ shift, (lw, lh - v0),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_WRAP)
    rows = hw @ np.stack([np.full(lh - v0, lw / 2), np.arange(v0, lh) + 0.5, np.ones(lh - v0)])
    dist = np.hypot(rows[0] / rows[2] - cam[0], rows[1] / rows[2] - cam[1])
    fade = (self.look.texture * np.clip(1.0 - dist / C.TEXTURE_FADE_M, 0.0, 1.0) * 256).astype(np.int32)
    layer[v0:] = (128 + (((tex.astype(np.int32) - 128) * fade[:, None]) >> 8)).astype(np.uint8)
    self._draw_shadows(layer, m, cam, s_cam, cars, sx, sy)
    layer[v0:] = cv2.GaussianBlur(layer[v0:], (0, 0), 0.8)  # soft shadow edges, no aliased grain
    if (lw, lh) != (self.camera.width, h_full):
      layer = cv2.resize(layer, (self.camera.width, h_full), interpolation=cv2.INTER_LINEAR)
    v_full = max(math.floor(self.horizon) + 1, 0)
    below = img[v_full:]
    cv2.multiply(below, cv2.cvtColor(layer[v_full:], cv2.COLOR_GRAY2RGB), dst=below, scale=1 / 128)

  def _draw_shadows(self, layer: np.ndarray, m: np.ndarray, cam: np.ndarray, s_cam: float, cars: list[Car],
                    sx: float, sy: float) -> None:
    scale_px = np.array([sx, sy])

    def fill(polys: list[np.ndarray], value: int) -> None:
      if polys:
        self._fill(layer, [np.round(p * scale_px).astype(np.int32) for p in polys], value, aa=True)

    if self.look.shadows:
      base = math.floor(s_cam / C.SHADOW_PERIOD_M) * C.SHADOW_PERIOD_M
      sel = []
      for off in (base - C.SHADOW_PERIOD_M, base, base + C.SHADOW_PERIOD_M):
        idx = np.nonzero((self.shadow_s + off > s_cam - 20.0) & (self.shadow_s + off < s_cam + 120.0))[0]
        sel += [(i, off) for i in idx]
      polys = []
      ang = np.linspace(0, 2 * math.pi, C.SHADOW_VERTS, endpoint=False)
      for i, off in sel:
        ss = self.shadow_s[i] + off + self.shadow_r[i] * np.cos(ang) * 1.5
        dd = self.shadow_d[i] + self.shadow_r[i] * np.sin(ang)
        x, y, th = self.road.sample(ss)
        polys.append(self._ground(x, y, th, dd[:, None], cam, m)[:, 0])
      fill(self._polys(np.array(polys)) if polys else [], C.TREE_SHADOW)
    quads = [self._car_box(c, cam, m, 0.0, 0.0, -0.15, -0.3)[0][0] for c in cars if -20.0 < c.s - s_cam < 120.0]
    fill(self._polys(np.array(quads)) if quads else [], C.CAR_SHADOW)

  def _draw_posts(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, s_cam: float) -> None:
    """White delineator posts beside both road edges: they give the picture parallax."""
    lay = self.road.layout
    k = np.arange(math.ceil((s_cam - 5.0) / C.POST_SPACING_M), math.floor((s_cam + 150.0) / C.POST_SPACING_M) + 1)
    if len(k) == 0:
      return
    s = k[::-1] * C.POST_SPACING_M
    x, y, th = self.road.sample(s)
    polys = []
    for d in (lay.edge_left + 0.6, lay.edge_right - 0.6):
      g = self._ground(x, y, th, np.array([d - 0.06, d + 0.06]), cam, m)  # (n, 2, 3), bottom
      up = np.array([0.0, 0.0, 1.0]) @ m.T
      polys += [np.stack([p[0], p[1], p[1] + up * 1.0, p[0] + up * 1.0]) for p in g]
    self._fill(img, self._polys(np.array(polys)), (215, 215, 210), aa=True)

  def _car_box(self, c: Car, cam: np.ndarray, m: np.ndarray, z0: float, z1: float, inset_w: float,
               inset_l: float, x_off: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Faces (6, 4, 3) of a box in the car's footprint (shrunk by insets), from z0 to z1, and their outward
    normals (6, 3), both in the view frame. Face order: bottom, top, rear, front, left, right."""
    x, y, th, _ = self.road.pose(c.s)
    heading = th + math.atan2(c.d_rate, max(c.v, 1.0))
    px, py = x - c.d * math.sin(th), y + c.d * math.cos(th)
    ch, sh = math.cos(heading), math.sin(heading)
    hl, hw = c.length / 2 - inset_l, c.width / 2 - inset_w
    lx = np.array([-hl, hl, hl, -hl, -hl, hl, hl, -hl]) + x_off
    ly = np.array([-hw, -hw, hw, hw, -hw, -hw, hw, hw])
    lz = np.array([z0, z0, z0, z0, z1, z1, z1, z1])
    w = np.stack([px + lx * ch - ly * sh - cam[0], py + lx * sh + ly * ch - cam[1], lz - cam[2]], axis=1) @ m.T
    faces = w[[[0, 1, 2, 3], [4, 7, 6, 5], [0, 3, 7, 4], [1, 5, 6, 2], [3, 2, 6, 7], [0, 4, 5, 1]]]
    normals = np.array([[0, 0, -1.0], [0, 0, 1], [-ch, -sh, 0], [ch, sh, 0], [-sh, ch, 0], [sh, -ch, 0]]) @ m.T
    return faces, normals

  @staticmethod
  def _visible(faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Faces turned towards the camera (at the view-frame origin); a convex box's visible faces never overlap."""
    return np.einsum("ij,ij->i", normals, faces.mean(axis=1)) < 0.0

  def _draw_cars(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, cars: list[Car]) -> None:
    fwd = m.T @ np.array([0.0, 0.0, 1.0])
    near = []
    for c in cars:
      x, y, _, _ = self.road.pose(c.s)
      near.append(((x - cam[0]) * fwd[0] + (y - cam[1]) * fwd[1], c))
    for dist, c in sorted(near, key=lambda e: -e[0]):
      if -c.length < dist < C.RENDER_AHEAD_M * 0.6:
        self._draw_car(img, m, cam, c)

  def _draw_car(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray, c: Car) -> None:
    """Underbody, body, cabin (glass), then tail lights and plate on the rear: drawn in that order."""
    body = np.array(c.color, dtype=np.float64)
    shade = lambda k: (int(min(body[0] * k, 255)), int(min(body[1] * k, 255)), int(min(body[2] * k, 255)))
    glass, dark = (35, 40, 48), (22, 22, 24)
    van = c.kind == "van"  # one tall box; cars and SUVs get a glass cabin on a body
    body_top = c.height if van else c.height * 0.62
    parts: list[tuple[np.ndarray, RGB]] = []
    boxes = [(self._car_box(c, cam, m, 0.0, 0.32, 0.12, 0.6), [dark] * 6),
             (self._car_box(c, cam, m, 0.22, body_top, 0.0, 0.0),
              [dark, shade(1.1), shade(0.8), shade(0.8), shade(0.65), shade(0.65)])]
    if not van:
      boxes.append((self._car_box(c, cam, m, body_top, c.height, 0.12, 0.9, x_off=-0.15),
                    [dark, shade(1.05), glass, glass, glass, glass]))
    for (faces, normals), colors in boxes:
      parts += [(f, col) for f, col, vis in zip(faces, colors, self._visible(faces, normals), strict=True) if vis]
    faces, normals = boxes[1][0]
    if self._visible(faces[2:3], normals[2:3])[0]:
      b0, b1, _t1, t0 = faces[2]  # rear face: bottom right, bottom left, top left, top right (seen from behind)
      at = lambda u, v: b0 + (b1 - b0) * u + (t0 - b0) * v  # u across, v up (1 = top of the body)
      quad = lambda u0, u1, v0, v1: np.stack([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)])
      lit = (255, 60, 50) if c.braking else (150, 25, 25)
      lv = (0.25, 0.42) if van else (0.62, 0.86)
      parts += [(quad(0.03, 0.2, *lv), lit), (quad(0.8, 0.97, *lv), lit), (quad(0.4, 0.6, 0.1, 0.2) if van else
                                                                           quad(0.4, 0.6, 0.3, 0.45), (200, 200, 190))]
      if van:
        parts.append((quad(0.08, 0.92, 0.6, 0.88), glass))
    polys = np.array([p for p, _ in parts])
    inside = polys[..., 2] >= C.NEAR_Z
    pix = self._project(polys.reshape(-1, 3)).reshape(len(parts), 4, 2) if inside.all() else None
    for i, (p, col) in enumerate(parts):
      if pix is not None:
        self._fill(img, [pix[i]], col, aa=True)
      else:
        self._fill(img, self._polys(p[None]), col, aa=True)

  def _haze(self, img: np.ndarray, m: np.ndarray, cam: np.ndarray) -> None:
    """Aerial perspective: rows just below the horizon fade into the haze colour."""
    h = self.camera.height
    v0 = max(math.floor(self.horizon) + 2, 0)
    hw = self._ground_homography(m, cam, 1.0, 1.0)
    band = min(max(int(self.camera.focal * cam[2] / 60.0), 1), h - v0)
    if band <= 0:
      return
    v = np.arange(v0, v0 + band) + 0.5
    g = hw @ np.stack([np.full(band, self.camera.width / 2), v, np.ones(band)])
    ok = g[2] > 0
    g2 = np.where(ok, g[2], 1.0)
    dist = np.where(ok, np.hypot(g[0] / g2 - cam[0], g[1] / g2 - cam[1]), 1e9)
    alpha = (1.0 - np.exp(-dist / C.HAZE_M))[:, None, None]
    rows = img[v0:v0 + band]
    rows[:] = (rows * (1 - alpha) + np.array(self.look.haze)[None, None, :] * alpha).astype(np.uint8)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
  return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))
