"""card: the stack's one link to the car. Identifies it, publishes carParams, turns every `can` message into a
carState (100 Hz) and the radar's scans into liveTracks (opendbc's RadarInterface), and the latest carControl into
`sendcan` through opendbc's CarInterface and CarController.

The car is named by $LP_CAR_PLATFORM when set (a user whose car cannot be told apart names it); otherwise its ECUs
are asked for their firmware versions (opendbc's query, through cand's diagnostic-only ELM327 mode) and, when those
match no single platform, it is told from the first seconds of CAN (passive fingerprint).
An unrecognized car gets dashcam-only carParams: the safety model goes SILENT.
A card restarted mid-drive (it crashed; the manager brings it back) cannot ask again — cand is in the car's own
safety mode, which lets no diagnostic frame out — so it takes the car from this drive's CarParams (the param is
cleared at every onroad transition), with a fresh passive fingerprint for opendbc's feature checks.
"""
import os
import sys

import capnp

from cereal import log, messaging
from cereal.clock import mono_time
from cereal.messaging import lockstep
from hardware.can.frame import CanFrame
from selfdrive.car import fw_query
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.convert import car_fw_of, fill_car_params, live_tracks_message
from selfdrive.car.fingerprinting import (
  FINGERPRINT_S,
  CarMatch,
  check_platform,
  collect_fingerprint,
  fingerprint,
  fits,
  platforms,
)
from selfdrive.common.errors import UserError
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm, freeze_startup

OUTPUTS = ["carState", "carParams", "carOutput", "sendcan", "liveTracks"]
CAR_PARAMS_PERIOD_S = 1.0    # republished so late subscribers (cand, loggerd, replay) always get it
CAN_TIMEOUT_MS = 100
PLATFORM_ENV = "LP_CAR_PLATFORM"


def frames_of(can) -> list[CanFrame]:
  return [CanFrame(f.address, f.dat, f.src) for f in can]


def can_frames(data: bytes) -> tuple[int, list[CanFrame]]:
  msg = messaging.log_from_bytes(data)
  return msg.logMonoTime, frames_of(msg.can)


def this_drives_car(params: Params) -> "log.CarParams | None":
  """The car card identified earlier this drive, if it did (and it was a car it could drive)."""
  saved = params.get("CarParams")
  if saved is None:
    return None
  try:
    with log.CarParams.from_bytes(saved) as cp:
      car = cp.as_builder().as_reader()
  except (capnp.KjException, ValueError) as e:  # ValueError: not even whole capnp words
    print(f"card: this drive's CarParams is unreadable ({e}); identifying the car again", file=sys.stderr)
    return None
  return None if car.dashcamOnly or car.carFingerprint not in platforms() else car


def collect(can_sock, seconds: float,
            seen: list[tuple[int, list[CanFrame]]]) -> list[tuple[int, list[CanFrame]]]:
  """The CAN already seen, then more, until it spans `seconds` from the car's first frames."""
  first = next((t for t, batch in seen if batch), None)
  while first is None or seen[-1][0] - first < seconds * 1e9:
    if can_sock.poll(CAN_TIMEOUT_MS):
      t, batch = can_frames(can_sock.recv())
      seen.append((t, batch))
      first = t if first is None and batch else first
  return seen


def identify(can_sock, pm: messaging.PubMaster,
             params: Params) -> tuple[CarAdapter | None, list[tuple[int, list[CanFrame]]], str]:
  """The adapter for this car (None when unrecognized), the CAN seen meanwhile, and how the car was named: by
  $LP_CAR_PLATFORM, else by this drive's CarParams (a restart), else by its firmware versions, else by the passive
  fingerprint of its first seconds of CAN."""
  override = os.environ.get(PLATFORM_ENV)
  if override:
    return CarAdapter(check_platform(override), source="fixed"), [], f"platform {override} from ${PLATFORM_ENV}"
  if can_sock is None:
    raise UserError(f"under process replay card does not fingerprint: name the car in ${PLATFORM_ENV}")
  earlier = this_drives_car(params)
  if earlier is not None:
    seen = collect(can_sock, FINGERPRINT_S, [])
    finger = collect_fingerprint([(t, f) for t, batch in seen for f in batch])
    if fits(earlier.carFingerprint, finger):
      adapter = CarAdapter(earlier.carFingerprint, finger, car_fw=car_fw_of(earlier),
                           source=str(earlier.fingerprintSource))
      return adapter, seen, f"restarted mid-drive: {earlier.carFingerprint} as identified earlier this drive"
    print(f"card: this drive's CarParams names {earlier.carFingerprint}, but the CAN does not fit it: identifying "
          "the car again", file=sys.stderr)
  link = fw_query.CanLink(can_sock, pm)
  link.settle()
  fw = fw_query.query(link.recv, link.send)
  seen = collect(can_sock, FINGERPRINT_S, [can_frames(data) for data in link.received])
  frames = [(t, f) for t, batch in seen for f in batch]
  if fw.platform is not None:
    adapter = CarAdapter(fw.platform, collect_fingerprint(frames), car_fw=fw.car_fw, source="fw", fuzzy=not fw.exact)
    return adapter, seen, f"identified by its {fw}"
  result = fingerprint(frames)
  if isinstance(result, CarMatch):
    how = f"fingerprinted as {result.platform} ({result.source}) after the {fw}"
    return CarAdapter(result.platform, result.fingerprint, car_fw=fw.car_fw), seen, how
  how = f"car not recognized: {fw}; passive fingerprint: {result.reason}; dashcam only (${PLATFORM_ENV} names a car)"
  return None, seen, how


