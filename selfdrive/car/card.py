"""card: the stack's one link to the car. Identifies it, publishes carParams, turns every `can` message into a
carState (100 Hz) and the latest carControl into `sendcan` through opendbc's CarInterface and CarController.

The car is named by $LP_CAR_PLATFORM when set (the simulator names its car; a user whose car fingerprinting
cannot tell apart names it too); otherwise it is told from the first seconds of CAN (passive fingerprint).
An unrecognized car gets dashcam-only carParams: the safety model stays SILENT.
"""
import os
import sys

from cereal import messaging
from cereal.clock import mono_time
from hardware.can.frame import CanFrame
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.convert import fill_actuators, fill_car_params, fill_car_state, to_opendbc_car_control
from selfdrive.car.fingerprinting import FINGERPRINT_S, CarMatch, check_platform, fingerprint
from selfdrive.common.errors import UserError
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm

CAR_PARAMS_PERIOD_S = 1.0    # republished so late subscribers (cand, loggerd, replay) always get it
CAN_TIMEOUT_MS = 100
PLATFORM_ENV = "LP_CAR_PLATFORM"


def can_frames(data: bytes) -> tuple[int, list[CanFrame]]:
  msg = messaging.log_from_bytes(data)
  return msg.logMonoTime, [CanFrame(f.address, f.dat, f.src) for f in msg.can]


def identify(can_sock) -> tuple[CarAdapter | None, list[tuple[int, list[CanFrame]]], str]:
  """The adapter for this car (None when unrecognized), the CAN seen meanwhile, and how the car was named."""
  override = os.environ.get(PLATFORM_ENV)
  if override:
    return CarAdapter(check_platform(override)), [], f"platform {override} from ${PLATFORM_ENV}"
  seen: list[tuple[int, list[CanFrame]]] = []
  while not seen or seen[-1][0] - seen[0][0] < FINGERPRINT_S * 1e9:
    if can_sock.poll(CAN_TIMEOUT_MS):
      seen.append(can_frames(can_sock.recv()))
  result = fingerprint((t, f) for t, frames in seen for f in frames)
  if isinstance(result, CarMatch):
    how = f"fingerprinted as {result.platform} ({result.source})"
    return CarAdapter(result.platform, result.fingerprint), seen, how
  return None, seen, f"car not recognized: {result.reason}"


def publish_car_params(pm: messaging.PubMaster, adapter: CarAdapter | None, params: Params) -> None:
  msg = messaging.new_message("carParams")
  if adapter is None:
    msg.carParams.brand = "unrecognized"
    msg.carParams.dashcamOnly = True
  else:
    fill_car_params(msg.carParams, adapter.car_params)
  pm.send("carParams", msg)
  params.put("CarParams", msg.carParams.as_reader().as_builder().to_bytes())  # a CarParams message of its own


class Card:
  def __init__(self, adapter: CarAdapter | None, pm: messaging.PubMaster):
    self.adapter = adapter
    self.pm = pm
    self.sm = messaging.SubMaster(["carControl"])

  def update(self, t_ns: int, frames: list[CanFrame]) -> None:
    msg = messaging.new_message("carState")
    if self.adapter is not None:
      fill_car_state(msg.carState, self.adapter.update(frames, t_ns))
      msg.valid = msg.carState.canValid
    else:
      msg.valid = False
    msg.carState.cumLagMs = (mono_time() - t_ns) / 1e6
    self.pm.send("carState", msg)

  def control(self) -> None:
    """Apply the latest carControl, as long as controlsd is alive (else nothing is sent, as on a real car)."""
    self.sm.update(0)
    if self.adapter is not None and self.sm.alive["carControl"]:
      self.apply(self.sm["carControl"])

  def apply(self, car_control) -> None:
    """carControl through opendbc's CarController: sendcan for cand, carOutput saying what was really sent."""
    assert self.adapter is not None
    actuators, frames = self.adapter.apply(to_opendbc_car_control(car_control), mono_time())
    out = messaging.new_message("carOutput")
    fill_actuators(out.carOutput.actuatorsOutput, actuators)
    self.pm.send("carOutput", out)
    send = messaging.new_message("sendcan", len(frames))
    for dst, f in zip(send.sendcan, frames, strict=True):
      dst.address, dst.dat, dst.src = f.address, f.data, f.bus
    self.pm.send("sendcan", send)


def main() -> int:
  exit_on_sigterm()
  params = Params()
  pm = messaging.PubMaster(["carState", "carParams", "carOutput", "sendcan"])
  can_sock = messaging.sub_sock("can")
  try:
    adapter, seen, how = identify(can_sock)
  except UserError as e:
    print(f"card: error: {e}", file=sys.stderr)
    return 2
  print(f"card: {how}", flush=True)
  publish_car_params(pm, adapter, params)
  last_params = mono_time()
  card = Card(adapter, pm)
  for t, frames in seen:
    card.update(t, frames)
  while True:
    if not can_sock.poll(CAN_TIMEOUT_MS):
      continue
    for data in messaging.drain_sock_raw(can_sock):
      card.update(*can_frames(data))
    card.control()
    if mono_time() - last_params > CAR_PARAMS_PERIOD_S * 1e9:
      publish_car_params(pm, adapter, params)
      last_params = mono_time()


if __name__ == "__main__":
  sys.exit(main())
