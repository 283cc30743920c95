"""Process replay passes on main and fails, with a readable diff, on a deliberate behaviour change."""
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from opendbc.can import CANParser
from opendbc.car import Bus
from opendbc.car.toyota.values import DBC

from cereal import messaging
from cereal.messaging.lockstep import LockstepError
from selfdrive.common.errors import UserError
from tests.process_replay.refs import DRIVE, check, load, ref_path, steering, traffic
from tools.lib.logreader import LogMessage
from tools.replay.compare import compare, format_diffs
from tools.replay.process_replay import CONFIGS, FRAME_SOURCE, ReplayConfig, replay, steps
from tools.sim.constants import SIM_PLATFORM

CUT_IN_BRAKE_NS = 1_000_000_000   # plannerd's reference brakes for a car that cut in within this


@pytest.fixture(scope="module")
def drive() -> list[LogMessage]:
  return load(DRIVE)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matches_reference(name, drive):
  result = check(CONFIGS[name], drive)
  assert not result.diffs, result.report


def test_behaviour_change_fails_with_a_readable_diff(drive):
  broken = dataclasses.replace(CONFIGS["card"], module="tests.process_replay.broken_card")
  result = check(broken, drive)
  assert result.diffs and {d.field for d in result.diffs} == {"carState.vEgo"}
  assert "carState.vEgo" in result.report and "differences from the reference" in result.report
  lines = [line for line in result.report.splitlines() if "carState.vEgo" in line]
  ref, new = map(float, lines[0].split()[-2:])
  assert new - ref == pytest.approx(0.05, abs=1e-4)


def test_plannerd_time_gap_change_fails_only_in_the_longitudinal_plan(drive):
  broken = dataclasses.replace(CONFIGS["plannerd"], module="tests.process_replay.broken_plannerd")
  result = check(broken, drive)
  assert result.diffs and {d.service for d in result.diffs} == {"longitudinalPlan"}, result.report
  assert "longitudinalPlan.aTarget" in {d.field for d in result.diffs}
  assert "differences from the reference" in result.report


def test_plannerd_ignoring_the_car_beside_fails(drive):
  """The reference drive has a car waiting close ahead in the next lane before it cuts in: a plannerd that
  accelerates past it shows in the longitudinal plan."""
  broken = dataclasses.replace(CONFIGS["plannerd"], module="tests.process_replay.broken_plannerd_beside")
  result = check(broken, drive)
  assert result.diffs and {d.service for d in result.diffs} == {"longitudinalPlan"}, result.report
  assert "longitudinalPlan.aTarget" in {d.field for d in result.diffs}


def test_modeld_warp_change_fails_in_the_model_outputs(drive):
  """modeld replays on the drive's own camera frames (rendered again from its simState): a warp turned by half a
  degree changes what the model sees, beyond the tolerance its arrays are compared with."""
  broken = dataclasses.replace(CONFIGS["modeld"], module="tests.process_replay.broken_modeld")
  result = check(broken, drive)
  fields = {d.field for d in result.diffs}
  assert {"modelV2.laneLines", "modelV2.position"} <= fields, result.report
  assert {d.service for d in result.diffs} == {"modelV2"}


def test_replays_side_by_side(drive):
  """Replays run side by side (python -m tests.process_replay, the replay bench) give each process's own outputs;
  one that fails to start stops the others waiting at the barrier for it, with a clear error, instead of hanging."""
  names = ("controlsd", "plannerd")
  with ThreadPoolExecutor(len(names)) as pool:
    together = threading.Barrier(len(names))
    runs = [pool.submit(replay, CONFIGS[n], drive, None, together) for n in names]
    for name, run in zip(names, runs, strict=True):
      cfg = CONFIGS[name]
      assert compare(load(ref_path(name)), run.result().outputs, cfg.tolerance, drive[0].logMonoTime,
                     cfg.ignore) == [], name
    together = threading.Barrier(2)
    no_car = dataclasses.replace(CONFIGS["card"], env={})   # card under replay must be told its car: exits at once
    runs = [pool.submit(replay, no_car, drive, None, together),
            pool.submit(replay, CONFIGS["controlsd"], drive, None, together)]
    with pytest.raises(LockstepError, match="exited with 2"):
      runs[0].result()
    with pytest.raises(LockstepError, match="a replay beside it failed to start"):
      runs[1].result()


def test_frames_need_a_simulator_drive(drive):
  no_frames = [m for m in drive if m.which != FRAME_SOURCE]
  with pytest.raises(UserError, match=FRAME_SOURCE):
    replay(CONFIGS["modeld"], no_frames)


def test_compare_packed_arrays_within_tolerance():
  def model(values):
    msg = messaging.new_message("modelV2")
    msg.logMonoTime = 0
    msg.modelV2.laneLineProbs = np.asarray(values, "<f4").tobytes()
    data = msg.to_bytes()
    return LogMessage("modelV2", 0, data, messaging.log_from_bytes(data))
  ref, near, far = model([0.5, 0.5, 0.5, 0.5]), model([0.5, 0.5004, 0.5, 0.5]), model([0.5, 0.51, 0.5, 0.5])
  tol = {"modelV2.laneLineProbs": 1e-3}
  assert compare([ref], [near], tol, 0) == []
  assert [d.field for d in compare([ref], [far], tol, 0)] == ["modelV2.laneLineProbs"]
  assert [d.field for d in compare([ref], [near], {}, 0)] == ["modelV2.laneLineProbs"], "no tolerance: exact"


