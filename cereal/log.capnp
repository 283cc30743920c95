# localpilot's message schema: one Event union with a member per service.
# Rule: field numbers are never reused or renumbered; retired fields keep their number with a DEPRECATED suffix.
# Big numeric arrays travel as raw little-endian float32 `Data` (shapes documented beside each field and
# defined once in cereal/arrays.py), because building and reading capnp lists costs ~100x more.
@0x97ed7346e3967991;

# carState, carControl and carOutput are opendbc's car.capnp structs (cereal/__init__.py puts its folder on the
# import path), so card hands opendbc's CarState and CarControl on as they are.
using Car = import "/car.capnp";

struct CanData {
  address @0 :UInt32;
  dat @1 :Data;
  src @2 :UInt8;   # bus number; 128 + bus for frames echoed back after sending
}

struct PandaState {
  pandaType @0 :PandaType;
  ignitionLine @1 :Bool;
  controlsAllowed @2 :Bool;
  safetyModel @3 :UInt16;        # opendbc safety model number
  safetyParam @4 :UInt16;
  safetyTxBlocked @5 :UInt32;    # frames the safety model refused to send, since cand started
  safetyRxInvalid @6 :UInt32;    # frames failing the RX hook (checksum, counter, timing)
  heartbeatLost @7 :Bool;        # sendcan stopped: TX halted and controls disallowed
  relayMalfunction @8 :Bool;
  canRxCount @9 :UInt32;
  canTxCount @10 :UInt32;
  canSendErrors @11 :UInt32;     # frames the adapter failed to put on the wire
  canRxErrors @12 :UInt32;       # malformed frames from the adapter
  busOff @13 :Bool;
  uptimeMs @14 :UInt64;
  interface @15 :Text;           # python-can interface and channel, e.g. "socketcan:can0"

  enum PandaType {
    unknown @0;
    socketcan @1;
    slcan @2;
    sim @3;
    virtual @4;
  }
}

# Retired: carState, carControl and carOutput until December 2026, when they became opendbc's structs. Kept so that
# older logs read; LogReader hands their messages on as today's (tools/lib/migration.py).
struct CarStateDEPRECATED {
  canValid @0 :Bool;
  canTimeout @1 :Bool;
  vEgo @2 :Float32;
  aEgo @3 :Float32;
  vEgoRaw @4 :Float32;
  vEgoCluster @5 :Float32;
  yawRate @6 :Float32;
  standstill @7 :Bool;
  wheelSpeeds @8 :WheelSpeeds;
  gasPressed @9 :Bool;
  brake @10 :Float32;
  brakePressed @11 :Bool;
  parkingBrake @12 :Bool;
  steeringAngleDeg @13 :Float32;
  steeringAngleOffsetDeg @14 :Float32;
  steeringRateDeg @15 :Float32;
  steeringTorque @16 :Float32;       # driver torque, native CAN units
  steeringTorqueEps @17 :Float32;    # EPS motor torque, native CAN units
  steeringPressed @18 :Bool;
  steerFaultTemporary @19 :Bool;
  steerFaultPermanent @20 :Bool;
  stockAeb @21 :Bool;
  stockFcw @22 :Bool;
  espDisabled @23 :Bool;
  accFaulted @24 :Bool;
  cruiseState @25 :CruiseState;
  gearShifter @26 :GearShifter;
  buttonEvents @27 :List(ButtonEvent);
  leftBlinker @28 :Bool;
  rightBlinker @29 :Bool;
  doorOpen @30 :Bool;
  seatbeltUnlatched @31 :Bool;
  leftBlindspot @32 :Bool;
  rightBlindspot @33 :Bool;
  vCruise @34 :Float32;
  cumLagMs @35 :Float32;
  lowSpeedAlert @36 :Bool;
  vehicleSensorsInvalid @37 :Bool;

  struct WheelSpeeds {
    fl @0 :Float32;
    fr @1 :Float32;
    rl @2 :Float32;
    rr @3 :Float32;
  }

