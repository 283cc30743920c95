"""Between opendbc's car structs and our log.capnp messages. Explicit field lists: a field opendbc renames or
drops fails here, loudly, instead of silently reading zero."""
from cereal import log, messaging
from selfdrive.car import CarControl, CarParams, CarState, RadarData

CAR_STATE_SCALARS = (
  "canValid", "canTimeout", "vEgo", "aEgo", "vEgoRaw", "vEgoCluster", "yawRate", "standstill", "gasPressed", "brake",
  "brakePressed", "parkingBrake", "steeringAngleDeg", "steeringAngleOffsetDeg", "steeringRateDeg", "steeringTorque",
  "steeringTorqueEps", "steeringPressed", "steerFaultTemporary", "steerFaultPermanent", "stockAeb", "stockFcw",
  "espDisabled", "accFaulted", "leftBlinker", "rightBlinker", "doorOpen", "seatbeltUnlatched", "leftBlindspot",
  "rightBlindspot", "vCruise", "lowSpeedAlert", "vehicleSensorsInvalid",
)
CRUISE_STATE_FIELDS = ("enabled", "speed", "speedCluster", "available", "standstill", "nonAdaptive")
WHEEL_SPEED_FIELDS = ("fl", "fr", "rl", "rr")
OUR_BUTTONS = frozenset(log.CarState.ButtonEvent.Type.schema.enumerants)
ACTUATOR_FIELDS = ("torque", "accel", "curvature", "steeringAngleDeg", "speed", "torqueOutputCan")
HUD_FIELDS = ("setSpeed", "leadVisible", "leftLaneVisible", "rightLaneVisible", "leadDistanceBars")
CAR_PARAMS_SCALARS = (
  "brand", "carFingerprint", "openpilotLongitudinalControl", "pcmCruise", "mass", "wheelbase", "centerToFront",
  "steerRatio", "rotationalInertia", "tireStiffnessFront", "tireStiffnessRear", "steerActuatorDelay",
  "steerLimitTimer", "minSteerSpeed", "minEnableSpeed", "longitudinalActuatorDelay", "vEgoStopping", "vEgoStarting",
  "stopAccel", "stoppingDecelRate", "startAccel", "radarUnavailable", "carVin", "maxLateralAccel",
  "alphaLongitudinalAvailable", "notCar", "dashcamOnly",
)
CAR_FW_FIELDS = ("fwVersion", "address", "subAddress", "brand", "bus", "logging", "obdMultiplexing")
RADAR_POINT_FIELDS = ("trackId", "dRel", "yRel", "vRel", "aRel", "measured")
TORQUE_TUNING_FIELDS = ("latAccelFactor", "latAccelOffset", "friction", "steeringAngleDeadzoneDeg")


def car_fw_of(car_params) -> list[CarParams.CarFw]:
  """The firmware versions in a log CarParams (what fill_car_params wrote) as opendbc's structs again."""
  return [CarParams.CarFw.new_message(ecu=fw.ecu, request=list(fw.request),
                                      **{name: getattr(fw, name) for name in CAR_FW_FIELDS}) for fw in car_params.carFw]


def fill_live_tracks(out, rd: RadarData) -> None:
  """opendbc's RadarData into a log liveTracks builder."""
  out.canError, out.radarFault = rd.errors.canError, rd.errors.radarFault
  for dst, src in zip(out.init("points", len(rd.points)), rd.points, strict=True):
    for name in RADAR_POINT_FIELDS:
      setattr(dst, name, getattr(src, name))


def live_tracks_message(rd: RadarData):
  """A radar scan as the liveTracks message card publishes: not valid on a radar CAN error or fault."""
  msg = messaging.new_message("liveTracks")
  fill_live_tracks(msg.liveTracks, rd)
  msg.valid = not (rd.errors.canError or rd.errors.radarFault)
  return msg


def fill_car_state(out, cs: CarState) -> None:
  """Copy opendbc's CarState into a log carState builder."""
  for name in CAR_STATE_SCALARS:
    setattr(out, name, getattr(cs, name))
  for name in CRUISE_STATE_FIELDS:
    setattr(out.cruiseState, name, getattr(cs.cruiseState, name))
  for name in WHEEL_SPEED_FIELDS:
    setattr(out.wheelSpeeds, name, getattr(cs.wheelSpeeds, name))
  out.gearShifter = str(cs.gearShifter)
  events = out.init("buttonEvents", len(cs.buttonEvents))
  for ev, src in zip(events, cs.buttonEvents, strict=True):
    ev.pressed = src.pressed
    ev.type = str(src.type) if str(src.type) in OUR_BUTTONS else "unknown"


def to_opendbc_car_control(cc) -> CarControl:
  """A log carControl reader as the opendbc CarControl its CarController takes."""
  out = CarControl.new_message()
  out.enabled, out.latActive, out.longActive = cc.enabled, cc.latActive, cc.longActive
  out.leftBlinker, out.rightBlinker, out.currentCurvature = cc.leftBlinker, cc.rightBlinker, cc.currentCurvature
  for name in ACTUATOR_FIELDS:
    setattr(out.actuators, name, getattr(cc.actuators, name))
  out.actuators.longControlState = str(cc.actuators.longControlState)
  out.cruiseControl.cancel, out.cruiseControl.resume = cc.cruiseControl.cancel, cc.cruiseControl.resume
  out.cruiseControl.override = cc.cruiseControl.override
  for name in HUD_FIELDS:
    setattr(out.hudControl, name, getattr(cc.hudControl, name))
  out.hudControl.visualAlert = str(cc.hudControl.visualAlert)
  out.hudControl.audibleAlert = str(cc.hudControl.audibleAlert)
  return out


def fill_actuators(out, actuators) -> None:
  """Copy opendbc's Actuators (what the car controller really sent) into a log Actuators builder."""
  for name in ACTUATOR_FIELDS:
    setattr(out, name, getattr(actuators, name))
  out.longControlState = str(actuators.longControlState)


def fill_car_params(out, cp: CarParams) -> None:
  for name in CAR_PARAMS_SCALARS:
    setattr(out, name, getattr(cp, name))
  out.fingerprintSource = str(cp.fingerprintSource)
  car_fw = out.init("carFw", len(cp.carFw))
  for dst, src in zip(car_fw, cp.carFw, strict=True):
    for name in CAR_FW_FIELDS:
      setattr(dst, name, getattr(src, name))
    dst.ecu, dst.request = str(src.ecu), list(src.request)
  out.steerControlType = str(cp.steerControlType)
  configs = out.init("safetyConfigs", len(cp.safetyConfigs))
  for dst, src in zip(configs, cp.safetyConfigs, strict=True):
    dst.safetyModel, dst.safetyParam = src.safetyModel.raw, src.safetyParam
  torque = cp.lateralTuning.torque
  for name in TORQUE_TUNING_FIELDS:
    setattr(out.lateralTuning, name, getattr(torque, name))
  lt = cp.longitudinalTuning
  out.longitudinalTuning.kpBP, out.longitudinalTuning.kpV = list(lt.kpBP), list(lt.kpV)
  out.longitudinalTuning.kiBP, out.longitudinalTuning.kiV = list(lt.kiBP), list(lt.kiV)
