"""The ego car: a dynamic bicycle model (kinematic at walking pace), a torque-driven steering column, a powertrain.

Signs follow openpilot's carState: steering angle, yaw rate and lateral acceleration are positive to the left.
The lateral state is integrated implicitly (backward Euler), so the stiff tyre dynamics stay stable at any speed
above V_KINEMATIC; below V_DYNAMIC it is blended into the kinematic model, which alone holds at standstill.
"""
import math
from dataclasses import dataclass, field
from enum import IntEnum

from tools.sim import constants as C


class Gear(IntEnum):
  PARK = 0
  DRIVE = 1


@dataclass(frozen=True)
class CarParams:
  """Physical parameters; inertia and tyre stiffness scaled from a reference car as openpilot's vehicle_model does."""
  mass: float
  wheelbase: float
  center_to_front: float
  steer_ratio: float
  rot_inertia: float
  tire_stiffness_front: float
  tire_stiffness_rear: float
  length: float
  width: float
  track: float
  front_from_cg: float

  @staticmethod
  def rav4() -> "CarParams":
    m, wb = C.RAV4_MASS, C.RAV4_WHEELBASE
    a_f = wb * C.RAV4_CENTER_TO_FRONT_RATIO
    a_r = wb - a_f
    ref_a_f, ref_wb = C.REF_CENTER_TO_FRONT, C.REF_WHEELBASE
    scale = C.RAV4_TIRE_STIFFNESS_FACTOR * m / C.REF_MASS
    c_f = C.REF_TIRE_STIFFNESS_FRONT * scale * (a_r / wb) / ((ref_wb - ref_a_f) / ref_wb)
    c_r = C.REF_TIRE_STIFFNESS_REAR * scale * (a_f / wb) / (ref_a_f / ref_wb)
    j = C.REF_ROT_INERTIA * m * wb ** 2 / (C.REF_MASS * ref_wb ** 2)
    return CarParams(m, wb, a_f, C.RAV4_STEER_RATIO, j, c_f, c_r, C.RAV4_LENGTH, C.RAV4_WIDTH, C.RAV4_TRACK,
                     C.RAV4_FRONT_FROM_CG)

  @property
  def center_to_rear(self) -> float:
    return self.wheelbase - self.center_to_front

  @property
  def rear_from_cg(self) -> float:
    return self.length - self.front_from_cg

  def slip_factor(self) -> float:
    """openpilot's slip factor: negative for an understeering car; curvature = delta / (l * (1 - sf * u^2))."""
    c_f, c_r = self.tire_stiffness_front, self.tire_stiffness_rear
    return self.mass * (c_f * self.center_to_front - c_r * self.center_to_rear) / (self.wheelbase ** 2 * c_f * c_r)

  def curvature(self, steer_rad: float, u: float) -> float:
    """Steady-state path curvature for a steering wheel angle (the understeer formula)."""
    return steer_rad / self.steer_ratio / (self.wheelbase * (1.0 - self.slip_factor() * u ** 2))


@dataclass
class Controls:
  """One physics step's inputs: the ECU's requests and the driver's hands and feet."""
  steer_torque: float = 0.0     # EPS torque request, -1..1 of EPS_MAX_NM, positive turns left
  accel: float = 0.0            # ACC acceleration request, m/s^2 (only while long_active)
  long_active: bool = False     # ACC engaged: the powertrain/brakes follow `accel`; otherwise the car coasts
  driver_torque: float = 0.0    # Nm at the steering wheel, positive turns left
  gas: float = 0.0              # pedal 0..1
  brake: float = 0.0            # pedal 0..1
  gear: Gear = Gear.DRIVE


@dataclass
class VehicleState:
  """True state at the CG. World frame: x, y on the ground, yaw counter-clockwise from +x."""
  x: float = 0.0
  y: float = 0.0
  yaw: float = 0.0
  v: float = 0.0                # forward speed, m/s
  v_lat: float = 0.0            # lateral speed at the CG, left positive
  yaw_rate: float = 0.0         # rad/s, left positive
  a: float = 0.0                # longitudinal acceleration, m/s^2
  a_lat: float = 0.0            # lateral acceleration, m/s^2, left positive
  steer_deg: float = 0.0        # steering wheel angle, left positive
  steer_rate_dps: float = 0.0
  eps_torque: float = 0.0       # Nm the EPS motor applies
  driver_torque: float = 0.0    # Nm the driver applies
  wheel_speeds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # fl, fr, rl, rr, m/s
  gear: Gear = Gear.DRIVE
  gas: float = 0.0
  brake: float = 0.0
  engine_force: float = 0.0     # N at the wheels, lagged
  brake_force: float = 0.0      # N, lagged
  odometer: float = 0.0         # m travelled