  struct CruiseState {
    enabled @0 :Bool;
    speed @1 :Float32;
    speedCluster @2 :Float32;
    available @3 :Bool;
    standstill @4 :Bool;
    nonAdaptive @5 :Bool;
  }

  enum GearShifter {
    unknown @0;
    park @1;
    drive @2;
    neutral @3;
    reverse @4;
    sport @5;
    low @6;
    brake @7;
    eco @8;
    manumatic @9;
  }

  struct ButtonEvent {
    pressed @0 :Bool;
    type @1 :Type;

    enum Type {
      unknown @0;
      leftBlinker @1;
      rightBlinker @2;
      accelCruise @3;
      decelCruise @4;
      cancel @5;
      setCruise @6;
      resumeCruise @7;
      gapAdjustCruise @8;
      mainCruise @9;
      lkas @10;
    }
  }
}

struct CarControlDEPRECATED {
  enabled @0 :Bool;
  latActive @1 :Bool;
  longActive @2 :Bool;
  actuators @3 :Actuators;
  cruiseControl @4 :CruiseControl;
  hudControl @5 :HUDControl;
  leftBlinker @6 :Bool;
  rightBlinker @7 :Bool;
  currentCurvature @8 :Float32;

  struct Actuators {
    torque @0 :Float32;             # normalized steering torque, -1..1
    accel @1 :Float32;              # m/s^2
    longControlState @2 :LongControlState;
    curvature @3 :Float32;          # 1/m
    steeringAngleDeg @4 :Float32;
    speed @5 :Float32;              # m/s
    torqueOutputCan @6 :Float32;    # what the car controller put on the bus, native units

    enum LongControlState {
      off @0;
      pid @1;
      stopping @2;
      starting @3;
    }
  }

  struct CruiseControl {
    cancel @0 :Bool;
    resume @1 :Bool;
    override @2 :Bool;
  }

  struct HUDControl {
    setSpeed @0 :Float32;
    leadVisible @1 :Bool;
    leftLaneVisible @2 :Bool;
    rightLaneVisible @3 :Bool;
    leadDistanceBars @4 :Int8;
    visualAlert @5 :VisualAlert;
    audibleAlert @6 :AudibleAlert;   # log.capnp's own, below: numbered unlike opendbc's

    enum VisualAlert {
      none @0;
      fcw @1;
      steerRequired @2;
      brakePressed @3;
      wrongGear @4;
      seatbeltUnbuckled @5;
      speedTooHigh @6;
      ldw @7;
    }
  }
}

struct CarOutputDEPRECATED {
  actuatorsOutput @0 :CarControlDEPRECATED.Actuators;
}

# An alert's sound, as selfdriveState has always numbered them (opendbc's CarControl.HUDControl numbers them otherwise:
# controlsd hands the sound on by name).
enum AudibleAlert {
  none @0;
  engage @1;
  disengage @2;
  refuse @3;
  prompt @4;
  promptRepeat @5;
  promptDistracted @6;
  warningSoft @7;
  warningImmediate @8;
}

struct CarParams {
  brand @0 :Text;
  carFingerprint @1 :Text;
  fingerprintSource @2 :FingerprintSource;
  safetyConfigs @3 :List(SafetyConfig);
  openpilotLongitudinalControl @4 :Bool;
  pcmCruise @5 :Bool;
  mass @6 :Float32;                  # kg, with a driver
  wheelbase @7 :Float32;             # m
  centerToFront @8 :Float32;         # m
  steerRatio @9 :Float32;
  rotationalInertia @10 :Float32;    # kg m^2
  tireStiffnessFront @11 :Float32;   # N/rad
  tireStiffnessRear @12 :Float32;
  steerActuatorDelay @13 :Float32;   # s
  steerLimitTimer @14 :Float32;      # s
  steerControlType @15 :SteerControlType;
  minSteerSpeed @16 :Float32;
  minEnableSpeed @17 :Float32;
  lateralTuning @18 :TorqueTuning;
  longitudinalTuning @19 :LongitudinalPIDTuning;
  longitudinalActuatorDelay @20 :Float32;
  vEgoStopping @21 :Float32;
  vEgoStarting @22 :Float32;
  stopAccel @23 :Float32;
  stoppingDecelRate @24 :Float32;
  startAccel @25 :Float32;
  radarUnavailable @26 :Bool;
  carVin @27 :Text;
  carFw @28 :List(CarFw);
  maxLateralAccel @29 :Float32;      # m/s^2, from fleet torque data
  alphaLongitudinalAvailable @30 :Bool;
  notCar @31 :Bool;
  dashcamOnly @32 :Bool;             # car not recognized or not supported: nothing is sent to it
  rearTrack @33 :Float32;            # m between the rear wheels (selfdrive/car/rear_track.py); 0 where not known

