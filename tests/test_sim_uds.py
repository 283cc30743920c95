"""The simulated car's diagnostic side (tools/sim/ecu/uds.py), checked by what talks to it in the real stack:
opendbc's own ISO-TP client (single frames, first + consecutive frames paced by its flow control, extended
addressing), and opendbc's firmware query through cand (its safety model in ELM327 mode) identifying the car."""
import itertools
import math
import time

from opendbc.car import uds
from opendbc.car.can_definitions import CanData
from opendbc.car.fingerprints import FW_VERSIONS
from opendbc.car.fw_query_definitions import StdQueries
from opendbc.car.toyota.values import TOYOTA_VERSION_REQUEST_KWP

from cereal.clock import mono_time
from hardware.can.frame import CanFrame
from hardware.can.interfaces import CanSpec, open_bus
from hardware.can.sim_link import SIM_CAN_ENDPOINT, SimCarPort
from hardware.cand import ELM327, Cand
from selfdrive.car import CarParams, fw_query, platform_info
from tests.test_cand import is_diagnostic
from tools.sim.constants import SIM_PLATFORM
from tools.sim.ecu import CarTruth, DriverInputs, ToyotaEcu
from tools.sim.ecu.uds import N_BS_NS, Diagnostics, IsoTpServer, Services

MS = 1_000_000
FIRMWARE = {fw.ecu: fw for fw in platform_info.firmware(SIM_PLATFORM)}


def test_firmware_is_opendbcs():
  assert FIRMWARE.keys() == {"engine", "abs", "eps", "fwdRadar", "fwdCamera"}
  for fw in FIRMWARE.values():
    ecu = CarParams.Ecu.schema.enumerants[fw.ecu]
    assert fw.version in FW_VERSIONS[SIM_PLATFORM][(ecu, fw.address, fw.sub_address)]
    assert fw.bus == 0 and fw.response_address == fw.address + 8
  assert FIRMWARE["engine"].requests[-1] == StdQueries.OBD_VERSION_REQUEST   # the engine answers OBD mode 09
  assert FIRMWARE["abs"].requests[-1] == TOYOTA_VERSION_REQUEST_KWP          # the rest Toyota's KWP request
  assert (FIRMWARE["fwdCamera"].address, FIRMWARE["fwdCamera"].sub_address) == (0x750, 0x6D)


def test_services():
  s = Services.of(FIRMWARE["abs"])
  assert s.answer(b"\x3e") == b"\x7e" and s.answer(b"\x3e\x00") == b"\x7e\x00"
  assert s.answer(b"\x3e\x80") is None, "tester present with the suppress bit is answered by nothing"
  assert s.answer(TOYOTA_VERSION_REQUEST_KWP) == b"\x5a\x88\x01" + FIRMWARE["abs"].version
  assert s.answer(b"\x10\x03") == b"\x7f\x10\x11", "an unsupported service: serviceNotSupported"


class IsoTpClient:
  """opendbc's ISO-TP client (uds.IsoTpMessage, as its firmware query uses it) talking to the car's ECUs, on a clock
  stepped 1 ms at a time. `wire` is every frame the ECUs sent, with its time; `sent` every frame of the client's."""

  def __init__(self, ecu: str, separation_time: float = 0.01, single_frame_mode: bool = False):
    self.fw = FIRMWARE[ecu]
    self.diagnostics = Diagnostics(FIRMWARE.values())
    self.t = 0
    self.inbox: list[tuple[int, bytes, int]] = []
    self.wire: list[tuple[int, CanFrame]] = []
    self.sent: list[bytes] = []
    client = uds.CanClient(self._send, self._recv, self.fw.address, self.fw.response_address, self.fw.bus,
                           sub_addr=self.fw.sub_address)
    self.msg = uds.IsoTpMessage(client, timeout=0, separation_time=separation_time,
                                single_frame_mode=single_frame_mode)

  def _send(self, address: int, data: bytes, bus: int) -> None:
    self.sent.append(data)
    self.diagnostics.receive([CanFrame(address, data, bus)], self.t)

  def _recv(self) -> list[tuple[int, bytes, int]]:
    out, self.inbox = self.inbox, []
    return out

  def request(self, payload: bytes, within_ms: int = 500) -> bytes | None:
    self.msg.send(payload)
    for _ in range(within_ms):
      self.t += MS
      frames = self.diagnostics.step(self.t)
      self.wire += [(self.t, f) for f in frames]
      self.inbox += [(f.address, f.data, f.bus) for f in frames]
      data, _ = self.msg.recv(timeout=0)
      if data is not None:
        return data
    return None


