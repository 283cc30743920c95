"""The driving report's scoring, the oracle's pure pursuit and lane change, and the end-to-end latency trace, on
hand-made inputs."""
import math

import numpy as np
import pytest

from cereal import arrays, messaging
from selfdrive.controls.lib.desire_helper import Desire
from tools.bench.e2e import Trace
from tools.sim.oracled import LaneChange, pure_pursuit
from tools.sim.report import MIN_GAP_S, DriveRecorder

DT = 0.05


def sim_state(t: float, *, engaged=True, offset=0.0, lat_accel=0.0, lead=None, v=20.0, lead_v=20.0, overriding=False,
              collisions=0):
  msg = messaging.new_message("simState")
  ss = msg.simState
  ss.t, ss.seed = t, 7
  ss.truth.speed, ss.truth.lateralOffset, ss.truth.lateralAccel = v, offset, lat_accel
  ss.truth.leadPresent = lead is not None
  ss.truth.leadDistance, ss.truth.leadV = lead or 0.0, lead_v
  ss.driver.cruiseEngaged, ss.driver.overriding = engaged, overriding
  ss.stats.distance, ss.stats.collisions = v * t, collisions
  return msg.as_reader().simState


def record(states, active=True) -> DriveRecorder:
  rec = DriveRecorder("oracle")
  for ss in states:
    rec.add(ss, active)
  return rec


def test_report_scores_only_what_the_stack_drove():
  states = [sim_state(i * DT, offset=0.1 if i < 100 else 0.5, engaged=i < 100) for i in range(200)]
  r = record(states).report()
  assert r.engaged_pct == pytest.approx(50.0, abs=1)
  assert r.center_err_mean_m == pytest.approx(0.1) and r.center_err_max_m == pytest.approx(0.1)
  assert r.disengagements == 1 and r.takeovers == 0
  assert record(states, active=False).report().engaged_pct == 0.0, "the car's cruise alone is not the stack driving"


def test_report_lateral_jerk():
  a = [2.0 * math.sin(2 * math.pi * 0.5 * i * DT) for i in range(400)]   # 0.5 Hz, 2 m/s^2: jerk amplitude 2 pi
  r = record([sim_state(i * DT, lat_accel=x) for i, x in enumerate(a)]).report()
  assert r.max_lat_accel == pytest.approx(2.0, abs=0.01)
  assert r.max_lat_jerk == pytest.approx(2 * math.pi, rel=0.02)
  assert r.lat_jerk_p99 <= r.max_lat_jerk


def test_report_time_gap_and_cut_ins():
  follow = [sim_state(i * DT, lead=30.0) for i in range(40)]              # 1.5 s behind a lead
  cut_in = [sim_state((40 + i) * DT, lead=6.0 + 0.5 * i) for i in range(60)]   # a car cuts in at 0.3 s, gap reopens
  r = record(follow + cut_in).report()
  assert r.cut_in_min_gap_s == pytest.approx(0.3)
  assert r.min_gap_s >= MIN_GAP_S, "the cut-in's gap was imposed on the stack, not chosen by it"
  closing = [sim_state(i * DT, lead=30.0 - 0.2 * i) for i in range(100)]   # the stack closing in by itself
  assert record(closing).report().min_gap_s < MIN_GAP_S
  stop = [sim_state(i * DT, lead=6.0, v=0.0, lead_v=0.0) for i in range(20)]
  assert record(follow + stop).report().stops_behind_lead == 1


def test_report_json_keys():
  r = record([sim_state(i * DT) for i in range(20)]).report()
  keys = {"km", "engaged_pct", "center_err_mean_m", "center_err_max_m", "lat_jerk_p99", "min_gap_s", "collisions",
          "lane_departures", "disengagements"}
  import json
  assert keys <= set(json.loads(r.as_json())) and json.loads(r.as_json())["min_gap_s"] is None


# --- the oracle
@pytest.mark.parametrize("radius", [150.0, 500.0, -300.0])
def test_pure_pursuit_follows_a_curve(radius):
  x = arrays.X_IDXS.astype(np.float64)
  centre = -(radius - np.sign(radius) * np.sqrt(np.maximum(radius ** 2 - x ** 2, 0.0)))   # y right; left is +radius
  k = pure_pursuit(centre, 20.0, 20.0 / radius, 0.0)
  assert k == pytest.approx(1 / radius, rel=0.05)


def test_pure_pursuit_returns_to_the_centre():
  centre = np.full(arrays.IDX_N, 0.5)            # the lane centre is 0.5 m to the right
  assert pure_pursuit(centre, 20.0, 0.0, 0.15) < 0.0, "steer right"
  assert pure_pursuit(-centre, 20.0, 0.0, 0.15) > 0.0


def test_oracle_lane_change_moves_the_target_one_lane():
  lc, probs, width, lane = LaneChange(), np.ones(4), 3.6, 2
  shifts = []
  for _ in range(200):
    y = (lane - 2) * width + lc.shift             # the target from lane 2's centre; the car is where its target is
    lane = 2 + round(y / width)                   # ... and in the lane nearest to it
    lc.update(Desire.laneChangeLeft, lane, width, probs, DT)
    shifts.append((lane - 2) * width + lc.shift)
  assert shifts[-1] == pytest.approx(-width, abs=0.01), "the next lane's centre"
  assert np.all(np.diff(shifts) <= 1e-9) and np.all(np.abs(np.diff(shifts)) <= 1.2 * DT + 1e-9), "smoothly"
  assert not LaneChange().update(Desire.laneChangeLeft, 0, width, np.array([0.0, 1, 1, 1]), DT), \
    "no lane to the left: no change"


# --- the e2e trace
def test_e2e_trace_follows_a_frame_to_its_steering_frame():
  trace = Trace()
  ms = 1_000_000

  def send(service, t, **fields):
    msg = messaging.new_message(service)
    msg.logMonoTime = t
    body = getattr(msg, service)
    for k, v in fields.items():
      setattr(body, k, v)
    trace.add(msg.to_bytes())
  send("roadCameraState", 5 * ms, frameId=1, timestampSof=0, timestampEof=10 * ms)
  send("modelV2", 15 * ms, frameId=1)
  send("lateralPlan", 18 * ms, modelMonoTime=15 * ms)
  send("carControl", 20 * ms, latActive=True)
  send("controlsState", 20 * ms, lateralPlanMonoTime=0)           # this cycle still steered from an older plan
  send("carControl", 30 * ms, latActive=True)
  send("controlsState", 30 * ms, lateralPlanMonoTime=18 * ms)
  msg = messaging.new_message("sendcan", 1)
  msg.logMonoTime = 25 * ms
  trace.add(msg.to_bytes())
  msg.clear_write_flag()  # the same builder is sent again
  msg.logMonoTime = 34 * ms
  trace.add(msg.to_bytes())
  lat = trace.latencies()
  assert lat["e2e"] == [pytest.approx(34.0)]
  assert lat["camera"] == [pytest.approx(10.0)] and lat["perception"] == [pytest.approx(5.0)]
  assert lat["planning"] == [pytest.approx(3.0)] and lat["control"] == [pytest.approx(12.0)]
  assert lat["car"] == [pytest.approx(4.0)]