  struct SafetyConfig {
    safetyModel @0 :UInt16;
    safetyParam @1 :UInt16;
  }

  struct TorqueTuning {
    kp @0 :Float32;
    ki @1 :Float32;
    kf @2 :Float32;
    latAccelFactor @3 :Float32;
    latAccelOffset @4 :Float32;
    friction @5 :Float32;
    steeringAngleDeadzoneDeg @6 :Float32;
  }

  struct LongitudinalPIDTuning {
    kpBP @0 :List(Float32);
    kpV @1 :List(Float32);
    kiBP @2 :List(Float32);
    kiV @3 :List(Float32);
  }

  struct CarFw {
    ecu @0 :Text;
    fwVersion @1 :Data;
    address @2 :UInt32;
    subAddress @3 :UInt8;
    request @4 :List(Data);
    brand @5 :Text;
    bus @6 :UInt8;
    logging @7 :Bool;
    obdMultiplexing @8 :Bool;
  }

  enum FingerprintSource {
    can @0;
    fw @1;
    fixed @2;
  }

  enum SteerControlType {
    torque @0;
    angle @1;
  }
}

# Model outputs. Every Data field is little-endian float32 with the shape given (see cereal/arrays.py).
struct ModelDataV2 {
  frameId @0 :UInt32;
  frameIdExtra @1 :UInt32;
  frameAge @2 :UInt32;
  frameDropPerc @3 :Float32;
  timestampEof @4 :UInt64;
  modelExecutionTime @5 :Float32;    # s
  valid @6 :Bool;

  position @7 :Data;           # [33, 3] x, y, z in the car frame at T_IDXS
  positionStd @8 :Data;        # [33, 3]
  velocity @9 :Data;           # [33, 3]
  acceleration @10 :Data;      # [33, 3]
  orientation @11 :Data;       # [33, 3] roll, pitch, yaw
  orientationRate @12 :Data;   # [33, 3]
  laneLines @13 :Data;         # [4, 33, 2] y, z at X_IDXS: far left, left, right, far right
  laneLineStds @14 :Data;      # [4, 33]
  laneLineProbs @15 :Data;     # [4]
  roadEdges @16 :Data;         # [2, 33, 2] y, z at X_IDXS: left, right
  roadEdgeStds @17 :Data;      # [2, 33]
  leads @18 :Data;             # [3, 6] lead at t=0,2,4 s: x, y, v, a, prob, xStd; x is the gap from the ego's front
                               # bumper to the lead's rear (as simState.truth.leadDistance), y its centre
  egomotion @19 :Data;         # [12] trans xyz, rot xyz, then their stds
  action @20 :Action;
  meta @21 :Meta;
  confidence @22 :Confidence;

  struct Action {
    desiredCurvature @0 :Float32;
    desiredAcceleration @1 :Float32;
    shouldStop @2 :Bool;
  }

  struct Meta {
    desireState @0 :Data;          # [8] probabilities of the desires
    desirePrediction @1 :Data;     # [4, 8]
    engagedProb @2 :Float32;
    hardBrakePredicted @3 :Bool;
    laneChangeState @4 :LaneChangeState;
    laneChangeDirection @5 :LaneChangeDirection;
  }

