"""cand: owns the CAN adapter. Every frame in passes opendbc's RX hook and goes out as `can`; every frame
of `sendcan` passes the TX hook or is dropped and counted. Nothing else in the stack touches the bus.

Until carParams names the car's safety mode, the mode is opendbc's ELM327, as pandad sets it for fingerprinting:
only diagnostic frames (8-byte ISO 15765 frames on diagnostic addresses) pass, so card can ask the ECUs for their
firmware versions while nothing can actuate. carParams without a mode (an unrecognized car) means SILENT.

If sendcan stops for HEARTBEAT_TIMEOUT_S, cand does what a panda does: the safety model falls back to SILENT
(nothing sent, controls not allowed) until sendcan returns, and then the car's mode (ELM327 while the car is not
known) comes back with controls off, so the driver must engage again.
"""
import os
import sys

import can

from cereal import messaging
from cereal.clock import mono_time
from hardware.can.interfaces import CAN_ENV, DEFAULT_CAN, CanSpec, open_bus
from hardware.safety.safety import SafetyModel
from selfdrive.common.errors import UserError
from selfdrive.common.process import exit_on_sigterm

CYCLE_S = 0.01                 # `can` at 100 Hz
PANDA_STATES_EVERY = 10        # pandaStates at 10 Hz
HEARTBEAT_TIMEOUT_S = 0.5
IGNITION_TIMEOUT_S = 2.0       # no ignition line on these adapters: the car is on while its bus talks
SILENT = 0
ELM327 = 3                     # opendbc's SAFETY_ELM327 (CarParams.SafetyModel.elm327): diagnostic frames only
ELM327_PARAM = 1               # as pandad sets it: bus 1 not switched to the OBD port (our adapters have no relay)