def test_single_frame():
  client = IsoTpClient("abs")
  assert client.request(b"\x3e\x00") == b"\x7e\x00"
  assert [f for _, f in client.wire] == [CanFrame(0x7B8, bytes([0x02, 0x7E, 0x00, 0, 0, 0, 0, 0]), 0)]


def test_multi_frame_answer_paced_by_flow_control():
  client = IsoTpClient("abs", separation_time=0.01)   # opendbc's query asks for 10 ms between consecutive frames
  answer = client.request(TOYOTA_VERSION_REQUEST_KWP)
  assert answer == b"\x5a\x88\x01" + FIRMWARE["abs"].version
  frames = [f.data for _, f in client.wire]
  assert frames[0][:2] == bytes([0x10, len(answer)]) and all(len(d) == 8 for d in frames)
  assert [d[0] for d in frames[1:]] == [0x21 + i for i in range(math.ceil((len(answer) - 6) / 7))]
  times = [t for t, _ in client.wire]
  assert all(b - a >= 10 * MS for a, b in itertools.pairwise(times[1:])), "STmin not honored between frames"


def test_block_size_one_waits_for_flow_control_after_each_frame():
  client = IsoTpClient("eps", single_frame_mode=True)  # opendbc's block size 1: a flow control for every frame
  answer = client.request(TOYOTA_VERSION_REQUEST_KWP)
  assert answer == b"\x5a\x88\x01" + FIRMWARE["eps"].version
  consecutive = math.ceil((len(answer) - 6) / 7)
  assert len(client.wire) == 1 + consecutive and consecutive > 2
  assert sum(d[:2] == b"\x30\x01" for d in client.sent) == consecutive, "one flow control per frame, none more"


def test_extended_addressing():
  client = IsoTpClient("fwdRadar")
  assert client.request(TOYOTA_VERSION_REQUEST_KWP) == b"\x5a\x88\x01" + FIRMWARE["fwdRadar"].version
  assert {(f.address, f.data[0]) for _, f in client.wire} == {(0x758, 0x0F)}, "answers carry the radar's sub-address"
  client.diagnostics.receive([CanFrame(0x750, bytes([0x42, 0x02, 0x3E, 0x00, 0, 0, 0, 0]), 0)], client.t)
  assert client.diagnostics.step(client.t + MS) == [], "no ECU has sub-address 0x42"


def test_multi_frame_request():
  client = IsoTpClient("engine")
  request = bytes([0x31, 0x01]) + bytes(range(10))  # a routine control nobody here supports, 12 bytes
  assert client.request(request) == bytes([0x7F, 0x31, 0x11])
  assert client.wire[0][1].data[:3] == bytes([0x30, 0, 0]), "the ECU's flow control: the rest at once"


def test_flow_control_wait_overflow_and_timeout():
  server = IsoTpServer(0x7B8, 0, None, Services.of(FIRMWARE["abs"]).answer)
  request = bytes([0x03, *TOYOTA_VERSION_REQUEST_KWP, 0, 0, 0, 0])
  server.receive(request, 0)
  assert server.step(0)[0].data[0] >> 4 == 1 and server.step(100 * MS) == [], "no consecutive frame before FC"
  server.receive(bytes([0x31, 0, 0, 0, 0, 0, 0, 0]), 500 * MS)           # wait: the deadline moves on
  assert server.step(N_BS_NS + 100 * MS) == [] and server.sending is not None
  server.receive(bytes([0x30, 0, 0, 0, 0, 0, 0, 0]), N_BS_NS + 200 * MS)  # go, no separation: all at once
  assert [f.data[0] for f in server.step(N_BS_NS + 200 * MS)] == [0x21, 0x22] and server.sending is None

  server.receive(request, 0)
  server.step(0)
  server.receive(bytes([0x32, 0, 0, 0, 0, 0, 0, 0]), 10 * MS)            # overflow: the answer is dropped
  assert server.sending is None and server.step(20 * MS) == []

  server.receive(request, 0)
  server.step(0)
  assert server.step(N_BS_NS + MS) == [] and server.sending is None, "no flow control in time: dropped"
  server.receive(bytes([0x30, 0, 0, 0, 0, 0, 0, 0]), N_BS_NS + 2 * MS)
  assert server.step(N_BS_NS + 2 * MS) == []