@dataclass
class Vehicle:
  """Steps the ego car at DT. `state` is the truth every other part of the simulator reads."""
  params: CarParams = field(default_factory=CarParams.rav4)
  state: VehicleState = field(default_factory=VehicleState)

  # --- steering column
  def align_stiffness(self, u: float) -> float:
    """Nm per rad of steering wheel angle the column settles against: tyre scrub plus the self-aligning moment,
    which grows with lateral acceleration, sized so full EPS torque holds LAT_ACCEL_FACTOR at speed."""
    p = self.params
    k0 = C.EPS_MAX_NM / math.radians(C.STANDSTILL_FULL_TORQUE_DEG)
    return k0 + C.EPS_MAX_NM / C.LAT_ACCEL_FACTOR * u * u * p.curvature(1.0, u)

  def _steer(self, c: Controls, u: float, dt: float) -> None:
    st = self.state
    req = min(max(c.steer_torque, -1.0), 1.0) * C.EPS_MAX_NM
    st.eps_torque += (req - st.eps_torque) * min(dt / C.EPS_TAU, 1.0)
    st.driver_torque = c.driver_torque
    k = self.align_stiffness(u)
    angle = math.radians(st.steer_deg)
    err = (st.eps_torque + st.driver_torque) / k - angle
    friction = C.STEER_FRICTION / C.LAT_ACCEL_FACTOR * C.EPS_MAX_NM / k  # deadband, rad
    err = math.copysign(max(abs(err) - friction, 0.0), err)
    rate = min(max(err / C.STEER_TAU, -math.radians(C.STEER_RATE_MAX_DPS)), math.radians(C.STEER_RATE_MAX_DPS))
    lock = math.radians(C.MAX_WHEEL_DEG)
    new = min(max(angle + rate * dt, -lock), lock)
    st.steer_rate_dps = math.degrees((new - angle) / dt)
    st.steer_deg = math.degrees(new)

  # --- longitudinal
  def _longitudinal(self, c: Controls, u: float, dt: float) -> float:
    """New forward speed; updates forces and accel."""
    p, st = self.params, self.state
    m = p.mass
    resist = C.DRAG_AREA * u * u + (C.ROLLING_RESISTANCE * m * C.G if u > C.STANDSTILL_SPEED else 0.0)
    drive_max = min(C.MAX_DRIVE_ACCEL * m, C.MAX_POWER_W / max(u, 1.0))
    engine, brake = 0.0, c.brake * C.MAX_BRAKE_DECEL * m
    if c.long_active and c.brake <= 0.0:
      want = m * c.accel + resist  # the car's own controller feeds forward its resistances
      engine, brake = max(want, 0.0), brake + max(-want, 0.0)
    engine = max(engine, c.gas * drive_max)
    if c.gear == Gear.PARK:
      engine, brake = 0.0, C.MAX_BRAKE_DECEL * m
    st.engine_force += (min(engine, drive_max) - st.engine_force) * min(dt / C.ENGINE_TAU, 1.0)
    st.brake_force += (brake - st.brake_force) * min(dt / C.BRAKE_TAU, 1.0)
    push = st.engine_force - resist
    if u <= C.STANDSTILL_SPEED and push <= st.brake_force:
      return 0.0  # held at rest: brakes and resistance never push backwards
    return max(u + (push - st.brake_force) / m * dt, 0.0)

  # --- lateral
  def _lateral(self, u: float, dt: float) -> tuple[float, float]:
    """New (v_lat, yaw_rate) for forward speed u at the current steering angle."""
    p, st = self.params, self.state
    delta = math.radians(st.steer_deg) / p.steer_ratio
    r_kin = u * math.tan(delta) / p.wheelbase
    v_kin = r_kin * p.center_to_rear
    w = min(max((u - C.V_KINEMATIC) / (C.V_DYNAMIC - C.V_KINEMATIC), 0.0), 1.0)
    if w <= 0.0:
      return v_kin, r_kin
    m, j, a_f, a_r, c_f, c_r = p.mass, p.rot_inertia, p.center_to_front, p.center_to_rear, \
      p.tire_stiffness_front, p.tire_stiffness_rear
    a00 = -(c_f + c_r) / (m * u)
    a01 = -(c_f * a_f - c_r * a_r) / (m * u) - u
    a10 = -(c_f * a_f - c_r * a_r) / (j * u)
    a11 = -(c_f * a_f ** 2 + c_r * a_r ** 2) / (j * u)
    b0, b1 = c_f / m * delta, c_f * a_f / j * delta
    # backward Euler: (I - dt A) x' = x + dt B delta
    r0, r1 = st.v_lat + dt * b0, st.yaw_rate + dt * b1
    m00, m01, m10, m11 = 1 - dt * a00, -dt * a01, -dt * a10, 1 - dt * a11
    det = m00 * m11 - m01 * m10
    v_dyn, r_dyn = (m11 * r0 - m01 * r1) / det, (m00 * r1 - m10 * r0) / det
    return w * v_dyn + (1 - w) * v_kin, w * r_dyn + (1 - w) * r_kin

  def step(self, c: Controls, dt: float = C.DT) -> None:
    p, st = self.params, self.state
    u = st.v
    self._steer(c, u, dt)
    u_new = self._longitudinal(c, u, dt)
    v_lat, r = self._lateral(u_new, dt)
    st.a_lat = (v_lat - st.v_lat) / dt + u_new * r
    st.a = (u_new - u) / dt
    yaw_mid = st.yaw + r * dt / 2
    um = (u + u_new) / 2
    st.x += (um * math.cos(yaw_mid) - v_lat * math.sin(yaw_mid)) * dt
    st.y += (um * math.sin(yaw_mid) + v_lat * math.cos(yaw_mid)) * dt
    st.yaw += r * dt
    st.v, st.v_lat, st.yaw_rate = u_new, v_lat, r
    st.odometer += um * dt
    half = p.track / 2 * r
    st.wheel_speeds = (max(u_new - half, 0.0), max(u_new + half, 0.0), max(u_new - half, 0.0), max(u_new + half, 0.0))
    st.gear, st.gas, st.brake = c.gear, c.gas, c.brake
