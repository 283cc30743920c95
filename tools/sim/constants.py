"""Every number the simulator is built from, in one place. SI units; angles in radians unless named _DEG."""
import math

# time
DT = 0.01                    # physics step, s: the CAN rate (100 Hz)
RENDER_HZ = 20               # camera frame rate
STEPS_PER_FRAME = round(1 / (DT * RENDER_HZ))

# openpilot's output grids (T_IDXS, X_IDXS) live in cereal/arrays.py, beside the messages that use them

G = 9.81

# the car the simulator simulates: its ECU speaks this opendbc platform's CAN, and the stack is told so
SIM_PLATFORM = "TOYOTA_RAV4_TSS2"

# --- road generation
ROAD_DS = 1.0                          # centerline sample spacing, m
ROAD_CHUNK_M = 2000.0                  # the road is generated lazily, at least this much at a time
ROAD_LOOKAHEAD_M = 600.0               # always generated this far beyond anything queried
ROAD_START_STRAIGHT_M = 400.0          # the drive starts on a straight
LANES_MIN, LANES_MAX = 2, 4
LANE_WIDTH_MIN, LANE_WIDTH_MAX = 3.5, 3.8
SHOULDER_MIN, SHOULDER_MAX = 0.6, 3.0  # pavement beyond the outer lines, m
MIN_RADIUS = 150.0                     # tightest curve, m
MAX_RADIUS = 2500.0
STRAIGHT_MIN, STRAIGHT_MAX = 80.0, 700.0
TRANSITION_MIN, TRANSITION_MAX = 40.0, 160.0  # clothoid: curvature ramps linearly over this length
ARC_MIN, ARC_MAX = 60.0, 450.0
MAX_TURN = math.radians(90.0)          # heading change of one curve
MAX_HEADING = math.radians(80.0)       # |heading| stays below this, so the road never crosses itself
MARK_WIDTH_MIN, MARK_WIDTH_MAX = 0.10, 0.16
DASH_LEN_MIN, DASH_LEN_MAX = 2.5, 3.5   # dashed lines: painted length, then gap, m
DASH_GAP_MIN, DASH_GAP_MAX = 6.0, 9.5

# --- vehicle: Toyota RAV4 TSS2 (opendbc's CarSpecs: 3585 lb, wheelbase 2.68986 m, tire stiffness factor 0.7933)
LB_TO_KG = 0.453592
DRIVER_KG = 75.0
RAV4_MASS = 3585.0 * LB_TO_KG + DRIVER_KG  # ~1700 kg: curb weight plus a driver
RAV4_WHEELBASE = 2.68986
RAV4_STEER_RATIO = 15.3
RAV4_CENTER_TO_FRONT_RATIO = 0.44
RAV4_TIRE_STIFFNESS_FACTOR = 0.7933
RAV4_LENGTH, RAV4_WIDTH, RAV4_TRACK = 4.60, 1.855, 1.61
RAV4_FRONT_FROM_CG = 2.11              # CG to front bumper, m
RAV4_WHEEL_RADIUS = 0.36
# openpilot's reference car (Civic) that inertia and tire stiffness are scaled from, as in its vehicle_model
REF_MASS, REF_WHEELBASE, REF_CENTER_TO_FRONT = 1326.0 + 136.0, 2.70, 2.70 * 0.4
REF_ROT_INERTIA, REF_TIRE_STIFFNESS_FRONT, REF_TIRE_STIFFNESS_REAR = 2500.0, 192150.0, 202500.0

V_KINEMATIC = 2.0        # below: kinematic bicycle, above V_DYNAMIC: dynamic, blended between (m/s)
V_DYNAMIC = 5.0
MAX_WHEEL_DEG = 540.0    # steering wheel lock

# steering column: torque -> steering wheel angle
EPS_MAX_NM = 3.0                  # EPS torque at a request of 1.0 (Nm at the steering wheel)
EPS_TAU = 0.05                    # EPS motor torque lag, s
STEER_TAU = 0.12                  # wheel angle lag towards its torque balance, s
STEER_RATE_MAX_DPS = 400.0        # fastest the wheel can turn
LAT_ACCEL_FACTOR = 1.9557514786720276  # m/s^2 of lateral accel at full EPS torque (opendbc torque data, RAV4 TSS2)
STEER_FRICTION = 0.12075843289494514   # column friction, in the same lateral-accel units
STANDSTILL_FULL_TORQUE_DEG = 180.0     # wheel angle full EPS torque holds at standstill (tyre scrub, no aligning)

# powertrain and brakes
MAX_POWER_W = 130e3               # at the wheels
MAX_DRIVE_ACCEL = 4.0             # traction limited launch
MAX_BRAKE_DECEL = 9.0             # full brake pedal
ENGINE_TAU = 0.25
BRAKE_TAU = 0.10
DRAG_AREA = 0.5 * 1.225 * 0.35 * 2.6   # 1/2 rho Cd A, kg/m
ROLLING_RESISTANCE = 0.012
STANDSTILL_SPEED = 0.01           # below this and not pushed forward, the car is held at rest