def test_wrong_sequence_number_voids_a_request():
  server = IsoTpServer(0x7E8, 0, None, Services.of(FIRMWARE["engine"]).answer)
  server.receive(bytes([0x10, 12, 0x31, 0x01, 0, 1, 2, 3]), 0)
  assert server.step(0)[0].data[0] == 0x30
  server.receive(bytes([0x22, 4, 5, 6, 7, 8, 9, 0]), MS)      # sequence number 2 where 1 was due
  server.receive(bytes([0x21, 4, 5, 6, 7, 8, 9, 0]), 2 * MS)
  assert server.step(3 * MS) == []


class SimulatedCar:
  """The simulated RAV4 on the simulator's own link (bus numbers kept) with cand on the other end, in-process; opendbc's
  query sends through cand's TX gate as card does. Every frame that reached the car is kept in `reached`."""

  def __init__(self, diagnostics: bool = True):
    self.ecu = ToyotaEcu(SIM_PLATFORM, diagnostics=diagnostics)
    self.port = SimCarPort()
    self.cand = Cand(open_bus(CanSpec("sim", SIM_CAN_ENDPOINT)), CanSpec("sim", SIM_CAN_ENDPOINT))
    self.truth = CarTruth(v_ego=0.0, a_ego=0.0, wheel_speeds=(0.0,) * 4, yaw_rate=0.0, steering_angle_deg=0.0,
                          steering_rate_deg=0.0, driver_torque=0.0, eps_torque=0.0, gas_pressed=False,
                          brake_pressed=False, gear="P")
    self.reached: list[CanFrame] = []

  def can_send(self, msgs: list[CanData]) -> None:
    self.cand.forward([(m.address, bytes(m.dat), m.src) for m in msgs])

  def can_recv(self, wait_for_one: bool = False) -> list[list[CanData]]:
    frames = self.port.recv()
    self.reached += frames
    self.ecu.receive(frames)
    self.port.send(self.ecu.step(mono_time(), self.truth, DriverInputs()))
    got = self.cand.receive(mono_time() + (2 if wait_for_one else 1) * MS)
    return [[CanData(*f) for f in got]] if got else []

  def close(self) -> None:
    self.cand.bus.shutdown()
    self.port.close()


def test_opendbc_query_through_elm327_identifies_the_simulated_car():
  car = SimulatedCar()
  try:
    start = time.monotonic()
    result = fw_query.query(car.can_recv, car.can_send)
    assert time.monotonic() - start < 5
  finally:
    car.close()
  assert car.cand.safety.mode == ELM327 and car.cand.safety.tx_blocked == 0
  assert car.reached and all(is_diagnostic(f.address, f.data) for f in car.reached)
  assert (result.platform, result.exact, result.candidates) == (SIM_PLATFORM, True, {SIM_PLATFORM})
  assert {(str(fw.ecu), fw.address, fw.subAddress, fw.fwVersion) for fw in result.car_fw} == \
         {(fw.ecu, fw.address, fw.sub_address or 0, fw.version) for fw in FIRMWARE.values()}


def test_a_car_that_does_not_answer():
  car = SimulatedCar(diagnostics=False)
  try:
    result = fw_query.query(car.can_recv, car.can_send)
  finally:
    car.close()
  assert result.car_fw == () and result.platform is None and result.ecus_present == 0
  assert "no firmware versions read" in str(result)
