"""cand on a serial (slcan) adapter: python-can's own slcan driver on a pty, the test playing the adapter.

Frames from the car arrive as `can`; of what the stack sends, only what the safety model allows is written
to the adapter, and the rest is counted in pandaStates.
"""
import contextlib
import os
import pty
import subprocess
import sys
import time
import tty

from opendbc.can import CANPacker

from cereal import messaging
from selfdrive.car import platform_info
from tests.conftest import subprocess_env
from tools.sim import constants as C


def slcan_line(address: int, data: bytes) -> bytes:
  return f"t{address:03X}{len(data)}{data.hex().upper()}\r".encode()


def test_cand_over_slcan():
  master, slave = pty.openpty()
  tty.setraw(slave)
  os.set_blocking(master, False)
  env = {**subprocess_env(), "LP_CAN": f"slcan:{os.ttyname(slave)}@500000"}
  proc = subprocess.Popen([sys.executable, "-m", "hardware.cand"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
  sm = messaging.SubMaster(["can", "pandaStates"])
  pm = messaging.PubMaster(["carParams", "sendcan"])
  packer = CANPacker(platform_info.dbc_names(C.SIM_PLATFORM)["pt"])
  config = platform_info.safety_config(C.SIM_PLATFORM)
  wheel = packer.make_can_msg("WHEEL_SPEEDS", 0, {"WHEEL_SPEED_FL": 50.0})
  zero_torque = packer.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 0, "STEER_TORQUE_CMD": 0})
  big_torque = packer.make_can_msg("STEERING_LKA", 0, {"STEER_REQUEST": 1, "STEER_TORQUE_CMD": 1000})
  wire = b""
  try:
    deadline = time.monotonic() + 30
    seen_wheel = mode_set = False
    while not (seen_wheel and mode_set):
      assert time.monotonic() < deadline, "cand never reported the frames or the car's mode"
      assert proc.poll() is None, proc.stdout.read().decode()
      os.write(master, slcan_line(wheel[0], wheel[1]))
      cp = messaging.new_message("carParams")
      cfg = cp.carParams.init("safetyConfigs", 1)[0]
      cfg.safetyModel, cfg.safetyParam = config.model_id, config.param
      pm.send("carParams", cp)
      sm.update(50)
      seen_wheel = seen_wheel or any(f.address == wheel[0] and f.dat == wheel[1] for f in sm["can"])
      mode_set = len(sm["pandaStates"]) > 0 and sm["pandaStates"][0].safetyModel == config.model_id

    for frame in (zero_torque, big_torque):
      msg = messaging.new_message("sendcan", 1)
      msg.sendcan[0].address, msg.sendcan[0].dat, msg.sendcan[0].src = frame
      pm.send("sendcan", msg)
    deadline = time.monotonic() + 10
    while slcan_line(*zero_torque[:2]) not in wire or sm["pandaStates"][0].safetyTxBlocked < 1:
      assert time.monotonic() < deadline, f"wire: {wire[-200:]!r}"
      with contextlib.suppress(BlockingIOError):  # nothing written by cand yet
        wire += os.read(master, 4096)
      sm.update(50)
    assert slcan_line(*big_torque[:2]) not in wire, "torque without controls allowed reached the adapter"
    assert sm["pandaStates"][0].interface.startswith("slcan:")
  finally:
    proc.terminate()
    proc.wait(10)
    os.close(master)
    os.close(slave)
