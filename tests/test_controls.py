"""Controllers: the PID never winds up and never leaves its limits, the torque controller stays within full torque
and steers the right way, the longitudinal states, and controlsd's soft disable when its inputs stop."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import messaging
from selfdrive.controls import controlsd
from selfdrive.controls.lib.latcontrol_torque import LatControlTorque, TorqueParams
from selfdrive.controls.lib.limits import ACCEL_MIN, CONTROL_N, DT_CTRL, SOFT_DISABLE_S, TORQUE_RAMP_S, accel_max
from selfdrive.controls.lib.longcontrol import LongControl, LongCtrlState
from selfdrive.controls.lib.pid import PIDController
from selfdrive.controls.lib.vehicle_model import VehicleModel
from tests.test_closed_loop_sil import car_params_message

CP = car_params_message().carParams.as_reader()
TP = TorqueParams(CP.lateralTuning.latAccelFactor, CP.lateralTuning.friction)
errors = st.floats(-50.0, 50.0, allow_nan=False)


# --- PID
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(errors, st.floats(-5.0, 5.0), st.booleans()), min_size=1, max_size=200),
       st.floats(0.0, 3.0), st.floats(0.0, 3.0), st.floats(0.1, 5.0))
def test_pid_stays_in_limits_and_never_winds_up(steps, kp, ki, limit):
  pid = PIDController(kp, ki, pos_limit=limit, neg_limit=-limit)
  for error, ff, freeze in steps:
    i_before = pid.i
    out = pid.update(error, feedforward=ff, freeze_integrator=freeze)
    assert -limit <= out <= limit
    assert -limit <= pid.i <= limit, "the integrator never holds more than the output can use"
    raw = pid.p + pid.i + pid.d + pid.f
    if raw > limit:
      assert pid.i <= i_before + 1e-12, "no integration further into a saturated output"
    if raw < -limit:
      assert pid.i >= i_before - 1e-12
    if freeze:
      assert pid.i == i_before


def test_pid_unwinds_at_once_when_the_error_turns():
  pid = PIDController(1.0, 5.0, pos_limit=1.0, neg_limit=-1.0)
  for _ in range(10_000):   # a long saturated stretch
    pid.update(10.0)
  assert pid.i <= 1.0
  steps = 0
  while pid.update(-0.5) > 0.0:
    steps += 1
  assert steps <= 30, f"took {steps} steps to leave saturation: windup"


def test_pid_gains_by_speed():
  pid = PIDController(((0.0, 10.0), (1.0, 3.0)), 0.0, pos_limit=100.0, neg_limit=-100.0)
  assert pid.update(1.0, speed=0.0) == pytest.approx(1.0)
  assert pid.update(1.0, speed=5.0) == pytest.approx(2.0)
  assert pid.update(1.0, speed=20.0) == pytest.approx(3.0)


# --- lateral
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 40.0), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05),
                          st.booleans()), min_size=1, max_size=100))
def test_lateral_torque_within_full_torque(steps):
  lat = LatControlTorque()
  for v, desired, rate, actual, pressed in steps:
    out = lat.update(True, v, desired, rate, actual, TP, pressed)
    assert -1.0 <= out.torque <= 1.0 and math.isfinite(out.torque)
  assert lat.update(False, 20.0, 0.01, 0.0, 0.0, TP, False).torque == 0.0
  assert lat.pid.i == 0.0, "inactive resets the integrator"


def test_lateral_torque_steers_towards_the_desired_curvature():
  lat = LatControlTorque()
  v = 20.0
  left = lat.update(True, v, 0.002, 0.0, 0.0, TP, False)
  assert left.torque > 0.0
  # in steady state on a curve, the feedforward alone gives the lateral accel over the factor
  steady = LatControlTorque().update(True, v, 0.002, 0.0, 0.002, TP, False)
  assert steady.torque == pytest.approx(0.002 * v * v / TP.lat_accel_factor, abs=0.01)
  assert LatControlTorque().update(True, v, -0.002, 0.0, 0.0, TP, False).torque < 0.0


def test_vehicle_model_curvature():
  vm = VehicleModel.from_car_params(CP)
  assert vm.slip_factor < 0, "the RAV4 understeers"
  low, high = vm.curvature(30.0, 5.0), vm.curvature(30.0, 30.0)
  assert low > high > 0.0, "the same wheel angle turns less at speed"
  assert vm.curvature(-30.0, 20.0) == pytest.approx(-vm.curvature(30.0, 20.0))
  assert low == pytest.approx(math.radians(30.0) / CP.steerRatio / CP.wheelbase, rel=0.05)


# --- longitudinal
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 40.0), st.floats(-4.0, 2.0), st.floats(-10.0, 10.0), st.booleans(),
                          st.booleans(), st.booleans()), min_size=1, max_size=100))
def test_longitudinal_output_within_limits(steps):
  lc = LongControl(CP)
  for v, a_ego, a_target, stop, active, brake in steps:
    out = lc.update(active, v, a_ego, brake, a_target, stop, ACCEL_MIN, accel_max(v))
    assert ACCEL_MIN <= out <= accel_max(v)
    if not active:
      assert out == 0.0 and lc.state == LongCtrlState.off


def test_longitudinal_stop_and_go():
  lc = LongControl(CP)
  assert lc.update(True, 10.0, 0.0, False, 0.8, False, ACCEL_MIN, accel_max(10.0)) == pytest.approx(0.8)
  assert lc.state == LongCtrlState.pid
  outs = [lc.update(True, 0.1, -0.5, False, -0.5, True, ACCEL_MIN, accel_max(0.1)) for _ in range(1000)]
  assert lc.state == LongCtrlState.stopping
  assert all(b <= a for a, b in itertools.pairwise(outs)), "stopping only ever brakes harder, gently"
  assert outs[-1] == pytest.approx(CP.stopAccel, abs=0.01)
  assert lc.update(True, 0.0, 0.0, False, 0.5, False, ACCEL_MIN, accel_max(0.0)) > 0.0, "the lead goes: so do we"
  assert lc.state in (LongCtrlState.pid, LongCtrlState.starting)


# --- controlsd
class Rig:
  """controlsd's Controls fed hand-made messages at 100 Hz."""
  def __init__(self):
    self.sm = messaging.SubMaster(controlsd.INPUTS)
    self.controls = controlsd.Controls(CP)
    self.t = 0

  def step(self, *, cruise=True, enabled=True, state="enabled", plans=True, selfdrive=True, curvature=0.002,
           a_target=0.5, v=20.0, remaining=SOFT_DISABLE_S):
    cs = messaging.new_message("carState")
    cs.carState.vEgo, cs.carState.canValid, cs.carState.cruiseState.enabled = v, True, cruise
    msgs = [cs.to_bytes()]
    if self.t % 100 == 0:
      msgs.append(car_params_message().to_bytes())
    if selfdrive:
      sd = messaging.new_message("selfdriveState")
      sd.selfdriveState.enabled = sd.selfdriveState.active = enabled
      sd.selfdriveState.state = state
      if state == "softDisabling":
        sd.selfdriveState.softDisableRemaining = remaining
      msgs.append(sd.to_bytes())
    if plans and self.t % 5 == 0:
      lat = messaging.new_message("lateralPlan")
      lat.lateralPlan.curvatures = [curvature] * CONTROL_N
      lon = messaging.new_message("longitudinalPlan")
      lon.longitudinalPlan.aTarget = a_target
      msgs += [lat.to_bytes(), lon.to_bytes()]
    now = self.t * round(DT_CTRL * 1e9)
    self.sm.update_msgs(now, msgs)
    cc, st_ = self.controls.update(self.sm, now)
    self.t += 1
    return cc.carControl, st_.controlsState