  enum Confidence {
    green @0;
    yellow @1;
    red @2;
  }
}

enum LaneChangeState {
  off @0;
  preLaneChange @1;
  laneChangeStarting @2;
  laneChangeFinishing @3;
}

enum LaneChangeDirection {
  none @0;
  left @1;
  right @2;
}

enum LongitudinalPersonality {
  aggressive @0;
  standard @1;
  relaxed @2;
}

struct LongitudinalPlan {
  modelMonoTime @0 :UInt64;
  hasLead @1 :Bool;
  fcw @2 :Bool;
  longitudinalPlanSource @3 :LongitudinalPlanSource;
  speeds @4 :List(Float32);         # at T_IDXS[:CONTROL_N] (0 .. 2.5 s), selfdrive/controls/lib/limits.py
  accels @5 :List(Float32);
  jerks @6 :List(Float32);
  aTarget @7 :Float32;
  shouldStop @8 :Bool;
  allowThrottle @9 :Bool;
  allowBrake @10 :Bool;
  solverExecutionTime @11 :Float32;
  personality @12 :LongitudinalPersonality;
  vCruise @13 :Float32;

  enum LongitudinalPlanSource {
    cruise @0;
    lead0 @1;
    lead1 @2;
    stop @3;
  }
}

struct LateralPlan {
  modelMonoTime @0 :UInt64;
  desiredCurvature @1 :Float32;
  desiredCurvatureRate @2 :Float32;
  laneChangeState @3 :LaneChangeState;
  laneChangeDirection @4 :LaneChangeDirection;
  desire @5 :UInt8;
  solverExecutionTime @6 :Float32;
  curvatures @7 :List(Float32);     # 1/m, positive left, to steer at T_IDXS[:CONTROL_N] from when this plan is sent
}

struct OnroadEvent {
  name @0 :EventName;
  enable @1 :Bool;
  noEntry @2 :Bool;
  warning @3 :Bool;
  userDisable @4 :Bool;
  softDisable @5 :Bool;
  immediateDisable @6 :Bool;
  preEnable @7 :Bool;
  permanent @8 :Bool;
  overrideLateral @9 :Bool;
  overrideLongitudinal @10 :Bool;

  enum EventName {
    canError @0;
    steerUnavailable @1;
    wrongGear @2;
    doorOpen @3;
    seatbeltNotLatched @4;
    espDisabled @5;
    steerTempUnavailable @6;
    buttonCancel @7;
    buttonEnable @8;
    pedalPressed @9;
    gasPressedOverride @10;
    steerOverride @11;
    cruiseDisabled @12;
    speedTooLow @13;
    outOfSpace @14;
    overheat @15;
    calibrationIncomplete @16;
    calibrationInvalid @17;
    pcmEnable @18;
    pcmDisable @19;
    processNotRunning @20;
    commIssue @21;
    commIssueAvgFreq @22;
    cameraMalfunction @23;
    modeldLagging @24;
    posenetInvalid @25;
    steerSaturated @26;
    fcw @27;
    stockAeb @28;
    controlsMismatch @29;
    lowSpeedLockout @30;
    preLaneChangeLeft @31;
    preLaneChangeRight @32;
    laneChange @33;
    reverseGear @34;
    brakeHold @35;
    parkBrake @36;
    noTarget @37;
    takeControl @38;
    carUnrecognized @39;
    relayMalfunction @40;
    lowMemory @41;
  }
}

struct SelfdriveState {
  state @0 :OpenpilotState;
  enabled @1 :Bool;
  active @2 :Bool;
  engageable @3 :Bool;
  alertText1 @4 :Text;
  alertText2 @5 :Text;
  alertStatus @6 :AlertStatus;
  alertSize @7 :AlertSize;
  alertType @8 :Text;
  alertSound @9 :AudibleAlert;
  experimentalMode @10 :Bool;
  personality @11 :LongitudinalPersonality;
  softDisableRemaining @12 :Float32;  # s until a soft disable disengages (0 when not soft-disabling)