def test_drive_engages_and_steps_every_config(drive):
  """The reference drive has what each config steps on, and the stack engaged in it (the engaged controls are
  replayed, not only the disengaged ones)."""
  seen = {m.which for m in drive}
  assert all(cfg.step_on in seen for cfg in CONFIGS.values())
  assert any(m.which == "selfdriveState" and m.event.selfdriveState.enabled for m in drive)
  assert any(m.which == "carControl" and m.event.carControl.longActive for m in drive)


def test_drive_steers(drive):
  """The engaged stack steers through a curve in the reference drive, the car's EPS answers, and card puts the
  torque on the bus: a straight-only drive (zero curvature, zero torque) would let a broken torque controller or
  steering CAN encoding through process replay unnoticed."""
  st = steering(drive)
  assert st.ok, st.report
  eps = max(abs(m.event.carState.steeringTorqueEps) for m in drive if m.which == "carState")
  angle = max(abs(m.event.carState.steeringAngleDeg) for m in drive if m.which == "carState")
  assert eps > 100 and angle > 2.0, (eps, angle)

  parser = CANParser(DBC[SIM_PLATFORM][Bus.pt], [("STEERING_LKA", 0)], 0)
  cmds: list[float] = []
  for m in load(ref_path("card")):
    if m.which == "sendcan":
      parser.update([(m.logMonoTime, [(c.address, bytes(c.dat), c.src) for c in m.event.sendcan])])
      cmds += parser.vl_all["STEERING_LKA"]["STEER_TORQUE_CMD"]
  assert cmds and max(abs(c) for c in cmds) > 500, "card's STEERING_LKA carries no steering torque"


def test_drive_has_a_car_beside_that_cuts_in(drive):
  """The engaged stack meets a car that waits close ahead in the next lane and then cuts in: else radard's beside and
  new lead, and plannerd's hold and braking for them, would change unnoticed by process replay."""
  tr = traffic(drive)
  assert tr.ok, tr.report
  cut_in = tr.cut_ins[0].t_ns
  plans = [m.event.longitudinalPlan.aTarget for m in load(ref_path("plannerd"))
           if m.which == "longitudinalPlan" and cut_in <= m.logMonoTime < cut_in + CUT_IN_BRAKE_NS]
  assert plans and min(plans) < -0.5, "plannerd's reference never brakes for the car that cut in"
  assert min(plans) < -2.0, "plannerd's reference brakes hard within a second of the car cutting in"


def test_drive_teaches_paramsd(drive):
  """paramsd's reference goes from carParams' steer ratio to the simulator's car's (valid) within the drive's curve:
  a drive paramsd learnt nothing from would replay its ratio arithmetic unchecked."""
  live = [m.event.liveParameters for m in load(ref_path("paramsd")) if m.which == "liveParameters"]
  assert not live[0].valid and live[-1].valid and live[-1].sensorValid
  assert abs(live[-1].steerRatio - 15.4) < 0.2, live[-1].steerRatio   # 15.3 x our rear track over the simulator's


def _car_state(t: int, v: float) -> LogMessage:
  msg = messaging.new_message("carState")
  msg.logMonoTime, msg.carState.vEgo = t, v
  data = msg.to_bytes()
  return LogMessage("carState", t, data, messaging.log_from_bytes(data))


def test_compare_tolerance_count_and_ignore():
  ref = [_car_state(i * 10**7, 10.0 + i) for i in range(3)]
  close = [_car_state(i * 10**7, 10.0 + i + 0.004) for i in range(3)]
  assert compare(ref, close, {"carState.vEgo": 0.01}, 0) == []
  diffs = compare(ref, close, {}, 0)
  assert [(d.frame, d.field) for d in diffs] == [(0, "carState.vEgo"), (1, "carState.vEgo"), (2, "carState.vEgo")]
  assert diffs[1].t_s == pytest.approx(0.01)
  assert compare(ref, close, {}, 0, ignore=frozenset({"carState.vEgo"})) == []
  short = compare(ref, ref[:2], {}, 0)
  assert [(d.field, d.ref, d.new) for d in short] == [("(count)", 3, 2)]
  assert "(count)" in format_diffs("card", short, 3)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_steps_carry_one_step_message_each(name, drive):
  cfg = CONFIGS[name]
  plan = steps(cfg, drive)
  assert len(plan) == sum(m.which == cfg.step_on for m in drive)
  assert all(messaging.log_from_bytes(inputs[-1]).which() == cfg.step_on for _, inputs in plan)
  assert sum(len(inputs) for _, inputs in plan) <= sum(m.which in cfg.inputs for m in drive)


def test_config_rejects_unknown_services():
  with pytest.raises(ValueError, match="unknown service"):
    ReplayConfig("x", "x", inputs=("can", "nope"), outputs=(), step_on="can")
  with pytest.raises(ValueError, match="not among its inputs"):
    ReplayConfig("x", "x", inputs=("can",), outputs=(), step_on="carControl")
  with pytest.raises(ValueError, match="not a field of its outputs"):
    ReplayConfig("x", "x", inputs=("can",), outputs=("carState",), step_on="can",
                 ignore=frozenset({"lateralPlan.solverExecutionTime"}))
