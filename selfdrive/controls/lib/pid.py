"""A PID controller with feedforward that never winds up."""
from dataclasses import dataclass

import numpy as np

Gain = float | tuple[tuple[float, ...], tuple[float, ...]]   # a constant, or (speeds, values) to interpolate


def _at(gain: Gain, speed: float) -> float:
  return float(gain) if isinstance(gain, int | float) else float(np.interp(speed, gain[0], gain[1]))


@dataclass
class PIDController:
  """u = kp e + i + kd de + kf ff, clipped to [neg_limit, pos_limit].

  Anti-windup: the integrator never grows while the output is saturated in the direction it would push, and never
  leaves the output range, so it unwinds as soon as the error changes sign.
  """
  kp: Gain
  ki: Gain
  pos_limit: float
  neg_limit: float
  kd: Gain = 0.0
  kf: float = 1.0
  rate: float = 100.0          # Hz the update is called at
  i: float = 0.0
  p: float = 0.0
  d: float = 0.0
  f: float = 0.0
  control: float = 0.0
  saturated: bool = False

  def reset(self) -> None:
    self.i = self.p = self.d = self.f = self.control = 0.0
    self.saturated = False

  def update(self, error: float, error_rate: float = 0.0, speed: float = 0.0, feedforward: float = 0.0,
             freeze_integrator: bool = False) -> float:
    self.p = error * _at(self.kp, speed)
    self.d = error_rate * _at(self.kd, speed)
    self.f = feedforward * self.kf
    if not freeze_integrator:
      i = self.i + error * _at(self.ki, speed) / self.rate
      test = self.p + i + self.d + self.f
      upper = self.i if test > self.pos_limit else self.pos_limit   # no growth into a saturated output
      lower = self.i if test < self.neg_limit else self.neg_limit
      self.i = min(max(i, lower), upper)
    raw = self.p + self.i + self.d + self.f
    self.control = min(max(raw, self.neg_limit), self.pos_limit)
    self.saturated = raw != self.control
    return self.control
