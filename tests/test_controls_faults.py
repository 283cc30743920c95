"""Faults with real processes: the perception process killed, or the camera stalled, while the stack drives.

selfdrived must alert and soft-disengage, controlsd fade the torque out and let go within 3 s and cancel the car's
cruise, nothing reach the car beyond the safety model's limits, and the car stay in its lane until the scripted
driver has taken over. The processes run without the manager, so nothing restarts the one that died.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from cereal import messaging
from selfdrive.common.params import Params
from tests.conftest import stop_processes, subprocess_env
from tools.sim import constants as C

SEED = 94                  # no traffic event before t = 20 s
MODULES = {"simd": "tools.sim.simd", "cand": "hardware.cand", "card": "selfdrive.car.card",
           "camerad": "selfdrive.camerad.camerad", "radard": "selfdrive.controls.radard",
           "plannerd": "selfdrive.controls.plannerd",
           "controlsd": "selfdrive.controls.controlsd", "selfdrived": "selfdrive.selfdrived.selfdrived"}
PERCEPTION = {"model": {"modeld": "selfdrive.modeld.modeld", "calibrationd": "selfdrive.locationd.calibrationd"},
              "oracle": {"oracled": "tools.sim.oracled"}}
ENGAGED_FOR_S = 2.0        # driving engaged this long before the fault
AFTER_S = 6.0              # watched this long after it
LIMIT_S = 3.0


@pytest.fixture(params=["model", "oracle"])
def stack(request, tmp_path):
  """The stack without the manager, perceiving with the model (modeld, calibrationd) or the oracle."""
  Params().put("SimSeed", SEED)
  env = {**subprocess_env(), "LP_CAN": "sim", "LP_CAMERA": "sim", "LP_CAR_PLATFORM": C.SIM_PLATFORM}
  procs = {}
  for name, module in {**MODULES, **PERCEPTION[request.param]}.items():
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 -- closed with the process
    procs[name] = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT)
  yield procs
  stop_processes(procs.values())


def watch(stack, fault, tmp_path) -> None:
  sm = messaging.SubMaster(["selfdriveState", "carControl", "simState", "pandaStates"])
  deadline = time.monotonic() + 120   # the model's stack calibrates the camera before it may engage
  engaged_since = None
  while engaged_since is None or time.monotonic() - engaged_since < ENGAGED_FOR_S:
    assert time.monotonic() < deadline, f"never engaged; logs in {tmp_path}"
    for name, p in stack.items():
      assert p.poll() is None, f"{name} died; see {tmp_path}"
    sm.update(20)
    active = sm.seen["selfdriveState"] and sm["selfdriveState"].active and sm["simState"].driver.cruiseEngaged
    engaged_since = (engaged_since or time.monotonic()) if active else None
  blocked = sm["pandaStates"][0].safetyTxBlocked
  fault()
  t0 = time.monotonic()
  states, torques, offsets, sim_t0 = [], [], [], sm["simState"].t
  disengaged_at = cancelled_at = None
  while time.monotonic() - t0 < AFTER_S:
    sm.update(10)
    t = time.monotonic() - t0
    sd, cc, ss = sm["selfdriveState"], sm["carControl"], sm["simState"]
    states.append((t, str(sd.state), sd.alertText1, sd.enabled))
    if sm.updated["carControl"]:
      torques.append((t, cc.actuators.torque if cc.latActive else 0.0))
    if sm.updated["simState"]:
      offsets.append((ss.t - sim_t0, abs(ss.truth.lateralOffset), ss.truth.laneDeparture, ss.driver.cruiseEngaged))
    if disengaged_at is None and not sd.enabled:
      disengaged_at = t
    if cancelled_at is None and sm.updated["simState"] and not ss.driver.cruiseEngaged:
      cancelled_at = t

  alerted = [s for s in states if s[1] == "softDisabling"]
  assert alerted and alerted[0][2] == "TAKE CONTROL IMMEDIATELY", "a soft-disable alert"
  assert alerted[0][0] < 1.0
  assert disengaged_at is not None and disengaged_at < LIMIT_S, f"disengaged after {disengaged_at} s"
  assert cancelled_at is not None and cancelled_at < LIMIT_S + 0.3, "the car's cruise is cancelled"
  assert all(tq == 0.0 for t, tq in torques if t > disengaged_at + 0.05), "no torque once disengaged"
  fade = [abs(tq) for t, tq in torques if disengaged_at - 0.6 < t <= disengaged_at]
  assert fade and fade[-1] < 0.05 + 0.5 * max(fade), "the torque faded out, no cut from full"
  assert sm["pandaStates"][0].safetyTxBlocked == blocked, "nothing beyond the safety model's limits"
  assert not any(dep for *_, dep, _ in offsets) and max(o for _, o, _, _ in offsets) < 1.0, "stayed in lane"
  assert not any(enabled for t, *_, enabled in states if t > disengaged_at), "no engaging again without its input"


def test_perception_killed_while_engaged(stack, tmp_path):
  perception = stack["modeld"] if "modeld" in stack else stack["oracled"]
  watch(stack, perception.kill, tmp_path)


def test_camera_stalled_while_engaged(stack, tmp_path):
  watch(stack, lambda: os.kill(stack["camerad"].pid, signal.SIGSTOP), tmp_path)


def test_radard_killed_while_engaged(stack, tmp_path):
  """On a car with a radar the plan stands on radard's leads: without them it is not valid, and the stack lets go."""
  watch(stack, stack["radard"].kill, tmp_path)
