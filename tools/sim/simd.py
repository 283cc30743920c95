"""simd: the simulated world and car, in real time. Steps the physics at 100 Hz, puts the car's CAN on the
simulator link (cand is on the other end), obeys what comes back, lets the scripted driver act, and publishes
simState at the camera's 20 Hz (camerad renders it; scoring and training read its ground truth).
"""
import os
import sys

from cereal import arrays, messaging
from cereal.clock import mono_time
from hardware.can.sim_link import SimCarPort
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm
from selfdrive.common.ratekeeper import Ratekeeper
from tools.sim import constants as C
from tools.sim.driver import DriverAction, DriverMode, ScriptedDriver
from tools.sim.ecu import CarTruth, ToyotaEcu
from tools.sim.vehicle import Controls, Gear
from tools.sim.world import GroundTruth, World, WorldConfig

DRIVER_ENV = "LP_SIM_DRIVER"
NO_UDS_ENV = "LP_SIM_ECU_NO_UDS"  # "1": the car's ECUs ignore diagnostic requests, as a car that never answers
GEARS = {Gear.DRIVE: "D", Gear.PARK: "P"}


def car_truth(world: World, action: DriverAction) -> CarTruth:
  st = world.state
  return CarTruth(v_ego=st.v, a_ego=st.a, wheel_speeds=st.wheel_speeds, yaw_rate=st.yaw_rate,
                  steering_angle_deg=st.steer_deg, steering_rate_deg=st.steer_rate_dps, driver_torque=st.driver_torque,
                  eps_torque=st.eps_torque, gas_pressed=action.gas > 0.05, brake_pressed=action.brake > 0.0,
                  gear=GEARS[st.gear], radar=world.radar_targets)


def fill_sim_state(msg, world: World, gt: GroundTruth, frame_id: int, driver: ScriptedDriver, ecu: ToyotaEcu) -> None:
  ss = msg.simState
  ss.frameId, ss.t, ss.seed = frame_id, world.t, world.seed
  ss.width, ss.height = world.config.width, world.config.height
  ss.pose.x, ss.pose.y, ss.pose.yaw, ss.pose.s = world.state.x, world.state.y, world.state.yaw, world.s
  cars = ss.init("cars", len(world.traffic.cars))
  for out, car in zip(cars, world.traffic.cars, strict=True):
    out.id, out.kind, out.length, out.width, out.height = car.id, car.kind, car.length, car.width, car.height
    out.color = [int(c) for c in car.color]
    out.s, out.d, out.v, out.a = car.s, car.d, car.v, car.a
  tr = ss.truth
  tr.path = arrays.pack(gt.path, (arrays.IDX_N, 3))
  tr.laneLines = arrays.pack(gt.lane_lines, arrays.MODEL_V2_SHAPES["laneLines"])
  tr.laneLineProbs = arrays.pack(gt.lane_line_probs, arrays.MODEL_V2_SHAPES["laneLineProbs"])
  tr.roadEdges = arrays.pack(gt.road_edges, arrays.MODEL_V2_SHAPES["roadEdges"])
  tr.leadPresent, tr.leadDistance, tr.leadY = gt.lead_present, gt.lead_distance, gt.lead_y
  tr.leadV, tr.leadVRel, tr.leadAccel = gt.lead_v, gt.lead_v_rel, gt.lead_accel
  tr.lateralOffset, tr.headingError = gt.lateral_offset, gt.heading_error
  tr.lane, tr.nLanes, tr.laneWidth, tr.curvature, tr.speed = gt.lane, gt.n_lanes, gt.lane_width, gt.curvature, gt.speed
  tr.steeringAngleDeg, tr.yawRate, tr.lateralAccel = world.state.steer_deg, world.state.yaw_rate, world.state.a_lat
  tr.collision, tr.laneDeparture, tr.offRoad = gt.collision, gt.lane_departure, gt.off_road
  ss.stats.distance = world.stats.distance
  ss.stats.collisions, ss.stats.laneDepartures = world.stats.collisions, world.stats.lane_departures
  ss.driver.overriding = world.t < driver.takeover_until
  ss.driver.cruiseEngaged = ecu.cruise_engaged


def main() -> int:
  exit_on_sigterm()
  seed = Params().get("SimSeed")
  mode = DriverMode(os.environ.get(DRIVER_ENV, DriverMode.ENGAGE.value))
  world = World(seed, WorldConfig())
  ecu = ToyotaEcu(C.SIM_PLATFORM, diagnostics=os.environ.get(NO_UDS_ENV) != "1")
  driver = ScriptedDriver(mode)
  port = SimCarPort()
  pm = messaging.PubMaster(["simState"])
  rk = Ratekeeper(1 / C.DT)
  frame_id = 0
  gt = world.ground_truth()
  try:
    while True:
      ecu.receive(port.recv())
      cmd = ecu.commands
      action = driver.step(world, gt, ecu.cruise_engaged, ecu.set_speed)
      world.step(Controls(steer_torque=cmd.steer_torque if cmd.steer_active else 0.0, accel=cmd.accel,
                          long_active=ecu.cruise_engaged, driver_torque=action.torque, gas=action.gas,
                          brake=action.brake))
      port.send(ecu.step(mono_time(), car_truth(world, action), action.inputs))
      gt = world.ground_truth()
      if world.frame_due:
        frame_id += 1
        msg = messaging.new_message("simState")
        fill_sim_state(msg, world, gt, frame_id, driver, ecu)
        pm.send("simState", msg)
      rk.keep_time()
  finally:
    port.close()


if __name__ == "__main__":
  sys.exit(main())
