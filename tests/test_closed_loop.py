"""The whole stack as real processes under the manager, driving the simulator: `localpilot sim --json`, scored on
the simulator's truth. Until the driving model lands the perception is the oracle (ground truth in the model's
place); the seeds are below 1000, which training never uses.

CI runs a short drive whose first traffic event stops the lead (a full stop behind it, and away again); the issue's
10-minute drives are behind --run-slow (or `localpilot sim --perception oracle --minutes 10 --seed N --json`).
"""
import json
import subprocess
import sys

import pytest

from tests.conftest import subprocess_env
from tools.sim import constants as C

SHORT_SEED = 94            # its first event (t = 20 s) stops the lead for 9.9 s; a cut-in follows at 65 s
SHORT_MINUTES = 1.25
LONG_SEEDS = (1, 7, 94)


def drive(tmp_path, minutes: float, seed: int) -> dict:
  # the car is named: this test is about driving, card's firmware query has its own tests
  env = {**subprocess_env(), "LP_LOG_DIR": str(tmp_path / "logs"), "LP_CAR_PLATFORM": C.SIM_PLATFORM}
  cmd = [sys.executable, "-m", "tools.cli", "sim", "--perception", "oracle", "--minutes", str(minutes), "--seed",
         str(seed), "--json"]
  proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=minutes * 60 * 1.6 + 120)
  assert proc.returncode == 0, f"{proc.stderr[-2000:]}\nlogs in {tmp_path / 'logs'}"
  report = json.loads(proc.stdout.strip().splitlines()[-1])
  print(json.dumps(report))
  return report


def check(r: dict, minutes: float) -> None:
  """The issue's bar."""
  assert r["perception"] == "oracle" and r["minutes"] >= minutes * 0.98
  assert r["collisions"] == 0 and r["lane_departures"] == 0
  assert r["center_err_mean_m"] <= 0.25
  assert r["lat_jerk_p99"] <= 2.5
  assert r["min_gap_s"] is None or r["min_gap_s"] >= 1.0
  assert r["engaged_pct"] >= 80.0, "the stack drove"
  assert all(r["process_restarts"][p] == 0 for p in ("plannerd", "controlsd", "selfdrived", "oracled")), "no crash"


def test_closed_loop_short(tmp_path):
  r = drive(tmp_path, SHORT_MINUTES, SHORT_SEED)
  check(r, SHORT_MINUTES)
  assert r["stops_behind_lead"] >= 1, "a full stop behind the stopped lead"
  assert r["km"] > 1.0, "and on again after it"


@pytest.mark.slow
@pytest.mark.parametrize("seed", LONG_SEEDS)
def test_closed_loop_ten_minutes(tmp_path, seed):
  check(drive(tmp_path, 10.0, seed), 10.0)
