"""What passes between the simulator's physics and a car's ECUs each 10 ms step: the car's true state and the
scripted driver's hands on the controls in, the actuator commands the car obeys out. Brand neutral."""
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RadarTarget:
  """A car the front radar sees: from the front bumper to its rear, in the car frame (left positive)."""
  id: int
  d_rel: float             # m ahead
  y_rel: float             # m
  v_rel: float             # m/s, its speed minus ours
  a_rel: float             # m/s^2


@dataclass
class CarTruth:
  """What the physics knows now. Angles are of the steering wheel, positive left; torques positive left."""
  v_ego: float             # m/s
  a_ego: float             # m/s^2
  wheel_speeds: tuple[float, float, float, float]  # m/s fl, fr, rl, rr
  yaw_rate: float          # rad/s
  steering_angle_deg: float
  steering_rate_deg: float
  driver_torque: float     # Nm at the wheel applied by the (scripted) driver
  eps_torque: float        # Nm the EPS motor applies now
  gas_pressed: bool
  brake_pressed: bool
  gear: str                # "P", "D", "N", "R"
  left_blinker: bool = False
  right_blinker: bool = False
  radar: Callable[[], tuple[RadarTarget, ...]] = tuple  # what the front radar sees now: asked only when it scans


@dataclass
class DriverInputs:
  """What the scripted driver does to the car's cruise controls this step (a held button is one press)."""
  cruise_main_on: bool = True
  cruise_set: bool = False         # press SET on the stalk (engage)
  cruise_accel: bool = False       # push the stalk up: engaged, the set speed goes up a step
  cruise_cancel: bool = False      # pull cancel on the stalk


@dataclass
class CarCommands:
  """What the car's actuators do, as the car obeys the stack. The physics applies `accel` while the ECU's
  cruise is engaged (and the driver is not braking), `steer_torque` always."""
  steer_torque: float = 0.0        # EPS torque request, normalized -1..1 of the EPS max (sim EPS_MAX_NM)
  steer_active: bool = False       # request bit set and no EPS fault
  accel: float = 0.0               # m/s^2 the cruise asks of the powertrain: the stack's, or the car's own cruise
  accel_active: bool = False       # accel is the stack's request (openpilot longitudinal, engaged, fresh command)
  eps_fault: bool = False          # the EPS refused (too-fast torque change etc.), for ~1 s like the real car