  enum OpenpilotState {
    disabled @0;
    preEnabled @1;
    enabled @2;
    softDisabling @3;
    overriding @4;
  }

  enum AlertStatus {
    normal @0;
    userPrompt @1;
    critical @2;
  }

  enum AlertSize {
    none @0;
    small @1;
    mid @2;
    full @3;
  }
}

struct ControlsState {
  lateralControlState @0 :LateralTorqueState;
  longControlState @1 :Car.CarControl.Actuators.LongControlState;   # numbered as our retired one was
  vCruise @2 :Float32;
  upAccelCmd @3 :Float32;
  uiAccelCmd @4 :Float32;
  ufAccelCmd @5 :Float32;
  aTarget @6 :Float32;
  curvature @7 :Float32;
  desiredCurvature @8 :Float32;
  forceDecel @9 :Bool;
  cumLagMs @10 :Float32;
  lateralPlanMonoTime @11 :UInt64;       # logMonoTime of the plans this command was made from
  longitudinalPlanMonoTime @12 :UInt64;
  softDisableRemaining @13 :Float32;     # s of lateral authority left while inputs are stale; 0 when healthy

  struct LateralTorqueState {
    active @0 :Bool;
    error @1 :Float32;
    p @2 :Float32;
    i @3 :Float32;
    d @4 :Float32;
    f @5 :Float32;
    output @6 :Float32;
    saturated @7 :Bool;
    actualLateralAccel @8 :Float32;
    desiredLateralAccel @9 :Float32;
  }
}

struct LiveCalibrationData {
  calStatus @0 :Status;
  calPerc @1 :Int8;
  validBlocks @2 :Int32;
  rpyCalib @3 :List(Float32);        # roll, pitch, yaw of the camera against the car, rad
  rpyCalibSpread @4 :List(Float32);
  height @5 :List(Float32);          # camera height, m

  enum Status {
    uncalibrated @0;
    calibrated @1;
    invalid @2;
    recalibrating @3;
  }
}

struct LiveParametersData {
  valid @0 :Bool;
  angleOffsetDeg @1 :Float32;
  angleOffsetAverageDeg @2 :Float32;
  angleOffsetStd @3 :Float32;
  stiffnessFactor @4 :Float32;
  stiffnessFactorStd @5 :Float32;
  steerRatio @6 :Float32;
  steerRatioStd @7 :Float32;
  roll @8 :Float32;
  rollStd @9 :Float32;
  sensorValid @10 :Bool;
  posenetValid @11 :Bool;
}

struct LiveTorqueParametersData {
  liveValid @0 :Bool;
  useParams @1 :Bool;
  latAccelFactorRaw @2 :Float32;
  latAccelOffsetRaw @3 :Float32;
  frictionCoefficientRaw @4 :Float32;
  latAccelFactorFiltered @5 :Float32;
  latAccelOffsetFiltered @6 :Float32;
  frictionCoefficientFiltered @7 :Float32;
  totalBucketPoints @8 :Float32;
  decay @9 :Float32;
  maxResets @10 :Float32;
  version @11 :Int32;
  points @12 :Data;                  # [N, 2] lateral accel, torque
}

struct DeviceState {
  started @0 :Bool;                  # ignition: onroad processes run
  startedMonoTime @1 :UInt64;
  deviceType @2 :Text;
  freeSpacePercent @3 :Float32;
  memoryUsagePercent @4 :Int8;
  cpuUsagePercent @5 :List(Int8);
  cpuTempC @6 :List(Float32);
  maxTempC @7 :Float32;
  thermalStatus @8 :ThermalStatus;
  powerDrawW @9 :Float32;
  uptimeS @10 :Float32;

  enum ThermalStatus {
    green @0;
    yellow @1;
    red @2;
    danger @3;
  }
}