# --- camera: a road camera like comma's (910 px focal at 1164x874), any resolution keeps that field of view
FOCAL_REF, WIDTH_REF = 910.0, 1164
# the front radar (a TSS2 Toyota's on the CAN's bus 1): what it sees of the traffic ahead
RADAR_RANGE_M = 150.0
RADAR_HALF_FOV = math.radians(30.0)   # beyond its first few metres it sees this far to either side
RADAR_NEAR_HALF_WIDTH_M = 3.0         # ... and at least this wide right in front
CAMERA_HEIGHT = 1.22
CAMERA_FROM_CG = 0.60             # camera ahead of the CG, m
MOUNT_PITCH_MAX = math.radians(1.5)
MOUNT_YAW_MAX = math.radians(2.0)
MODEL_RES = (512, 256)
FULL_RES = (1928, 1208)

# --- world
START_STATION = 60.0              # where the ego starts on the road, m
GT_AHEAD_M, GT_SAMPLES = 260.0, 160  # lane lines are sampled this far ahead for the X_IDXS ground truth

# --- rendering
NEAR_Z = 0.3                      # near clipping plane, m in front of the camera
RENDER_BEHIND_M, RENDER_AHEAD_M = 12.0, 400.0
RENDER_SAMPLES = 72
DASH_AHEAD_M = 160.0              # dashes further than this are sub-pixel at model resolution
TEXTURE_SIZE, TEXTURE_RES = 512, 0.05  # tileable ground texture: texels, m per texel
TEXTURE_MAX_WIDTH = 640           # the texture/shadow layer is computed at most this wide, then upscaled
TEXTURE_FADE_M = 60.0             # texture contrast fades out towards this distance
SHADOW_SPACING_M = (25.0, 90.0)
TREELINE_SAMPLES = 2048           # azimuth resolution of the distant treeline
SUBPIXEL_SHIFT = 4                # fillPoly fixed-point bits
SHADOW_PERIOD_M = 50000.0         # the roadside shadow pattern repeats after this much road
SHADOW_VERTS = 12
HAZE_M = 1500.0                   # distance at which the air has washed out 63% of the colour
POST_SPACING_M = 50.0             # roadside delineator posts
WEAR_LEVELS = 4                   # dashes are drawn in this many shades of wear
CAR_SHADOW, TREE_SHADOW = 45, 80  # texture-layer value in a shadow (128 is unshaded)
TREELINE_COLUMNS = 256            # polygon vertices along the treeline

# --- traffic
CAR_LENGTHS = {"sedan": (4.4, 4.9), "suv": (4.5, 5.0), "van": (5.0, 6.5)}
CAR_WIDTHS = {"sedan": (1.75, 1.85), "suv": (1.8, 1.95), "van": (1.9, 2.1)}
CAR_HEIGHTS = {"sedan": (1.40, 1.50), "suv": (1.65, 1.80), "van": (2.0, 2.7)}
CAR_COLORS = [(200, 200, 200), (30, 30, 35), (230, 230, 230), (120, 125, 130), (150, 20, 25), (20, 45, 110),
              (60, 80, 60), (180, 150, 110), (90, 30, 20), (245, 245, 245)]
TRAFFIC_MIN_CARS, TRAFFIC_MAX_CARS = 3, 8
TRAFFIC_AHEAD_M, TRAFFIC_BEHIND_M = 300.0, 90.0   # cars beyond are recycled
IDM_TIME_GAP, IDM_MIN_GAP, IDM_ACCEL, IDM_DECEL = 1.4, 3.0, 1.4, 2.0
TRAFFIC_ACCEL_TAU = 0.25
HARD_BRAKE = -6.0
CUT_IN_GAP = 10.0                 # a cutting-in car pulls up this far ahead of the ego's front bumper
CUT_IN_MIN_GAP = 4.0              # and never cuts in closer than this (or 0.3 s at the ego's speed),
CUT_IN_MIN_TTC_S = 2.0            # nor where the ego, closing on it, would reach it sooner than this
CUT_IN_WAIT_S = 10.0              # how long a cut-in waits for its car to draw level before it is skipped
CUT_IN_RELAX_S = 6.0              # a car that cut in accepts the gap it left, back to IDM_TIME_GAP within
                                  # this (headway relaxation): IDM alone brakes it at up to 8 m/s^2 to open the gap
TRAFFIC_MAX_DECEL = -8.0
CURVE_LAT_ACCEL = 2.0             # traffic slows for curves to keep lateral acceleration below this
LANE_CHANGE_S = (2.5, 4.0)
LANE_WANDER_TAU_S = 3.0           # with lane wander on, a car drifts about its lane centre this slowly ...
LANE_WANDER_MAX_M = 0.8           # ... and never further than this
LANE_WANDER_LAG_S = 1.0           # s: how smoothly it steers after its drifting aim
EVENT_GAP_S = (25.0, 50.0)
EVENT_HOLD_S = (3.0, 10.0)        # s a lead that slows, brakes or cuts in holds its low speed before resuming
STOP_HOLD_S = (6.0, 15.0)         # s a lead that stopped stands (a queue at a light), long enough to stop behind:
                                  # braking with it from cruise at its time gap, the car comes to rest 4.3-5.6 s after
                                  # it (641, 643); at the old 3-10 s, 643's lead left after 3.3 s with the car at
                                  # 1.9 m/s, and 541's drive, its one lead standing 5.6 s, made no full stop
EVENT_PREPARE_S = 14.0            # a scheduled event first sets itself up this long before it happens
FIRST_EVENT_S = 20.0
SCHEDULE_S = 4 * 3600.0           # events are scheduled this far into a drive
