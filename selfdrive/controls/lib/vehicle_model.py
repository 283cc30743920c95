"""The steady-state bicycle model: the path curvature a steering wheel angle gives at a speed (understeer included),
from carParams, refined by paramsd's learned steer ratio, tyre stiffness and angle offset when it runs."""
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleModel:
  mass: float
  wheelbase: float
  center_to_front: float
  steer_ratio: float
  stiffness_front: float
  stiffness_rear: float
  angle_offset_deg: float = 0.0

  @staticmethod
  def from_car_params(cp, live=None) -> "VehicleModel":
    """carParams, and liveParameters where it is valid."""
    ratio, stiffness, offset = cp.steerRatio, 1.0, 0.0
    if live is not None and live.valid:
      ratio, stiffness, offset = live.steerRatio, live.stiffnessFactor, live.angleOffsetDeg
    return VehicleModel(cp.mass, cp.wheelbase, cp.centerToFront, ratio, cp.tireStiffnessFront * stiffness,
                        cp.tireStiffnessRear * stiffness, offset)

  @staticmethod
  def from_submaster(cp, sm) -> "VehicleModel":
    """carParams, and the liveParameters a SubMaster holds once it has seen them (subscribed to liveParameters)."""
    return VehicleModel.from_car_params(cp, sm["liveParameters"] if sm.seen["liveParameters"] else None)

  @property
  def slip_factor(self) -> float:
    """Negative for an understeering car: curvature = delta / (l (1 - sf u^2))."""
    c_f, c_r, wb, a_f = self.stiffness_front, self.stiffness_rear, self.wheelbase, self.center_to_front
    return self.mass * (c_f * a_f - c_r * (wb - a_f)) / (wb * wb * c_f * c_r)

  def curvature(self, steering_angle_deg: float, v: float) -> float:
    """1/m, positive left, of the steering wheel angle (positive left) at speed v."""
    delta = math.radians(steering_angle_deg - self.angle_offset_deg) / self.steer_ratio
    return delta / (self.wheelbase * (1.0 - self.slip_factor * v * v))

  def road_wheel_angle(self, curvature: float, v: float) -> float:
    """rad, positive left: the road wheels' angle that drives this curvature at speed v (curvature's inverse, less
    the steer ratio and angle offset)."""
    return curvature * self.wheelbase * (1.0 - self.slip_factor * v * v)