struct FrameData {
  frameId @0 :UInt32;
  timestampSof @1 :UInt64;
  timestampEof @2 :UInt64;
  sensor @3 :ImageSensor;
  width @4 :UInt32;
  height @5 :UInt32;
  exposureValPercent @6 :Float32;
  gain @7 :Float32;
  processingTime @8 :Float32;
  intrinsics @9 :List(Float32);      # 3x3 camera matrix, row-major, pixels

  enum ImageSensor {
    unknown @0;
    sim @1;
    webcam @2;
    video @3;
  }
}

struct ManagerState {
  processes @0 :List(ProcessState);

  struct ProcessState {
    name @0 :Text;
    pid @1 :Int32;
    running @2 :Bool;
    shouldBeRunning @3 :Bool;
    exitCode @4 :Int32;
    restartCount @5 :UInt32;
    startedMonoTime @6 :UInt64;
  }
}

# The built-in simulator's truth at each camera frame: what camerad renders, and what scoring and training read.
struct SimState {
  frameId @0 :UInt32;
  t @1 :Float64;                     # simulated seconds since the start
  seed @2 :UInt64;
  width @3 :UInt32;                  # camera resolution the world was built for
  height @4 :UInt32;
  pose @5 :Pose;
  cars @6 :List(Car);
  truth @7 :Truth;
  stats @8 :Stats;
  driver @9 :Driver;

  struct Pose {
    x @0 :Float64;
    y @1 :Float64;
    yaw @2 :Float64;
    s @3 :Float64;                   # station along the road
  }

  struct Car {
    id @0 :UInt32;
    kind @1 :Text;
    length @2 :Float32;
    width @3 :Float32;
    height @4 :Float32;
    color @5 :List(UInt8);
    s @6 :Float64;
    d @7 :Float32;
    v @8 :Float32;
    a @9 :Float32;
  }

  struct Truth {
    path @0 :Data;                   # [33, 3] lane centre ahead at T_IDXS, car frame
    laneLines @1 :Data;              # [4, 33, 2]
    laneLineProbs @2 :Data;          # [4]
    roadEdges @3 :Data;              # [2, 33, 2]
    leadPresent @4 :Bool;
    leadDistance @5 :Float32;
    leadY @6 :Float32;
    leadV @7 :Float32;
    leadVRel @8 :Float32;
    leadAccel @9 :Float32;
    lateralOffset @10 :Float32;
    headingError @11 :Float32;
    lane @12 :UInt8;
    nLanes @13 :UInt8;
    laneWidth @14 :Float32;
    curvature @15 :Float32;
    speed @16 :Float32;
    steeringAngleDeg @17 :Float32;
    yawRate @18 :Float32;
    lateralAccel @19 :Float32;
    collision @20 :Bool;
    laneDeparture @21 :Bool;
    offRoad @22 :Bool;
  }

  struct Stats {
    distance @0 :Float32;            # m driven
    collisions @1 :UInt32;
    laneDepartures @2 :UInt32;
  }

  struct Driver {
    overriding @0 :Bool;             # the scripted driver has taken over
    cruiseEngaged @1 :Bool;          # the car's cruise (PCM) is engaged
  }
}

struct Event {
  logMonoTime @0 :UInt64;   # ns, from the stack's one monotonic clock
  valid @1 :Bool = true;    # the publisher's inputs were all alive and valid

  union {
    can @2 :List(CanData);
    sendcan @3 :List(CanData);
    pandaStates @4 :List(PandaState);
    carStateDEPRECATED @5 :CarStateDEPRECATED;
    carControlDEPRECATED @6 :CarControlDEPRECATED;
    carOutputDEPRECATED @7 :CarOutputDEPRECATED;
    carParams @8 :CarParams;
    modelV2 @9 :ModelDataV2;
    longitudinalPlan @10 :LongitudinalPlan;
    lateralPlan @11 :LateralPlan;
    selfdriveState @12 :SelfdriveState;
    onroadEvents @13 :List(OnroadEvent);
    controlsState @14 :ControlsState;
    liveCalibration @15 :LiveCalibrationData;
    liveParameters @16 :LiveParametersData;
    liveTorqueParameters @17 :LiveTorqueParametersData;
    deviceState @18 :DeviceState;
    roadCameraState @19 :FrameData;
    managerState @20 :ManagerState;
    simState @21 :SimState;
    initData @22 :InitData;
    roadEncodeIdx @23 :EncodeIndex;
    liveTracks @24 :LiveTracks;
    radarState @25 :RadarState;
    vanishingPoint @26 :VanishingPoint;
    carState @27 :Car.CarState;
    carControl @28 :Car.CarControl;
    carOutput @29 :Car.CarOutput;
  }
}