def car_params_of(adapter: CarAdapter | None) -> "log.CarParams":
  """This drive's CarParams, built once: card republishes it every second and saves it once."""
  cp = log.CarParams.new_message()
  if adapter is None:
    cp.brand = "unrecognized"
    cp.dashcamOnly = True
  else:
    fill_car_params(cp, adapter.car_params)
  return cp.as_reader()


def car_params_message(car_params: "log.CarParams"):
  msg = messaging.new_message("carParams")
  msg.carParams = car_params
  return msg


class Card:
  def __init__(self, adapter: CarAdapter | None, pm: messaging.PubMaster, sm: messaging.SubMaster | None = None):
    self.adapter = adapter
    self.pm = pm
    self.sm = sm or messaging.SubMaster(["carControl"])

  def update(self, t_ns: int, frames: list[CanFrame]) -> None:
    msg = messaging.new_message("carState")
    scan = None
    if self.adapter is not None:
      msg.carState = self.adapter.update(frames, t_ns)   # opendbc's CarState is the message's struct
      msg.valid = msg.carState.canValid
      scan = self.adapter.radar(frames, t_ns)
    else:
      msg.valid = False
    msg.carState.cumLagMs = (mono_time() - t_ns) / 1e6
    self.pm.send("carState", msg)
    if scan is not None:
      self.pm.send("liveTracks", live_tracks_message(scan))

  def control(self) -> None:
    """Apply the latest carControl (self.sm updated by the caller), as long as controlsd is alive (else nothing is
    sent, as on a real car)."""
    if self.adapter is not None and self.sm.alive["carControl"]:
      self.apply(self.sm["carControl"])

  def apply(self, car_control) -> None:
    """carControl through opendbc's CarController: sendcan for cand, carOutput saying what was really sent."""
    assert self.adapter is not None
    actuators, frames = self.adapter.apply(car_control, mono_time())   # carControl is opendbc's CarControl
    out = messaging.new_message("carOutput")
    out.carOutput.actuatorsOutput = actuators
    self.pm.send("carOutput", out)
    send = messaging.new_message("sendcan", len(frames))
    for dst, f in zip(send.sendcan, frames, strict=True):
      dst.address, dst.dat, dst.src = f.address, f.data, f.bus
    self.pm.send("sendcan", send)


def main() -> int:
  exit_on_sigterm()
  params = Params()
  pm = messaging.PubMaster(OUTPUTS)
  # Live, every `can` message is drained from a plain socket (a SubMaster keeps only the latest). Under lock-step
  # replay each step carries exactly one `can` message, so the SubMaster's one update per step brings it.
  replay = lockstep.link() is not None
  sm = messaging.SubMaster(["can", "carControl"] if replay else ["carControl"])
  can_sock = None if replay else messaging.sub_sock("can")
  try:
    adapter, seen, how = identify(can_sock, pm, params)
  except UserError as e:
    print(f"card: error: {e}", file=sys.stderr)
    return 2
  print(f"card: {how}", flush=True)
  car_params = car_params_of(adapter)
  # for a card restarted mid-drive; saved once, as a durable write in the loop waits on the disk (one each second
  # stalled card for up to 330 ms while loggerd kept the disk busy)
  params.put("CarParams", car_params.as_builder().to_bytes())
  card = Card(adapter, pm, sm)
  freeze_startup()
  for t, frames in seen:
    card.update(t, frames)
  next_params = 0  # carParams goes out in the loop, on the clock of the messages (replay drives it)
  while True:
    if can_sock is None:
      sm.update()
      batch = [(sm.logMonoTime["can"], frames_of(sm["can"]))] if sm.updated["can"] else []
    elif can_sock.poll(CAN_TIMEOUT_MS):
      batch = [can_frames(data) for data in messaging.drain_sock_raw(can_sock)]
      sm.update(0)
    else:
      continue
    for t, frames in batch:
      card.update(t, frames)
    card.control()
    if mono_time() >= next_params:
      pm.send("carParams", car_params_message(car_params))
      next_params = mono_time() + int(CAR_PARAMS_PERIOD_S * 1e9)


if __name__ == "__main__":
  sys.exit(main())
