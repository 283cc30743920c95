"""The simulated car with real processes: simd (world + Toyota ECU) <-> cand (safety) <-> card (opendbc).

carState must track the simulator's truth; a torque command must turn the car once the driver engaged;
an out-of-limit frame must be blocked by cand and counted, never reaching the car.
"""
import subprocess
import sys
import time

import numpy as np
import pytest
from opendbc.can import CANPacker

from cereal import messaging
from selfdrive.common.params import Params
from tests.conftest import subprocess_env
from tools.sim import constants as C

SEED = 3


def start(module: str, log_dir) -> subprocess.Popen:
  env = {**subprocess_env(), "LP_CAN": "sim", "LP_CAR_PLATFORM": C.SIM_PLATFORM}
  log = open(log_dir / f"{module.rsplit('.', 1)[-1]}.log", "wb")  # noqa: SIM115 -- closed with the process
  return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def car(tmp_path):
  Params().put("SimSeed", SEED)
  procs = {m: start(m, tmp_path) for m in ("tools.sim.simd", "hardware.cand", "selfdrive.car.card")}
  yield procs
  for p in procs.values():
    p.terminate()
  for p in procs.values():
    try:
      p.wait(10)
    except subprocess.TimeoutExpired:
      p.kill()
      p.wait()


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
    assert time.monotonic() < deadline, f"stuck in {phase}; logs in {tmp_path}"
    for name, p in car.items():
      assert p.poll() is None, f"{name} died; see {tmp_path}"
    control(phase == "steer", 0.6 if phase == "steer" else 0.0)
    sm.update(10)
    cs, ss = sm["carState"], sm["simState"]
    if sm.updated["simState"] and sm.seen["carState"] and cs.canValid and sm.valid["carState"]:
      # the carState parsed from the CAN of this very frame arrives within a few ms: compare at the next update
      speed_err.append(abs(cs.vEgo - ss.truth.speed) / max(ss.truth.speed, 1.0))
      angle_err.append(abs(cs.steeringAngleDeg - ss.truth.steeringAngleDeg))
    allowed = len(sm["pandaStates"]) and sm["pandaStates"][0].controlsAllowed
    now = time.monotonic()
    if phase == "wait_engaged" and allowed and ss.driver.cruiseEngaged and not ss.driver.overriding:
      phase, phase_t, angle_before = "steer", now, ss.truth.steeringAngleDeg
    elif phase == "steer" and now - phase_t > 1.5:
      phase, yaw_after, angle_after = "done", ss.truth.yawRate, ss.truth.steeringAngleDeg

  assert len(speed_err) > 50
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