# The car's radar as opendbc's RadarInterface reads it off CAN (card publishes it, 20 Hz on a Toyota).
struct LiveTracks {
  canError @0 :Bool;          # the radar's CAN failed opendbc's checks
  radarFault @1 :Bool;
  points @2 :List(RadarPoint);

  struct RadarPoint {
    trackId @0 :UInt64;       # never reused
    dRel @1 :Float32;         # m ahead of the front bumper
    yRel @2 :Float32;         # m, left positive
    vRel @3 :Float32;         # m/s, the target's speed minus ours
    aRel @4 :Float32;         # m/s^2; NaN where the radar does not say
    measured @5 :Bool;        # a measurement, not the radar's own estimate
  }
}

# modeld, every 5th frame: where the road's straight lines meet in the road camera's image. On a flat road that is on
# the horizon, whose row tells calibrationd the camera's pitch.
struct VanishingPoint {
  frameId @0 :UInt32;
  found @1 :Bool;             # enough straight lines met (else the rest is zero)
  u @2 :Float32;              # camera pixels
  v @3 :Float32;
  segments @4 :UInt16;        # straight segments that met there
  pitch @5 :Float32;          # rad: the mount pitch and yaw under which (u, v) is straight ahead (the calibration's roll)
  yaw @6 :Float32;
}

# radard: the leads the planner follows, from the radar's tracks along the model's path.
struct RadarState {
  leadOne @0 :LeadData;       # the nearest in our path
  leadTwo @1 :LeadData;       # the next one behind it
  radarAvailable @2 :Bool;    # carParams says the car has a radar: plannerd plans on radard's lead (else on the model's)
  radarErrors @3 :Bool;       # the radar's CAN is invalid or it reports a fault
  modelMonoTime @4 :UInt64;   # the modelV2 whose path chose the leads (0: no model, the yaw rate's arc did)
  beside @5 :LeadData;        # the nearest car close ahead in a next lane, not pulling away: it may pull in

  struct LeadData {
    status @0 :Bool;          # a lead is there
    trackId @1 :UInt64;
    dRel @2 :Float32;         # m ahead of the front bumper
    yRel @3 :Float32;         # m, left positive
    vRel @4 :Float32;
    vLead @5 :Float32;        # m/s over ground
    aLeadK @6 :Float32;       # m/s^2, filtered from the track's speed
    pathOffset @7 :Float32;   # m from the model's path at the lead's distance
    age @8 :UInt32;           # radar updates this track has been the lead
  }
}

# Written by loggerd first in every segment's logs (never published): what recorded the drive, and how.
struct InitData {
  routeName @0 :Text;
  segmentNum @1 :UInt32;
  wallTimeNanos @2 :UInt64;          # Unix time when the segment started (0 when unknown, e.g. imported logs)
  version @3 :Text;
  gitCommit @4 :Text;
  deviceType @5 :Text;
  params @6 :List(Param);            # every param that had a value, as stored on disk

  struct Param {
    key @0 :Text;
    value @1 :Data;
  }
}

# Where a road-camera frame is in the segments' video files (written by loggerd, never published).
struct EncodeIndex {
  frameId @0 :UInt32;
  segmentNum @1 :UInt32;
  segmentId @2 :UInt32;              # the frame's position in that segment's video, from 0
  timestampSof @3 :UInt64;
  timestampEof @4 :UInt64;
}
