"""The simulated car with real processes: simd (world + Toyota ECU) <-> cand (safety) <-> card (opendbc).

card must identify the car by its ECUs' firmware versions (opendbc's query through cand's ELM327 mode), or, when
the ECUs do not answer, say it cannot tell which TSS2 Toyota it is; carState must track the simulator's truth; a
torque command must turn the car once the driver engaged; an out-of-limit frame must be blocked by cand and
counted, never reaching the car.
"""
import subprocess
import sys
import time

import numpy as np
import pytest
from opendbc.can import CANPacker

from cereal import messaging
from hardware.cand import ELM327, SILENT
from selfdrive.car import CarParams, platform_info
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.card import this_drives_car
from selfdrive.car.convert import car_fw_of, fill_car_params
from selfdrive.common.params import Params
from tests.conftest import stop_processes, subprocess_env
from tools.sim import constants as C
from tools.sim.simd import NO_UDS_ENV

SEED = 3
FRESH_MS = 20   # carState from CAN this recent is of the simState frame at hand (not card catching up)
MIN_SAMPLES = 50
PROCESSES = ("tools.sim.simd", "hardware.cand", "selfdrive.car.card")


def start(module: str, log_dir, env: dict[str, str]) -> subprocess.Popen:
  env = {**subprocess_env(), "LP_CAN": "sim", **env}
  log = open(log_dir / f"{module.rsplit('.', 1)[-1]}.log", "wb")  # noqa: SIM115 -- closed with the process
  return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def car_env() -> dict[str, str]:
  """What a test adds to the processes' environment (parametrize it)."""
  return {}


@pytest.fixture
def car(tmp_path, car_env):
  Params().put("SimSeed", SEED)
  procs = {m: start(m, tmp_path, car_env) for m in PROCESSES}
  yield procs
  stop_processes(procs.values())


def test_sim_cand_card(car, tmp_path):
  sm = messaging.SubMaster(["carState", "simState", "pandaStates"])
  pm = messaging.PubMaster(["carControl"])
  speed_err, angle_err = [], []
  angle_before = yaw_after = angle_after = None
  phase, phase_t = "wait_engaged", 0.0
  deadline = time.monotonic() + 60

  def control(lat_active: bool, torque: float) -> None:
    msg = messaging.new_message("carControl")
    msg.carControl.enabled = True
    msg.carControl.latActive = lat_active
    msg.carControl.actuators.torque = torque
    pm.send("carControl", msg)

  while phase != "done":
    assert time.monotonic() < deadline, f"stuck in {phase} ({len(speed_err)} samples); logs in {tmp_path}"
    for name, p in car.items():
      assert p.poll() is None, f"{name} died; see {tmp_path}"
    control(phase == "steer", 0.6 if phase == "steer" else 0.0)
    sm.update(10)
    cs, ss = sm["carState"], sm["simState"]
    fresh = cs.cumLagMs < FRESH_MS
    if sm.updated["simState"] and sm.seen["carState"] and cs.canValid and sm.valid["carState"] and fresh:
      # the carState parsed from the CAN of this very frame arrives within a few ms: compare at the next update
      speed_err.append(abs(cs.vEgo - ss.truth.speed) / max(ss.truth.speed, 1.0))
      angle_err.append(abs(cs.steeringAngleDeg - ss.truth.steeringAngleDeg))
    allowed = len(sm["pandaStates"]) and sm["pandaStates"][0].controlsAllowed
    now = time.monotonic()
    hands_off = allowed and ss.driver.cruiseEngaged and not ss.driver.overriding
    if phase == "wait_engaged" and hands_off and len(speed_err) > MIN_SAMPLES:
      phase, phase_t, angle_before = "steer", now, ss.truth.steeringAngleDeg
    elif phase == "steer" and not hands_off:
      phase = "wait_engaged"  # the driver took over (or the car let go) meanwhile: steer again once handed back
    elif phase == "steer" and now - phase_t > 1.5:
      phase, yaw_after, angle_after = "done", ss.truth.yawRate, ss.truth.steeringAngleDeg

  assert np.max(speed_err) < 0.01, f"vEgo off by {np.max(speed_err):.2%} of the true speed"
  assert np.max(angle_err) < 0.5, f"steering angle off by {np.max(angle_err):.2f} deg"
  assert angle_after - angle_before > 3.0, "a left torque command must turn the wheel left"
  assert yaw_after > 0.02, "... and the car with it"

  # out of limits: with card gone, a full-torque step straight onto sendcan must be blocked and counted
  car["selfdrive.car.card"].terminate()
  car["selfdrive.car.card"].wait(10)
  send = messaging.PubMaster(["sendcan"])
  packer = CANPacker("toyota_nodsu_pt_generated")
  counts = []
  while len(counts) < 3 or counts[-1] != counts[-3]:  # card's last frames are through: cand's tx count settles
    sm.update(100)
    if sm.updated["pandaStates"]:
      counts.append(sm["pandaStates"][0].canTxCount)
  blocked_before, sent_before = sm["pandaStates"][0].safetyTxBlocked, counts[-1]
  t_end = time.monotonic() + 1.0
  while time.monotonic() < t_end:
    addr, dat, bus = packer.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": -1500})
    msg = messaging.new_message("sendcan", 1)
    msg.sendcan[0].address, msg.sendcan[0].dat, msg.sendcan[0].src = addr, dat, bus
    send.send("sendcan", msg)
    sm.update(10)
  assert sm["pandaStates"][0].safetyTxBlocked > blocked_before + 10
  assert sm["pandaStates"][0].canTxCount == sent_before, "a blocked frame reached the car"


