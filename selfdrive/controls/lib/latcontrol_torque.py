"""Lateral control in lateral-acceleration space, for torque-steered cars (openpilot's latcontrol_torque).

The error is between the desired and the actual lateral acceleration (curvature times speed squared, plus a
curvature term that keeps it meaningful at low speed). A PID closes the loop on it; the feedforward is the desired
lateral acceleration itself, plus friction compensation in the direction the wheel must move. Everything is then
divided by the car's lateral-acceleration factor (m/s^2 at full torque, from opendbc's torque data or torqued) to
give the normalized torque.
"""
from dataclasses import dataclass

import numpy as np

from selfdrive.controls.lib.pid import PIDController

KP = 1.0                       # m/s^2 of command per m/s^2 of error
KI = 0.3                       # per s
FRICTION_THRESHOLD = 0.3       # m/s^2 of error (jerk-led) at which the full friction torque is applied
JERK_LOOKAHEAD_S = 0.1         # s of desired lateral jerk added to the error that decides the friction's direction
LOW_SPEED_BP = (0.0, 10.0, 20.0, 30.0)
LOW_SPEED_V = (15.0, 13.0, 10.0, 5.0)   # m/s: curvature error weighs as lateral accel at this speed, squared
MIN_INTEGRATE_SPEED = 5.0      # m/s: below, the integrator holds
SATURATION_TORQUE = 0.98       # |torque| at or above this is saturated


@dataclass(frozen=True)
class TorqueParams:
  lat_accel_factor: float      # m/s^2 at full torque
  friction: float              # m/s^2 of column friction


@dataclass(frozen=True)
class LatOutput:
  torque: float                # normalized -1..1, positive left
  error: float
  p: float
  i: float
  f: float
  saturated: bool
  desired_lateral_accel: float
  actual_lateral_accel: float


class LatControlTorque:
  def __init__(self):
    self.pid = PIDController(KP, KI, pos_limit=1.0, neg_limit=-1.0)

  def reset(self) -> None:
    self.pid.reset()

  def update(self, active: bool, v_ego: float, desired_curvature: float, desired_curvature_rate: float,
             actual_curvature: float, params: TorqueParams, steering_pressed: bool) -> LatOutput:
    """Torque for this step. The PID works in lateral accel and its limits are the car's full torque in it."""
    desired = desired_curvature * v_ego ** 2
    actual = actual_curvature * v_ego ** 2
    if not active:
      self.pid.reset()
      return LatOutput(0.0, 0.0, 0.0, 0.0, 0.0, False, desired, actual)
    low = float(np.interp(v_ego, LOW_SPEED_BP, LOW_SPEED_V)) ** 2
    error = (desired + low * desired_curvature) - (actual + low * actual_curvature)
    jerk = desired_curvature_rate * v_ego ** 2
    friction = float(np.interp(desired - actual + JERK_LOOKAHEAD_S * jerk, [-FRICTION_THRESHOLD, FRICTION_THRESHOLD],
                               [-params.friction, params.friction]))
    laf = params.lat_accel_factor
    self.pid.pos_limit, self.pid.neg_limit = laf, -laf
    out = self.pid.update(error, speed=v_ego, feedforward=desired + friction,
                          freeze_integrator=steering_pressed or v_ego < MIN_INTEGRATE_SPEED)
    torque = out / laf
    return LatOutput(torque, error, self.pid.p, self.pid.i, self.pid.f, abs(torque) >= SATURATION_TORQUE, desired,
                     actual)
