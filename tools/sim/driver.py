"""The simulator's scripted driver: drives by hand, presses SET to hand over to the stack, and supervises.

It takes over (brake, then steer and drive itself) when the engaged stack lets the car stray from its lane or
close in on a lead too fast, as an attentive human would; after a while of calm manual driving it engages again.
SET takes the speed of the moment (a slow one behind traffic, say), so engaged it pushes the stalk up, a step a
second, until the set speed is its cruising speed: the stack then keeps to it, slowing for curves and leads.
"""
import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from selfdrive.modeld.constants import pursuit_curvature
from tools.sim import constants as C
from tools.sim.ecu.interface import DriverInputs
from tools.sim.world import GroundTruth, World

ENGAGE_AFTER_S = 3.0          # calm manual driving before pressing SET
ENGAGE_MAX_OFFSET_M = 0.3     # ... with the car this close to its lane centre
TAKEOVER_OFFSET_M = 1.0       # engaged, the car this far off its lane centre: take over
TAKEOVER_TTC_S = 1.5          # engaged, closing on the lead this fast: take over
TAKEOVER_BRAKE_S = 0.3        # how long the takeover brake press lasts
CURVE_LAT_ACCEL = 1.5         # the driver slows for curves to this lateral acceleration
CURVE_PREVIEW_S = 5.0
FOLLOW_GAP_S, FOLLOW_MIN_M = 2.0, 6.0
CRUISE_SPEED = 25.0           # what the driver drives at on an open road, m/s
SET_SPEED_PRESS_S = 1.0       # engaged, the driver raises the set speed towards CRUISE_SPEED a push this often
BRAKE_TO_SET_S = 0.5          # the foot off the brake this long before SET: pressed together, the car's cruise frame
                              # could say engaged before its brake frame said released, and the safety model then
                              # refused the engagement (one controlsMismatch disengagement on seed 419)



class DriverMode(Enum):
  ENGAGE = "engage"    # hand over to the stack whenever it is calm to do so, and supervise
  MANUAL = "manual"    # never engage


@dataclass
class DriverAction:
  inputs: DriverInputs = field(default_factory=DriverInputs)
  torque: float = 0.0   # Nm at the steering wheel
  gas: float = 0.0
  brake: float = 0.0


@dataclass
class ScriptedDriver:
  mode: DriverMode = DriverMode.ENGAGE
  calm_since: float = 0.0
  takeover_until: float = -1.0
  takeovers: int = 0
  engagements: int = 0
  raised_at: float = -1.0
  braked_at: float = -math.inf

  def step(self, world: World, gt: GroundTruth, engaged: bool, set_speed: float = 0.0) -> DriverAction:
    """set_speed: m/s, the cruise's set speed the cluster shows (used only while engaged)."""
    t = world.t
    if engaged and self._unsafe(gt):
      self.takeovers += 1
      self.takeover_until = t + TAKEOVER_BRAKE_S
    if t < self.takeover_until:
      self.calm_since = t
      return DriverAction(DriverInputs(cruise_cancel=True), self._steer(world, gt), brake=0.3)
    if engaged:  # hands off, feet off: the stack drives; the stalk up now and then, to cruising speed
      raise_speed = set_speed < CRUISE_SPEED - 1.0 and t - self.raised_at >= SET_SPEED_PRESS_S
      if raise_speed:
        self.raised_at = t
      return DriverAction(DriverInputs(cruise_accel=raise_speed))
    if abs(gt.lateral_offset) > ENGAGE_MAX_OFFSET_M:
      self.calm_since = t
    action = DriverAction(DriverInputs(), self._steer(world, gt), *self._pedals(world, gt))
    if action.brake > 0.0:
      self.braked_at = t
    if self.mode is DriverMode.ENGAGE and t - self.calm_since > ENGAGE_AFTER_S and t - self.braked_at >= BRAKE_TO_SET_S:
      action.inputs.cruise_set = True
      self.engagements += 1
      self.calm_since = t
    return action

  @staticmethod
  def _unsafe(gt: GroundTruth) -> bool:
    closing = gt.lead_present and gt.lead_v_rel < 0 and gt.lead_distance / -gt.lead_v_rel < TAKEOVER_TTC_S
    return abs(gt.lateral_offset) > TAKEOVER_OFFSET_M or closing or gt.collision or gt.off_road

  @staticmethod
  def _steer(world: World, gt: GroundTruth) -> float:
    """Pure pursuit on the lane centre, as a wheel angle, held with the torque the column needs."""
    st, p = world.state, world.vehicle.params
    u = max(st.v, 1.0)
    curv = float(pursuit_curvature(gt.curvature, gt.lateral_offset, gt.heading_error, u))
    angle = curv / p.curvature(1.0, u)
    k = world.vehicle.align_stiffness(u)
    err = angle - math.radians(st.steer_deg)
    friction = C.STEER_FRICTION / C.LAT_ACCEL_FACTOR * C.EPS_MAX_NM * math.copysign(1.0, err)
    return k * angle + 2.0 * k * err + friction

  @staticmethod
  def _pedals(world: World, gt: GroundTruth) -> tuple[float, float]:
    st = world.state
    ahead = world.s + np.linspace(0.0, max(st.v, 5.0) * CURVE_PREVIEW_S, 20)
    k_max = float(np.max(np.abs(world.road.curvature(ahead))))
    v_target = min(CRUISE_SPEED, math.sqrt(CURVE_LAT_ACCEL / max(k_max, 1e-4)))
    accel = 0.4 * (v_target - st.v)
    if gt.lead_present:
      gap = FOLLOW_MIN_M + FOLLOW_GAP_S * st.v
      accel = min(accel, 0.2 * (gt.lead_distance - gap) + 0.6 * gt.lead_v_rel)
    accel = min(max(accel, -C.MAX_BRAKE_DECEL * 0.6), 1.5)
    resist = (C.DRAG_AREA * st.v ** 2) / world.vehicle.params.mass + C.ROLLING_RESISTANCE * C.G
    if accel >= -resist:
      return min((accel + resist) / C.MAX_DRIVE_ACCEL, 1.0), 0.0
    return 0.0, min(-accel / C.MAX_BRAKE_DECEL, 1.0)