def wait_for_car_params(car, sm: messaging.SubMaster, log_dir, timeout_s: float = 30):
  """card's first carParams, and the safety modes cand reported meanwhile."""
  deadline = time.monotonic() + timeout_s
  modes = set()
  while not sm.seen["carParams"]:
    assert time.monotonic() < deadline, f"no carParams; logs in {log_dir}"
    for name, p in car.items():
      assert p.poll() is None, f"{name} died; see {log_dir}"
    sm.update(50)
    if sm.updated["pandaStates"]:
      modes.add(sm["pandaStates"][0].safetyModel)
  return sm["carParams"], modes


def test_card_identifies_the_car_by_its_firmware(car, tmp_path):
  sm = messaging.SubMaster(["carParams", "carState", "pandaStates"])
  cp, modes = wait_for_car_params(car, sm, tmp_path)
  assert modes == {ELM327}, "before the car is known cand lets out diagnostic frames only"
  assert (cp.carFingerprint, str(cp.fingerprintSource), cp.dashcamOnly) == (C.SIM_PLATFORM, "fw", False)
  expected = {(fw.ecu, fw.address, fw.sub_address or 0, fw.version) for fw in platform_info.firmware(C.SIM_PLATFORM)}
  assert {(fw.ecu, fw.address, fw.subAddress, fw.fwVersion) for fw in cp.carFw} == expected
  log = (tmp_path / "card.log").read_text()
  assert "card: identified by its firmware query" in log and f"exact match {C.SIM_PLATFORM}" in log, log

  deadline = time.monotonic() + 10
  while not (sm.valid["carState"] and sm["carState"].canValid and len(sm["pandaStates"]) and
             sm["pandaStates"][0].safetyModel == cp.safetyConfigs[0].safetyModel):
    assert time.monotonic() < deadline, f"carState never valid or cand never in the car's mode; logs in {tmp_path}"
    sm.update(50)

  # this drive's car is saved once: a durable write in the 100 Hz loop waits on the disk (once it stalled card 330 ms)
  saved = Params().path / "CarParams"
  first_write = saved.stat().st_ino, saved.stat().st_mtime_ns
  assert this_drives_car(Params()).carFingerprint == C.SIM_PLATFORM
  republished, deadline = 0, time.monotonic() + 5
  while republished < 2:
    assert time.monotonic() < deadline, f"carParams not republished every second; logs in {tmp_path}"
    sm.update(50)
    republished += sm.updated["carParams"]
  assert (saved.stat().st_ino, saved.stat().st_mtime_ns) == first_write, "card rewrote CarParams while driving"


