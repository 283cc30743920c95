"""Process replay passes on main and fails, with a readable diff, on a deliberate behaviour change."""
import dataclasses

import pytest

from cereal import messaging
from tests.process_replay.refs import DRIVE, check, load
from tools.lib.logreader import LogMessage
from tools.replay.compare import compare, format_diffs
from tools.replay.process_replay import CONFIGS, ReplayConfig, steps


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


def test_steps_carry_one_step_message_each(drive):
  cfg = CONFIGS["card"]
  plan = steps(cfg, drive)
  n_can = sum(m.which == "can" for m in drive)
  assert len(plan) == n_can
  assert all(messaging.log_from_bytes(inputs[-1]).which() == "can" for _, inputs in plan)
  assert sum(len(inputs) for _, inputs in plan) <= sum(m.which in cfg.inputs for m in drive)


def test_config_rejects_unknown_services():
  with pytest.raises(ValueError, match="unknown service"):
    ReplayConfig("x", "x", inputs=("can", "nope"), outputs=(), step_on="can")
  with pytest.raises(ValueError, match="not among its inputs"):
    ReplayConfig("x", "x", inputs=("can",), outputs=(), step_on="carControl")
