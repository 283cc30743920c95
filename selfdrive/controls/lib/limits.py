"""Every limit and constant the planners, controllers and engagement logic share, in one place. SI units.

Lateral limits follow ISO 11270 (lane keeping), longitudinal comfort limits ISO 15622 (ACC).
"""
import numpy as np

from cereal.arrays import T_IDXS

# --- timing
DT_CTRL = 0.01                 # controlsd and selfdrived run at the carState rate, 100 Hz
DT_MDL = 0.05                  # plannerd makes one plan per model frame, 20 Hz
CONTROL_N = 17                 # plans carry their trajectories at T_IDXS[:CONTROL_N], 0 .. 2.5 s
T_CONTROL = T_IDXS[:CONTROL_N].astype(np.float64)

# --- lateral
ISO_LATERAL_ACCEL = 3.0        # m/s^2: the most lateral acceleration the desired curvature may ask for
ISO_LATERAL_JERK = 5.0         # m/s^3: the fastest it may change
MIN_LATERAL_SPEED = 1.0        # m/s: the lateral limits are taken at least at this speed
MAX_CURVATURE = 0.2            # 1/m: a 5 m radius, tighter than any car turns
CURVE_LATERAL_ACCEL = 1.5      # m/s^2 the planner slows curves to: the EPS holds ~1.9 at full torque
CURVE_DECEL = 1.0              # m/s^2 it brakes at ahead of a curve
CURVE_DECEL_MAX = 2.0          # ... and at most, when a curve shows up late
STEER_CAPABILITY_SHARE = 0.8   # of the car's lateral accel at full torque (latAccelFactor): a curve within
STEER_CAPABILITY_S = 2.0       # this many seconds asking more at our speed is braked for as hard as the stack brakes
LANE_CHANGE_SPEED_MIN = 8.9    # m/s (20 mph): no lane change below
LANE_CHANGE_TIME_MAX = 10.0    # s: a lane change not done by then is abandoned

# --- longitudinal
ACCEL_MIN = -3.5               # m/s^2: hardest braking the stack commands (opendbc's Toyota limit too)
ACCEL_MAX_BP = (0.0, 10.0, 25.0, 40.0)   # m/s
ACCEL_MAX_V = (1.6, 1.2, 0.8, 0.6)       # m/s^2: comfortable acceleration by speed
CRUISE_DECEL = 1.0             # m/s^2 to reach a lower set speed
BESIDE_ACCEL_MAX = 0.0         # m/s^2: the most while a car close ahead in a next lane may pull in (radard's beside),
BESIDE_MIN_SPEED = 5.0         # m/s: above this speed
BESIDE_ROOM_S = 1.2            # s: one that close ahead (its gap over our speed), that we are not passing faster ...
BESIDE_PASSING_MPS = 1.0       # ... than this, is left room to pull in: the plan eases off at
BESIDE_ROOM_ACCEL = -0.3       # m/s^2 at most
JERK_MAX = 2.5                 # m/s^3: the fastest acceleration rises (and brakes release)
JERK_MIN = -5.0                # m/s^3: the fastest braking builds up ...
JERK_MIN_URGENT = -10.0        # ... and where braking built at JERK_MIN would still close the time gap to a lead
URGENT_TIME_GAP_S = 1.0        # under this ...
URGENT_HORIZON_S = 3.0         # ... within this, or where the plan would brake faster than JERK_MIN behind a lead
URGENT_LEAD_DECEL = -3.0       # m/s^2 braking harder than this
STOP_DISTANCE = 5.0            # m between bumpers, stopped behind a lead
COMFORT_BRAKE = 2.5            # m/s^2: following distances keep room to stop braking at this (openpilot's)
LEAD_PROB_MIN = 0.5            # a model lead below this probability is not followed
LEAD_ACCEL_TAU = 1.5           # s: a lead's acceleration is assumed to fade with this time constant
FCW_DECEL = -3.0               # m/s^2: a lead that needs harder braking than this to avoid warns the driver
FCW_MIN_SPEED = 5.0            # m/s
FOLLOW_TIME_GAP = {"aggressive": 1.25, "standard": 1.45, "relaxed": 1.75}   # s, by personality
DISTANCE_BARS = {"aggressive": 1, "standard": 2, "relaxed": 3}               # the car's follow-distance display

# --- engagement
SOFT_DISABLE_S = 2.0           # s of soft disabling: with the 0.5 s it takes to see a 20 Hz input stop, 2.5 s in all:
                               # the 0.5 s left to the 3 s promise is for a loaded machine's late steps
TORQUE_RAMP_S = 1.0            # s over which lateral torque fades to zero at the end of a soft disable


def accel_max(v_ego: float) -> float:
  return float(np.interp(v_ego, ACCEL_MAX_BP, ACCEL_MAX_V))
