"""The driver the model learns from: the simulator's scripted driver, made to wander and to change lanes.

It follows a reference lateral position `d_ref` (a lane centre, or a smooth ramp between two during a lane change),
but now and then wanders off it on purpose (and its hands are a little sloppy), so the data covers recoveries.
What it *should* do from each state (the clean pure-pursuit curvature towards `d_ref`, the pedal acceleration) is
what the model is taught.
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from selfdrive.modeld.constants import DESIRE_LANE_CHANGE_LEFT, DESIRE_LANE_CHANGE_RIGHT, DESIRE_NONE, pursuit_curvature
from tools.sim import constants as C
from tools.sim.driver import DriverMode, ScriptedDriver
from tools.sim.vehicle import Controls
from tools.sim.world import GroundTruth, World

WANDER_GAP_S = (1.0, 6.0)        # time between wanderings off the reference
WANDER_S = (1.0, 3.0)            # how long one lasts
WANDER_M = 1.0                   # how far off it aims at most, m
WANDER_TAU_S = 0.6               # how smoothly the driver drifts there and back
NOISE_NM, NOISE_TAU_S = 0.1, 0.8  # a slow random steering torque (a sloppy hand)
LANE_CHANGE_GAP_S = (10.0, 30.0)
LANE_CHANGE_S = 4.0
LANE_CHANGE_CLEAR_M = (-25.0, 35.0)  # the target lane must be empty this far behind / ahead of us


def expert_curvature(gt: GroundTruth, offset: float, speed: float) -> float:
  """Pure pursuit towards the reference (offset: m right of it), as the scripted driver steers."""
  return float(pursuit_curvature(gt.curvature, offset, gt.heading_error, speed))


def pedal_accel(world: World, gas: float, brake: float) -> float:
  """The acceleration the driver's pedals ask for (the inverse of its pedal mapping)."""
  st = world.state
  resist = (C.DRAG_AREA * st.v ** 2) / world.vehicle.params.mass + C.ROLLING_RESISTANCE * C.G
  return -brake * C.MAX_BRAKE_DECEL if brake > 0.0 else gas * C.MAX_DRIVE_ACCEL - resist


@dataclass
class ExpertStep:
  controls: Controls
  d_ref: float            # reference lateral position (Frenet, left positive)
  desire: int
  curvature: float        # what the expert would steer, 1/m, left positive
  accel: float            # what the expert's pedals ask, m/s^2


class Expert:
  def __init__(self, rng: np.random.Generator, lane_changes: bool = True):
    self.rng, self.lane_changes = rng, lane_changes
    self.driver = ScriptedDriver(DriverMode.MANUAL)
    self.noise = 0.0
    self.wander, self.wander_at, self.wander_until, self.wander_to = 0.0, self._u(WANDER_GAP_S), 0.0, 0.0
    self.lc_at = self._u(LANE_CHANGE_GAP_S)
    self.lc: tuple[float, float, float] | None = None  # start time, from d, to d

  def _u(self, lo_hi: tuple[float, float]) -> float:
    return float(self.rng.uniform(*lo_hi))

  def _d_ref(self, world: World) -> tuple[float, int]:
    lay, t = world.road.layout, world.t
    if self.lc is not None:
      t0, d0, d1 = self.lc
      u = (t - t0) / LANE_CHANGE_S
      if u < 1.0:
        return d0 + (d1 - d0) * (0.5 - 0.5 * math.cos(math.pi * u)), (DESIRE_LANE_CHANGE_LEFT if d1 > d0
                                                                     else DESIRE_LANE_CHANGE_RIGHT)
      self.lc = None
      self.lc_at = t + self._u(LANE_CHANGE_GAP_S)
    lane = lay.lane_at(world.d)
    if self.lane_changes and t >= self.lc_at:
      targets = [j for j in (lane - 1, lane + 1) if 0 <= j < lay.n_lanes and self._clear(world, lay.lane_d(j))]
      if targets:
        self.lc = (t, lay.lane_d(lane), lay.lane_d(int(self.rng.choice(targets))))
        return self._d_ref(world)
      self.lc_at = t + 2.0
    return lay.lane_d(lane), DESIRE_NONE

  @staticmethod
  def _clear(world: World, d: float) -> bool:
    half = world.road.layout.lane_width / 2
    return not any(abs(c.d - d) < half + c.width / 2 and LANE_CHANGE_CLEAR_M[0] < c.s - world.s < LANE_CHANGE_CLEAR_M[1]
                   for c in world.traffic.cars)

  def step(self, world: World, gt: GroundTruth) -> ExpertStep:
    t = world.t
    d_ref, desire = self._d_ref(world)
    if t >= self.wander_at:
      self.wander_until = t + self._u(WANDER_S)
      self.wander_to = self._u((-WANDER_M, WANDER_M))
      self.wander_at = self.wander_until + self._u(WANDER_GAP_S)
    target = self.wander_to if t < self.wander_until else 0.0
    self.wander += (target - self.wander) * C.DT / WANDER_TAU_S
    self.noise += -self.noise * C.DT / NOISE_TAU_S + NOISE_NM * math.sqrt(2 * C.DT / NOISE_TAU_S) * self.rng.normal()
    # the driver aims at the wandering reference; the label is what aiming at the true one would do
    action = self.driver.step(world, replace(gt, lateral_offset=-(world.d - d_ref - self.wander)), False)
    controls = Controls(driver_torque=action.torque + self.noise, gas=action.gas, brake=action.brake)
    return ExpertStep(controls, d_ref, desire, expert_curvature(gt, -(world.d - d_ref), world.state.v),
                      pedal_accel(world, action.gas, action.brake))
