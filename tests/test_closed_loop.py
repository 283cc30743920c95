"""The whole stack as real processes under the manager, driving the simulator: `localpilot sim --json`, scored on
the simulator's truth, on seeds below 1000, which training never uses.

The driving model perceives (modeld, calibrationd learning the camera mount from it); the oracle (ground truth in
the model's place) tests the controls alone. CI runs short drives: the model's, and the oracle's whose first traffic
event stops the lead (a full stop behind it, and away again). The issue's 10-minute drives are behind --run-slow
(or `localpilot sim --minutes 10 --seed N --json`).
"""
import json
import subprocess
import sys

import pytest

from tests.conftest import subprocess_env
from tools.sim import constants as C

SHORT_SEED = 94            # its first event (t = 20 s) stops the lead for 14.8 s; a cut-in follows at 65 s
SHORT_MINUTES = 1.25
LONG_SEEDS = (1, 7, 94)
MODEL_SEED = 3
# the model's drive starts by learning the camera's mount (calibrationd) before it may engage
ENGAGED_MIN_PCT = {"model": 65.0, "oracle": 80.0}


def drive(tmp_path, minutes: float, seed: int, perception: str) -> dict:
  # the car is named: this test is about driving, card's firmware query has its own tests
  env = {**subprocess_env(), "LP_LOG_DIR": str(tmp_path / "logs"), "LP_CAR_PLATFORM": C.SIM_PLATFORM}
  cmd = [sys.executable, "-m", "tools.cli", "sim", "--perception", perception, "--minutes", str(minutes), "--seed",
         str(seed), "--json"]
  proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=minutes * 60 * 1.6 + 120)
  assert proc.returncode == 0, f"{proc.stderr[-2000:]}\nlogs in {tmp_path / 'logs'}"
  report = json.loads(proc.stdout.strip().splitlines()[-1])
  print(json.dumps(report))
  return report


PERCEPTION_PROCESSES = {"oracle": ("oracled",), "model": ("modeld", "calibrationd")}


def check(r: dict, minutes: float, perception: str) -> None:
  """The issue's bar."""
  assert r["perception"] == perception and r["minutes"] >= minutes * 0.98
  assert r["collisions"] == 0 and r["lane_departures"] == 0
  assert r["center_err_mean_m"] <= 0.25
  assert r["lat_jerk_p99"] <= 2.5
  assert r["min_gap_s"] is None or r["min_gap_s"] >= 1.0
  assert r["engaged_pct"] >= ENGAGED_MIN_PCT[perception], "the stack drove"
  crashed = [p for p in ("plannerd", "controlsd", "selfdrived", *PERCEPTION_PROCESSES[perception])
             if r["process_restarts"][p] != 0]
  assert not crashed, f"{crashed} crashed"


def test_model_drives(tmp_path):
  """The model perceives in the live stack: it calibrates, engages and steers, to the issue's bar."""
  r = drive(tmp_path, SHORT_MINUTES, MODEL_SEED, "model")
  check(r, SHORT_MINUTES, "model")
  assert r["km"] > 1.0 and r["center_err_max_m"] <= 1.2


def test_oracle_stops_behind_a_stopped_lead(tmp_path):
  r = drive(tmp_path, SHORT_MINUTES, SHORT_SEED, "oracle")
  check(r, SHORT_MINUTES, "oracle")
  assert r["stops_behind_lead"] >= 1, "a full stop behind the stopped lead"
  assert r["km"] > 0.85, "and on again after it (it stops 0.68 km in)"


@pytest.mark.slow
@pytest.mark.parametrize("seed", LONG_SEEDS)
@pytest.mark.parametrize("perception", ["model", "oracle"])
def test_closed_loop_ten_minutes(tmp_path, seed, perception):
  check(drive(tmp_path, 10.0, seed, perception), 10.0, perception)
