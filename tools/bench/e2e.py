"""End-to-end latency: from a camera frame to the steering CAN frame it caused, through the whole stack driving the
simulator (the manager, as `localpilot sim` runs it, the driving model perceiving).

Each sendcan carries the latest carControl; controlsd stamps the lateral plan it steered from (controlsState,
sent with the same logMonoTime as carControl), the plan names its modelV2, the model its camera frame. The latency
of a frame is from its start of exposure (timestampSof) to the first sendcan that steers from it; cand puts that on
the bus within its 10 ms cycle.

  python -m tools.bench.e2e [seconds]
"""
import bisect
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from cereal import messaging

ENGAGE_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
TRACED = ["roadCameraState", "modelV2", "lateralPlan", "controlsState", "carControl", "sendcan"]


@dataclass
class Trace:
  sof: dict[int, int] = field(default_factory=dict)          # frameId -> camera start of exposure
  eof: dict[int, int] = field(default_factory=dict)          # frameId -> camerad done
  model: dict[int, int] = field(default_factory=dict)        # modelV2 logMonoTime -> frameId
  plan: dict[int, int] = field(default_factory=dict)         # lateralPlan logMonoTime -> modelV2 logMonoTime
  control: dict[int, int] = field(default_factory=dict)      # controlsState logMonoTime -> lateralPlan logMonoTime
  steering: list[int] = field(default_factory=list)          # carControl logMonoTimes with lateral control active
  sendcan: list[int] = field(default_factory=list)

  def add(self, data: bytes) -> None:
    ev = messaging.log_from_bytes(data)
    t, which = ev.logMonoTime, ev.which()
    if which == "roadCameraState":
      self.sof[ev.roadCameraState.frameId], self.eof[ev.roadCameraState.frameId] = \
        ev.roadCameraState.timestampSof, ev.roadCameraState.timestampEof
    elif which == "modelV2":
      self.model[t] = ev.modelV2.frameId
    elif which == "lateralPlan":
      self.plan[t] = ev.lateralPlan.modelMonoTime
    elif which == "controlsState":
      self.control[t] = ev.controlsState.lateralPlanMonoTime
    elif which == "carControl" and ev.carControl.latActive:
      self.steering.append(t)
    elif which == "sendcan":
      self.sendcan.append(t)

  def latencies(self) -> dict[str, list[float]]:
    """ms per frame: camera to sendcan, and each stage."""
    out: dict[str, list[float]] = {"e2e": [], "camera": [], "perception": [], "planning": [], "control": [], "car": []}
    steering = sorted(self.steering)
    done: set[int] = set()
    for s in sorted(self.sendcan):
      i = bisect.bisect_right(steering, s) - 1          # the carControl card applied: the latest before
      if i < 0:
        continue
      cc = steering[i]
      plan = self.control.get(cc)
      model = self.plan.get(plan) if plan is not None else None
      frame = self.model.get(model) if model is not None else None
      if frame is None or frame in done or frame not in self.sof:
        continue
      done.add(frame)
      ms = lambda a, b: (b - a) * 1e-6
      out["e2e"].append(ms(self.sof[frame], s))
      out["camera"].append(ms(self.sof[frame], self.eof[frame]))
      out["perception"].append(ms(self.eof[frame], model))
      out["planning"].append(ms(model, plan))
      out["control"].append(ms(plan, cc))
      out["car"].append(ms(cc, s))
    return out


def run(seconds: float = 30.0) -> dict:
  from tools.sim.cli import sim_env
  cmd = [sys.executable, "-m", "selfdrive.manager.manager", "--flag", "sim"]
  manager = subprocess.Popen(cmd, env=sim_env(), start_new_session=True, stdout=subprocess.DEVNULL)
  sm = messaging.SubMaster(["selfdriveState"])
  socks = [messaging.sub_sock(s) for s in TRACED]
  trace = Trace()
  try:
    deadline = time.monotonic() + ENGAGE_TIMEOUT_S
    while not (sm.seen["selfdriveState"] and sm["selfdriveState"].active):
      if time.monotonic() > deadline or manager.poll() is not None:
        raise RuntimeError("the stack never engaged in the simulator")
      sm.update(100)
    for sock in socks:
      messaging.drain_sock_raw(sock)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
      time.sleep(0.05)
      for sock in socks:
        for data in messaging.drain_sock_raw(sock):
          trace.add(data)
  finally:
    manager.send_signal(signal.SIGINT)
    try:
      manager.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
      manager.kill()
      manager.wait()
    for sock in socks:
      sock.close()
    sm.close()
  lat = trace.latencies()
  if not lat["e2e"]:
    raise RuntimeError("no camera frame was traced to a steering frame")
  e2e = np.array(lat["e2e"])
  return {"perception": "model", "seconds": seconds, "frames": len(e2e),
          "e2e_p50_ms": round(float(np.percentile(e2e, 50)), 1), "e2e_p99_ms": round(float(np.percentile(e2e, 99)), 1),
          "e2e_max_ms": round(float(e2e.max()), 1),
          **{f"{k}_p50_ms": round(float(np.median(v)), 1) for k, v in lat.items() if k != "e2e"}}


if __name__ == "__main__":
  print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)))
