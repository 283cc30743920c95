"""Per-seed appearance: colours, wear, texture and lighting, so a model trained here sees many roads, not one."""
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

RGB = tuple[int, int, int]


class Lighting(IntEnum):
  DAY = 0
  OVERCAST = 1
  DUSK = 2


def _jitter(rng: np.random.Generator, c: tuple[float, ...], amount: float) -> RGB:
  r, g, b = (int(np.clip(v + rng.uniform(-amount, amount), 0, 255)) for v in c)
  return r, g, b


@dataclass(frozen=True)
class Look:
  lighting: Lighting
  sky_top: RGB
  sky_horizon: RGB
  haze: RGB            # colour the far ground fades into
  grass: RGB
  treeline: RGB
  asphalt: RGB
  shoulder: RGB
  white: RGB           # lane paint
  yellow: RGB
  left_yellow: bool    # the left outer line is yellow (a divided highway)
  wear: float          # 0 fresh paint .. 1 nearly gone
  texture: float       # ground texture contrast
  shadows: bool
  gain: float          # exposure
  contrast: float
  gamma: float
  tint: tuple[float, float, float]

  @staticmethod
  def sample(rng: np.random.Generator) -> "Look":
    lighting = Lighting(int(rng.choice(3, p=[0.55, 0.3, 0.15])))
    grey = rng.uniform(70, 115)
    asphalt = _jitter(rng, (grey, grey, grey + rng.uniform(-4, 6)), 4)
    shoulder = _jitter(rng, (grey + rng.uniform(-5, 20),) * 3, 3)
    grass = _jitter(rng, [(70, 105, 45), (105, 110, 60), (125, 115, 80)][int(rng.integers(3))], 15)
    if lighting == Lighting.DAY:
      sky_top, sky_hor, gain, contrast, tint = (70, 120, 200), (175, 200, 225), rng.uniform(0.95, 1.15), \
        rng.uniform(1.0, 1.2), (1.0, 1.0, 1.0)
    elif lighting == Lighting.OVERCAST:
      sky_top, sky_hor, gain, contrast, tint = (150, 155, 165), (195, 198, 202), rng.uniform(0.9, 1.05), \
        rng.uniform(0.75, 0.95), (1.0, 1.0, 1.02)
    else:
      sky_top, sky_hor, gain, contrast, tint = (60, 70, 120), (235, 160, 110), rng.uniform(0.55, 0.8), \
        rng.uniform(0.85, 1.05), (1.08, 0.97, 0.88)
    sky_top, sky_hor = _jitter(rng, sky_top, 12), _jitter(rng, sky_hor, 10)
    haze = _jitter(rng, tuple(0.6 * h + 0.4 * g for h, g in zip(sky_hor, grass, strict=True)), 0)
    return Look(lighting, sky_top, sky_hor, haze, grass, _jitter(rng, (45, 65, 40), 12), asphalt, shoulder,
                _jitter(rng, (225, 225, 220), 10), _jitter(rng, (225, 180, 40), 12), bool(rng.random() < 0.4),
                float(rng.uniform(0.0, 0.6)), float(rng.uniform(0.15, 0.45)), bool(rng.random() < 0.5),
                float(gain), float(contrast), float(rng.uniform(0.9, 1.1)), tint)

  def lut(self) -> np.ndarray:
    """256x1x3 table applying exposure, contrast, gamma and tint in one cv2.LUT."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = np.clip((x * self.gain - 0.5) * self.contrast + 0.5, 0.0, 1.0) ** self.gamma
    t = np.stack([np.clip(y * c, 0.0, 1.0) for c in self.tint], axis=1)
    return np.round(t * 255).astype(np.uint8).reshape(256, 1, 3)