@pytest.mark.parametrize("lost", ["plans", "selfdrive"])
def test_stale_inputs_ramp_torque_down_then_cancel(lost):
  rig = Rig()
  for _ in range(200):
    cc, _ = rig.step()
  assert cc.latActive and cc.longActive and cc.actuators.torque > 0.0 and not cc.cruiseControl.cancel
  torques, accels, cancels = [], [], []
  for _ in range(round(4.0 / DT_CTRL)):
    cc, _ = rig.step(plans=lost != "plans", selfdrive=lost != "selfdrive")
    torques.append(cc.actuators.torque if cc.latActive else 0.0)
    accels.append(cc.actuators.accel if cc.longActive else 0.0)
    cancels.append(cc.cruiseControl.cancel)
  torques = np.array(torques)
  stale_at = round((0.5 if lost == "plans" else 0.1) / DT_CTRL)   # SubMaster's liveness: 10 periods
  ramp_from = stale_at + round((SOFT_DISABLE_S - TORQUE_RAMP_S) / DT_CTRL)
  off_at = int(np.flatnonzero(torques > 0.0)[-1]) + 1
  assert torques[:ramp_from - 5].min() > 0.0, "it keeps steering along the last plan at first"
  assert np.all(np.diff(torques[ramp_from:off_at]) <= 1e-6), "then the torque only ever fades"
  assert off_at * DT_CTRL < 3.0, "and lets go within 3 s of the inputs stopping"
  assert not cc.enabled and all(cancels[off_at + 1:]), "disengaged: the car's cruise is cancelled"
  assert max(accels[stale_at + 2:]) <= 0.0, "never accelerate on a stale plan"


