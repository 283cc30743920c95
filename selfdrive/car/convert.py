"""Between opendbc's car structs and our log.capnp messages where they differ: carParams and liveTracks (carState,
carControl and carOutput are opendbc's own structs). Explicit field lists: a field opendbc renames or drops fails
here, loudly, instead of silently reading zero."""
from cereal import messaging
from selfdrive.car import CarParams, RadarData
from selfdrive.car.rear_track import rear_track

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


def copy_fields(dst, src, names: tuple[str, ...]) -> None:
  """dst.name = src.name for each name (capnp structs: each nested struct is fetched once, not once a field)."""
  for name in names:
    setattr(dst, name, getattr(src, name))


def car_fw_of(car_params) -> list[CarParams.CarFw]:
  """The firmware versions in a log CarParams (what fill_car_params wrote) as opendbc's structs again."""
  return [CarParams.CarFw.new_message(ecu=fw.ecu, request=list(fw.request),
                                      **{name: getattr(fw, name) for name in CAR_FW_FIELDS}) for fw in car_params.carFw]


def fill_live_tracks(out, rd: RadarData) -> None:
  """opendbc's RadarData into a log liveTracks builder."""
  out.canError, out.radarFault = rd.errors.canError, rd.errors.radarFault
  for dst, src in zip(out.init("points", len(rd.points)), rd.points, strict=True):
    copy_fields(dst, src, RADAR_POINT_FIELDS)


def live_tracks_message(rd: RadarData):
  """A radar scan as the liveTracks message card publishes: not valid on a radar CAN error or fault."""
  msg = messaging.new_message("liveTracks")
  fill_live_tracks(msg.liveTracks, rd)
  msg.valid = not (rd.errors.canError or rd.errors.radarFault)
  return msg


def fill_car_params(out, cp: CarParams) -> None:
  copy_fields(out, cp, CAR_PARAMS_SCALARS)
  out.rearTrack = rear_track(cp.carFingerprint)
  out.fingerprintSource = str(cp.fingerprintSource)
  car_fw = out.init("carFw", len(cp.carFw))
  for dst, src in zip(car_fw, cp.carFw, strict=True):
    copy_fields(dst, src, CAR_FW_FIELDS)
    dst.ecu, dst.request = str(src.ecu), list(src.request)
  out.steerControlType = str(cp.steerControlType)
  configs = out.init("safetyConfigs", len(cp.safetyConfigs))
  for dst, src in zip(configs, cp.safetyConfigs, strict=True):
    dst.safetyModel, dst.safetyParam = src.safetyModel.raw, src.safetyParam
  copy_fields(out.lateralTuning, cp.lateralTuning.torque, TORQUE_TUNING_FIELDS)
  lt = cp.longitudinalTuning
  out.longitudinalTuning.kpBP, out.longitudinalTuning.kpV = list(lt.kpBP), list(lt.kpV)
  out.longitudinalTuning.kiBP, out.longitudinalTuning.kiV = list(lt.kiBP), list(lt.kiV)
