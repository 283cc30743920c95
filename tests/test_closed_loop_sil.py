"""Closed loop in one process (software in the loop): the world, the Toyota's ECUs and the scripted driver (as simd
runs them), opendbc through card's adapter, the oracle perception, plannerd, controlsd and selfdrived, exchanging the
very messages the processes exchange, minus sockets and the wall clock. Deterministic and several times faster than
real time: for tuning, and for closed-loop tests of scenarios the live stack cannot force (a full stop behind a
stopped lead, a lane change on the blinker, an input that stops).
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from cereal import messaging
from cereal.clock import set_replay_time
from selfdrive.car import card
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.convert import live_tracks_message
from selfdrive.common.params import Params
from selfdrive.controls import controlsd, plannerd, radard
from selfdrive.selfdrived import selfdrived
from tools.sim import constants as C
from tools.sim.driver import DriverMode, ScriptedDriver
from tools.sim.ecu import ToyotaEcu
from tools.sim.oracled import Oracle
from tools.sim.report import DriveRecorder
from tools.sim.simd import car_truth, fill_sim_state
from tools.sim.vehicle import Controls
from tools.sim.world import World, WorldConfig

STEP_NS = round(C.DT * 1e9)
PANDA_EVERY = 10            # pandaStates at 10 Hz
PARAMS_EVERY = 100          # carParams at 1 Hz


@dataclass
class Bus:
  """Messages published this step, handed to each subscriber once."""
  pending: dict[int, list[bytes]] = field(default_factory=dict)
  names: dict[int, set[str]] = field(default_factory=dict)

  def subscribe(self, sm: messaging.SubMaster) -> None:
    self.pending[id(sm)], self.names[id(sm)] = [], set(sm.services)

  def publish(self, service: str, data: bytes) -> None:
    for key, names in self.names.items():
      if service in names:
        self.pending[key].append(data)

  def deliver(self, sm: messaging.SubMaster, t_ns: int) -> None:
    msgs, self.pending[id(sm)] = self.pending[id(sm)], []
    sm.update_msgs(t_ns, msgs)


def car_params_message():
  """carParams of the simulated car, as card publishes it."""
  return card.car_params_message(card.car_params_of(CarAdapter(C.SIM_PLATFORM, source="fixed")))


class Sil:
  def __init__(self, seed: int, config: WorldConfig | None = None, driver: DriverMode = DriverMode.ENGAGE):
    self.world = World(seed, config or WorldConfig())
    self.ecu = ToyotaEcu(C.SIM_PLATFORM)
    self.driver = ScriptedDriver(driver)
    self.car = CarAdapter(C.SIM_PLATFORM, source="fixed")
    self.car_params = car_params_message()
    self.car_params_bytes = self.car_params.to_bytes()   # sent each second: serialized once
    self.cp = self.car_params.carParams.as_reader()
    self.bus = Bus()
    self.sm_plan = messaging.SubMaster(plannerd.INPUTS)
    self.sm_ctrl = messaging.SubMaster(controlsd.INPUTS)
    self.sm_sd = messaging.SubMaster(selfdrived.INPUTS, ignore_avg_freq=selfdrived.NO_RATE_CHECK)
    self.sm_oracle = messaging.SubMaster(["lateralPlan"])
    self.sm_radar = messaging.SubMaster(radard.INPUTS)
    for sm in (self.sm_plan, self.sm_ctrl, self.sm_sd, self.sm_oracle, self.sm_radar):
      self.bus.subscribe(sm)
    self.radard = radard.RadarD(self.cp)
    self.planner = plannerd.Planner(self.cp)
    self.controls = controlsd.Controls(self.cp)
    self.selfdrive = selfdrived.SelfDrive(Params())
    self.oracle = Oracle()
    self.recorder = DriveRecorder("oracle")
    self.frames: list = []          # CAN from the stack to the car, delivered at the next step
    self.steps = 0
    self.frame_id = 0
    self.gt = self.world.ground_truth()
    self.plans: list = []           # (t, longitudinalPlan, lateralPlan, selfdriveState, carControl) per model frame
    self.faults: dict[str, Callable[[float], bool]] = {}   # service -> drop its messages while this is true
    self.driver_hook: Callable[[float, object], None] | None = None   # edits carState: the driver's blinker, nudge

  def _publish(self, msg) -> None:
    name = msg.which()
    if name not in self.faults or not self.faults[name](self.world.t):
      self.bus.publish(name, self.car_params_bytes if msg is self.car_params else msg.to_bytes())

  def step(self) -> None:
    t_ns = self.steps * STEP_NS
    set_replay_time(t_ns)
    world, ecu = self.world, self.ecu
    ecu.receive(self.frames)
    cmd = ecu.commands
    action = self.driver.step(world, self.gt, ecu.cruise_engaged, ecu.set_speed)
    world.step(Controls(steer_torque=cmd.steer_torque if cmd.steer_active else 0.0, accel=cmd.accel,
                        long_active=ecu.cruise_engaged, driver_torque=action.torque, gas=action.gas,
                        brake=action.brake))
    frames = ecu.step(t_ns, car_truth(world, action), action.inputs)
    self.gt = world.ground_truth()
    cs = messaging.new_message("carState")
    cs.carState = self.car.update(frames, t_ns)
    cs.valid = cs.carState.canValid
    if self.driver_hook is not None:
      self.driver_hook(world.t, cs.carState)
    self._publish(cs)
    scan = self.car.radar(frames, t_ns)
    if scan is not None:
      self._publish(live_tracks_message(scan))
    if self.steps % PARAMS_EVERY == 0:
      self._publish(self.car_params)
    if self.steps % PANDA_EVERY == 0:
      ps = messaging.new_message("pandaStates", 1)
      ps.pandaStates[0].controlsAllowed = ps.pandaStates[0].ignitionLine = True
      self._publish(ps)
    lat_plan_msg = None
    if world.frame_due:
      self.frame_id += 1
      ss = messaging.new_message("simState")
      fill_sim_state(ss, world, self.gt, self.frame_id, self.driver, ecu)
      ss_r = ss.as_reader().simState
      self.recorder.add(ss_r, self.sm_ctrl.seen["selfdriveState"] and self.sm_ctrl["selfdriveState"].active)
      cam = messaging.new_message("roadCameraState")
      cam.roadCameraState.frameId, cam.roadCameraState.timestampEof = self.frame_id, t_ns
      self._publish(cam)
      self.bus.deliver(self.sm_oracle, t_ns)
      lp = self.sm_oracle["lateralPlan"]
      md = self.oracle.model(ss_r, self.frame_id, t_ns, self.cp.steerActuatorDelay, lp.desire, lp.laneChangeState,
                             lp.laneChangeDirection, C.DT * C.STEPS_PER_FRAME)
      self._publish(md)
    if scan is not None:
      self.bus.deliver(self.sm_radar, t_ns)
      self._publish(self.radard.update(self.sm_radar))
    self.bus.deliver(self.sm_sd, t_ns)
    sd_msg, _ = self.selfdrive.update(self.sm_sd, t_ns * 1e-9)
    self._publish(sd_msg)
    if self.sm_plan_due():
      long_msg, lat_plan_msg = self.planner.update(self.sm_plan)
      self._publish(long_msg)
      self._publish(lat_plan_msg)
    self.bus.deliver(self.sm_ctrl, t_ns)
    cc_msg, st_msg = self.controls.update(self.sm_ctrl, t_ns)
    self._publish(cc_msg)
    self._publish(st_msg)
    _, self.frames = self.car.apply(cc_msg.carControl, t_ns)
    if lat_plan_msg is not None:
      self.plans.append((world.t, long_msg.longitudinalPlan.as_reader(), lat_plan_msg.lateralPlan.as_reader(),
                         sd_msg.selfdriveState.as_reader(), cc_msg.carControl.as_reader()))
    self.steps += 1

  def sm_plan_due(self) -> bool:
    """plannerd runs when a modelV2 arrives (it polls on it)."""
    self.bus.deliver(self.sm_plan, self.steps * STEP_NS)
    return self.sm_plan.updated["modelV2"] and self.sm_plan.seen["carState"]

  def run(self, seconds: float) -> None:
    for _ in range(round(seconds / C.DT)):
      self.step()
    set_replay_time(None)


# --- tests
STOP_SEED = 94              # its first traffic event (t = 20 s) stops the lead for 14.8 s


def test_full_stop_behind_a_stopped_lead_and_go():
  sil = Sil(STOP_SEED)
  sil.run(53.0)
  r = sil.recorder.report()
  assert r.stops_behind_lead >= 1 and r.collisions == 0 and r.takeovers == 0
  assert r.min_gap_s >= 1.0 and r.center_err_max_m < 0.3
  assert sil.world.state.v > 3.0, "and it drives on when the lead does"
  stops = [p for p in sil.plans if p[1].shouldStop]
  assert stops and all(p[4].longActive for p in stops), "stopped under the stack's control, not the driver's"


def test_lane_change_on_blinker_and_nudge():
  sil = Sil(STOP_SEED, WorldConfig(traffic=False))
  # the driver who asks for the change does not take over when the car leaves its lane centre: only off the road
  sil.driver._unsafe = lambda gt: gt.collision or gt.off_road
  start_lane = sil.world.ground_truth().lane

  def blinker(t: float, cs) -> None:
    cs.leftBlinker = 8.0 <= t < 11.0
    if 8.5 <= t < 9.0:
      cs.steeringPressed, cs.steeringTorque = True, 150.0   # the driver nudges the wheel left
  sil.driver_hook = blinker
  sil.run(20.0)
  states = {str(p[2].laneChangeState) for p in sil.plans}
  assert {"preLaneChange", "laneChangeStarting", "laneChangeFinishing"} <= states
  gt = sil.world.ground_truth()
  assert gt.lane == start_lane - 1, "one lane to the left"
  assert abs(gt.lateral_offset) < 0.3, "and centred in it"
  assert sil.recorder.report().disengagements == 0 and sil.driver.takeovers == 0
  lat = [abs(p[4].actuators.curvature) * max(sil.world.state.v, 1.0) ** 2 for p in sil.plans]
  assert max(lat) < 3.0


def test_perception_stopping_soft_disengages_in_lane():
  sil = Sil(STOP_SEED, WorldConfig(traffic=False))
  sil.faults["modelV2"] = lambda t: t >= 12.0
  offsets, torque, engaged = [], [], []
  for _ in range(round(20.0 / C.DT)):
    sil.step()
    if sil.world.frame_due:
      offsets.append((sil.world.t, abs(sil.world.ground_truth().lateral_offset)))
      torque.append((sil.world.t, sil.controls.lat.pid.control))
      engaged.append((sil.world.t, sil.ecu.cruise_engaged))
  assert any(e for t, e in engaged if 10.0 < t < 12.0), "engaged before the fault"
  off = next(t for t, e in engaged if t > 12.0 and not e)
  assert off - 12.0 < 3.0, "disengaged within 3 s of the model stopping"
  assert max(o for _, o in offsets) < 0.5, "and the car stayed in its lane throughout"
  assert sil.recorder.report().lane_departures == 0