def test_soft_disabling_recovers_when_inputs_return():
  rig = Rig()
  for _ in range(200):
    rig.step()
  for _ in range(100):
    cc, cst = rig.step(state="softDisabling")
  assert cst.softDisableRemaining > 0.0 and cc.latActive
  for _ in range(10):
    cc, cst = rig.step()
  assert cst.softDisableRemaining == 0.0 and cc.latActive and cc.actuators.torque > 0.0


def test_torque_fades_out_by_selfdriveds_countdown():
  """selfdrived's soft disable began before controlsd saw anything wrong: the torque still reaches zero when
  selfdrived disengages, never cut from full."""
  rig = Rig()
  for _ in range(200):
    rig.step()
  torques = []
  for k in range(round(TORQUE_RAMP_S / DT_CTRL) + 1):
    cc, _ = rig.step(state="softDisabling", remaining=TORQUE_RAMP_S - k * DT_CTRL)
    torques.append(cc.actuators.torque if cc.latActive else 0.0)
  assert torques[0] > 0.0 and torques[-1] == 0.0
  assert all(b <= a + 1e-6 for a, b in itertools.pairwise(torques[len(torques) // 2:]))
  assert max(torques[-10:]) < 0.15 * torques[0]


def test_cancel_waits_for_selfdrived_to_engage():
  rig = Rig()
  for _ in range(100):
    cc, _ = rig.step(cruise=False, enabled=False, state="disabled")
  cc, _ = rig.step(cruise=True, enabled=False, state="disabled")
  assert not cc.cruiseControl.cancel, "the car's cruise just came on: selfdrived engages within a cycle"
  for _ in range(round(controlsd.ENGAGE_GRACE_S / DT_CTRL) + 2):
    cc, _ = rig.step(cruise=True, enabled=False, state="disabled")
  assert cc.cruiseControl.cancel, "refused: the car's cruise is cancelled"
  cc, _ = rig.step(cruise=True, enabled=True)
  assert not cc.cruiseControl.cancel and cc.enabled
  cc, _ = rig.step(cruise=True, enabled=False, state="disabled")
  assert cc.cruiseControl.cancel, "disengaged by selfdrived: cancelled at once"


def test_plan_interpolation():
  plan = list(np.linspace(0.0, 0.016, CONTROL_N))
  k, rate = controlsd.plan_at(plan, 0.0)
  assert k == 0.0 and rate > 0.0
  assert controlsd.plan_at(plan, 100.0)[0] == pytest.approx(0.016)
  assert controlsd.plan_at([], 0.1) == (0.0, 0.0)
