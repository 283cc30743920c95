"""card's 100 Hz cost on the simulated RAV4's real traffic, beside a bare opendbc CANParser on the same frames,
and the safety model's cost per frame as cand pays it.

card's cycle = the CAN of one 10 ms window through opendbc's CarInterface into a published carState (and its
RadarInterface into liveTracks when a scan completes), plus one carControl through opendbc's CarController into a
published sendcan. The bare parsers read the same messages: CarState's and the radar's.
"""
import time

import numpy as np
from opendbc.can import CANParser
from opendbc.car.can_definitions import CanData

from cereal import messaging
from hardware.can.frame import CanFrame
from selfdrive.car import platform_info
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.card import OUTPUTS as CARD_OUTPUTS
from selfdrive.car.card import Card
from tools.bench import safety
from tools.sim import constants as C
from tools.sim.driver import DriverMode, ScriptedDriver
from tools.sim.ecu import ToyotaEcu
from tools.sim.ecu.radar import RADAR_BUS, SLOTS
from tools.sim.simd import car_truth
from tools.sim.vehicle import Controls
from tools.sim.world import World, WorldConfig

CYCLE_NS = 10_000_000


def simulated_traffic(seconds: float, seed: int = 0) -> list[tuple[int, list[CanFrame]]]:
  """The CAN the simulated car puts on the bus, one entry per 10 ms cycle, while driven by hand."""
  world = World(seed, WorldConfig(traffic=False))
  ecu, driver = ToyotaEcu(C.SIM_PLATFORM), ScriptedDriver(DriverMode.MANUAL)
  out = []
  for k in range(int(seconds * 100)):
    gt = world.ground_truth()
    action = driver.step(world, gt, False)
    world.step(Controls(driver_torque=action.torque, gas=action.gas, brake=action.brake))
    out.append((k * CYCLE_NS, ecu.step(k * CYCLE_NS, car_truth(world, action), action.inputs)))
  return out


def _percentiles(ns: list[int]) -> tuple[float, float]:
  a = np.array(ns) / 1e3
  return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def run(seconds: float = 20.0) -> dict[str, float]:
  traffic = simulated_traffic(seconds)
  warm = len(traffic) // 10
  card = Card(CarAdapter(C.SIM_PLATFORM), messaging.PubMaster(CARD_OUTPUTS))
  cc = messaging.new_message("carControl")
  cc.carControl.enabled = cc.carControl.latActive = cc.carControl.longActive = True
  cc.carControl.actuators.torque, cc.carControl.actuators.accel = 0.2, 0.5
  cc_reader = cc.as_reader().carControl
  dbc = platform_info.dbc_names(C.SIM_PLATFORM)
  parsers = [CANParser(dbc["pt"], [(name, float("nan")) for name, _ in msgs.values()], bus)
             for bus, msgs in platform_info.state_messages(C.SIM_PLATFORM).items()]
  parsers.append(CANParser(dbc["radar"], [(f"TRACK_{ab}_{i}", float("nan")) for ab in "AB" for i in range(SLOTS)],
                           RADAR_BUS))   # card reads the radar too

  card_ns, parser_ns = [], []
  perf = time.perf_counter_ns
  for i, (t, frames) in enumerate(traffic):
    s = perf()
    card.update(t, frames)
    card.apply(cc_reader)
    e = perf()
    packets = [(t, [CanData(f.address, f.data, f.bus) for f in frames])]
    for p in parsers:
      p.update(packets)
    e2 = perf()
    if i >= warm:
      card_ns.append(e - s)
      parser_ns.append(e2 - e)
  card_p50, card_p99 = _percentiles(card_ns)
  parser_p50, parser_p99 = _percentiles(parser_ns)
  figures = {"card_p50_us": card_p50, "card_p99_us": card_p99, "parser_p50_us": parser_p50,
             "parser_p99_us": parser_p99, "card_over_parser_p50": card_p50 / parser_p50,
             "frames_per_cycle": float(np.mean([len(f) for _, f in traffic]))}
  figures["safety_per_frame_us"] = safety.run(20000)["safety_per_frame_us"]
  return figures