class Cand:
  def __init__(self, bus: can.BusABC, spec: CanSpec):
    self.bus = bus
    self.spec = spec
    self.safety = SafetyModel(clock=mono_time)
    self.car_mode: tuple[int, int] = (ELM327, ELM327_PARAM)  # until carParams names the car's
    self.pm = messaging.PubMaster(["can", "pandaStates"])
    self.sendcan = messaging.sub_sock("sendcan")
    self.car_params = messaging.sub_sock("carParams", conflate=True)
    self.sm = messaging.SubMaster(["carControl"])   # whether the stack says it is engaged, for the heartbeat
    self.start_ns = mono_time()
    self.last_sendcan_ns = 0
    self.last_rx_ns = 0
    self.heartbeat_lost = True
    self.rx_count = self.tx_count = self.send_errors = self.rx_errors = 0
    self.frame = 0

  def set_car_mode(self, mode: int, param: int) -> None:
    """Use the car's safety mode. Only a change resets the model: carParams is republished every second."""
    if (mode, param) == self.car_mode:
      return
    self.car_mode = (mode, param)
    if not self.heartbeat_lost:
      self.safety.set_safety_hooks(mode, param)

  def receive(self, until_ns: int) -> list[tuple[int, bytes, int]]:
    """Frames from the bus until `until_ns`, each through the RX hook."""
    frames = []
    while (left := until_ns - mono_time()) > 0:
      msg = self.bus.recv(timeout=left * 1e-9)
      if msg is None:
        break
      if msg.is_error_frame or msg.is_remote_frame or len(msg.data) > 64:
        self.rx_errors += 1
        continue
      bus = msg.channel if isinstance(msg.channel, int) else 0
      data = bytes(msg.data)
      self.safety.rx(msg.arbitration_id, data, bus)
      frames.append((msg.arbitration_id, data, bus))
    if frames:
      self.last_rx_ns = mono_time()
      self.rx_count += len(frames)
    return frames

  def transmit(self) -> None:
    """Everything sendcan carries now through the TX gate, then the heartbeat bookkeeping."""
    for data in messaging.drain_sock_raw(self.sendcan):
      self.forward([(f.address, f.dat, f.src) for f in messaging.log_from_bytes(data).sendcan])
    if not self.heartbeat_lost and mono_time() - self.last_sendcan_ns > HEARTBEAT_TIMEOUT_S * 1e9:
      self.heartbeat_lost = True
      self.safety.set_safety_hooks(SILENT, 0)
    if not self.heartbeat_lost:
      self.sm.update(0)
      self.safety.heartbeat(self.sm.alive["carControl"] and self.sm["carControl"].enabled)

  def forward(self, frames: list[tuple[int, bytes, int]]) -> int:
    """One sendcan message: each frame the safety model allows goes on the wire. Returns how many did."""
    self.last_sendcan_ns = mono_time()
    if self.heartbeat_lost:
      self.heartbeat_lost = False
      self.safety.set_safety_hooks(*self.car_mode)
    sent = 0
    for address, data, bus in frames:
      if not self.safety.tx(address, data, bus):
        continue
      try:
        self.bus.send(can.Message(arbitration_id=address, data=data, channel=bus, is_extended_id=address > 0x7FF))
        sent += 1
      except can.CanError as e:
        self.send_errors += 1
        if self.send_errors in (1, 10, 100) or self.send_errors % 1000 == 0:
          print(f"cand: send failed ({self.send_errors} so far): {e}", file=sys.stderr, flush=True)
    self.tx_count += sent
    return sent

  def publish_can(self, frames: list[tuple[int, bytes, int]]) -> None:
    msg = messaging.new_message("can", len(frames))
    for out, (address, data, bus) in zip(msg.can, frames, strict=True):
      out.address = address
      out.dat = data
      out.src = bus
    self.pm.send("can", msg)

  def publish_panda_states(self) -> None:
    msg = messaging.new_message("pandaStates", 1)
    ps = msg.pandaStates[0]
    ps.pandaType = self.spec.interface
    ps.ignitionLine = mono_time() - self.last_rx_ns < IGNITION_TIMEOUT_S * 1e9
    ps.controlsAllowed = self.safety.controls_allowed
    ps.safetyModel, ps.safetyParam = self.car_mode
    ps.safetyTxBlocked = self.safety.tx_blocked
    ps.safetyRxInvalid = self.safety.rx_invalid
    ps.heartbeatLost = self.heartbeat_lost
    ps.relayMalfunction = self.safety.relay_malfunction
    ps.canRxCount, ps.canTxCount = self.rx_count, self.tx_count
    ps.canSendErrors, ps.canRxErrors = self.send_errors, self.rx_errors
    ps.uptimeMs = (mono_time() - self.start_ns) // 1_000_000
    ps.interface = f"{self.spec.interface}:{self.spec.channel}"
    self.pm.send("pandaStates", msg)

  def step(self) -> None:
    cycle_end = mono_time() + int(CYCLE_S * 1e9)
    frames = self.receive(cycle_end)
    for data in messaging.drain_sock_raw(self.car_params):
      cfg = messaging.log_from_bytes(data).carParams.safetyConfigs
      mode = (cfg[0].safetyModel, cfg[0].safetyParam) if len(cfg) else (SILENT, 0)  # none: an unrecognized car
      self.set_car_mode(*mode)
    self.transmit()
    self.safety.tick()
    self.publish_can(frames)
    self.frame += 1
    if self.frame % PANDA_STATES_EVERY == 0:
      self.publish_panda_states()


def main() -> int:
  exit_on_sigterm()
  try:
    spec = CanSpec.parse(os.environ.get(CAN_ENV, DEFAULT_CAN))
    bus = open_bus(spec)
  except UserError as e:
    print(f"cand: error: {e}", file=sys.stderr)
    return 2
  cand = Cand(bus, spec)
  try:
    while True:
      cand.step()
  finally:
    bus.shutdown()


if __name__ == "__main__":
  sys.exit(main())