@pytest.mark.parametrize("car_env", [{NO_UDS_ENV: "1"}])
def test_card_without_firmware_answers_cannot_tell_the_tss2_toyotas_apart(car, tmp_path):
  sm = messaging.SubMaster(["carParams", "carState", "pandaStates"])
  cp, _ = wait_for_car_params(car, sm, tmp_path)
  assert cp.dashcamOnly and cp.brand == "unrecognized" and len(cp.carFw) == 0
  log = (tmp_path / "card.log").read_text()
  assert "card: car not recognized: firmware query" in log and "no firmware versions read" in log, log
  assert "the log cannot tell them apart" in log and C.SIM_PLATFORM in log, log

  deadline = time.monotonic() + 10
  while not (sm.updated["carState"] and len(sm["pandaStates"]) and sm["pandaStates"][0].safetyModel == SILENT):
    assert time.monotonic() < deadline, f"cand never went SILENT for the unrecognized car; logs in {tmp_path}"
    sm.update(50)
  assert not sm.valid["carState"]


def test_card_restarted_mid_drive_keeps_the_car(car, tmp_path):
  """A crashed card cannot ask the ECUs again (cand is in the car's safety mode): it takes this drive's car."""
  sm = messaging.SubMaster(["carParams", "carState", "pandaStates"])
  first, _ = wait_for_car_params(car, sm, tmp_path)
  first = first.as_builder().as_reader()
  car_mode = first.safetyConfigs[0].safetyModel
  deadline = time.monotonic() + 10
  while not (len(sm["pandaStates"]) and sm["pandaStates"][0].safetyModel == car_mode):
    assert time.monotonic() < deadline, f"cand never took the car's mode; logs in {tmp_path}"
    sm.update(50)
  car["selfdrive.car.card"].kill()
  car["selfdrive.car.card"].wait(10)
  (tmp_path / "card.log").rename(tmp_path / "card-first.log")
  car["selfdrive.car.card"] = start("selfdrive.car.card", tmp_path, {})
  sm = messaging.SubMaster(["carParams", "carState", "pandaStates"])
  again, modes = wait_for_car_params(car, sm, tmp_path)
  assert "restarted mid-drive: " + C.SIM_PLATFORM in (tmp_path / "card.log").read_text()
  assert (again.carFingerprint, str(again.fingerprintSource), len(again.carFw)) == \
    (first.carFingerprint, "fw", len(first.carFw))
  assert again.safetyConfigs[0].safetyParam == first.safetyConfigs[0].safetyParam
  assert ELM327 not in modes, "cand never fell back to fingerprinting"
  deadline = time.monotonic() + 10
  while not (sm.valid["carState"] and sm["carState"].canValid and sm["pandaStates"][0].safetyModel == car_mode):
    assert time.monotonic() < deadline, f"carState never valid again, or cand not in the car's mode; logs in {tmp_path}"
    sm.update(50)


def test_this_drives_car_is_read_back_or_refused(capsys):
  params = Params()
  assert this_drives_car(params) is None, "nothing identified yet this drive"
  adapter = CarAdapter(C.SIM_PLATFORM, car_fw=[CarParams.CarFw.new_message(ecu="eps", fwVersion=b"8965B42170\x00",
                                                                           address=0x7A1, brand="toyota")], source="fw")
  msg = messaging.new_message("carParams")
  fill_car_params(msg.carParams, adapter.car_params)
  params.put("CarParams", msg.carParams.as_reader().as_builder().to_bytes())
  car = this_drives_car(params)
  assert car is not None and car.carFingerprint == C.SIM_PLATFORM
  rebuilt = CarAdapter(car.carFingerprint, car_fw=car_fw_of(car), source=str(car.fingerprintSource)).car_params
  assert [(str(f.ecu), f.fwVersion, f.address) for f in rebuilt.carFw] == [("eps", b"8965B42170\x00", 0x7A1)]
  assert rebuilt.safetyConfigs[0].safetyParam == adapter.car_params.safetyConfigs[0].safetyParam
  params.put("CarParams", b"\x00\x01not capnp at all")
  assert this_drives_car(params) is None and "unreadable" in capsys.readouterr().err
  msg = messaging.new_message("carParams")
  msg.carParams.brand, msg.carParams.dashcamOnly = "unrecognized", True
  params.put("CarParams", msg.carParams.as_reader().as_builder().to_bytes())
  assert this_drives_car(params) is None, "an unrecognized car is identified again"
