"""selfdrived: the engagement state machine's transitions and invariants, the events it raises from what the car and
the stack report, and the alerts it shows."""
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import log, messaging
from selfdrive.common.params import Params
from selfdrive.controls.lib.limits import DT_CTRL, SOFT_DISABLE_S
from selfdrive.selfdrived import selfdrived
from selfdrive.selfdrived.alerts import AlertManager
from selfdrive.selfdrived.events import ET, EVENTS, Events
from selfdrive.selfdrived.state import ACTIVE_STATES, ENABLED_STATES, StateMachine
from tests.test_closed_loop_sil import car_params_message

State = log.SelfdriveState.OpenpilotState
STATES = [State.disabled, State.preEnabled, State.enabled, State.softDisabling, State.overriding]
# an event with exactly each type, from the real table
ONE_TYPE = {et: next(n for n, types in EVENTS.items() if set(types) == {et}) for et in
            (ET.ENABLE, ET.USER_DISABLE, ET.OVERRIDE_LATERAL, ET.OVERRIDE_LONGITUDINAL, ET.IMMEDIATE_DISABLE,
             ET.WARNING, ET.PERMANENT)}


def events(*names: str) -> Events:
  ev = Events()
  for n in names:
    ev.add(n)
  return ev


@dataclass
class Machine(StateMachine):
  """The state machine stepped on a clock of its own, at 100 Hz unless told otherwise."""
  t: float = 0.0

  def step(self, ev: Events, dt: float = DT_CTRL) -> None:
    self.t += dt
    self.update(ev, self.t)


def machine(state: int) -> Machine:
  sm = Machine(state)
  if state == State.softDisabling:
    sm.soft_disable_end = SOFT_DISABLE_S
  return sm


@pytest.mark.parametrize("state", STATES[1:])
def test_user_and_immediate_disable_win_in_every_engaged_state(state):
  for name in (ONE_TYPE[ET.USER_DISABLE], ONE_TYPE[ET.IMMEDIATE_DISABLE], "canError", "pedalPressed"):
    sm = machine(state)
    sm.step(events(name, "commIssue", "steerOverride"))
    assert sm.state == State.disabled, name


def test_engage_needs_enable_and_no_no_entry():
  sm = machine(State.disabled)
  sm.step(events("pcmEnable", "commIssue"))
  assert sm.state == State.disabled and ET.NO_ENTRY in sm.alert_types
  sm.step(events("pcmEnable"))
  assert sm.state == State.enabled and ET.ENABLE in sm.alert_types
  sm = machine(State.disabled)
  sm.step(events("pcmEnable", "steerOverride"))
  assert sm.state == State.overriding, "engaging while the driver steers: overriding"


def test_soft_disable_counts_down_and_recovers():
  sm = machine(State.enabled)
  sm.step(events("commIssue"))
  assert sm.state == State.softDisabling and ET.SOFT_DISABLE in sm.alert_types
  for _ in range(round(SOFT_DISABLE_S / DT_CTRL) // 2):
    sm.step(events("commIssue"))
  assert sm.state == State.softDisabling
  sm.step(events())
  assert sm.state == State.enabled, "the cause went away in time"
  sm.step(events("cameraMalfunction"))
  start = sm.t
  while sm.state == State.softDisabling:
    sm.step(events("cameraMalfunction"))
  assert sm.state == State.disabled and SOFT_DISABLE_S <= sm.t - start < SOFT_DISABLE_S + DT_CTRL + 1e-9


def test_soft_disable_keeps_time_when_steps_come_slowly():
  """carState itself stopped: selfdrived steps on its 100 ms timeout, and still disengages on time."""
  sm = machine(State.enabled)
  sm.step(events("commIssue"))
  start = sm.t
  while sm.state == State.softDisabling:
    sm.step(events("commIssue"), dt=0.1)
  assert sm.state == State.disabled and SOFT_DISABLE_S <= sm.t - start < SOFT_DISABLE_S + 0.1 + 1e-9


def test_overriding_comes_and_goes():
  sm = machine(State.enabled)
  sm.step(events("gasPressedOverride"))
  assert sm.state == State.overriding and sm.active
  sm.step(events("gasPressedOverride", "commIssue"))
  assert sm.state == State.softDisabling
  sm = machine(State.overriding)
  sm.step(events())
  assert sm.state == State.enabled


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(sorted(EVENTS)), max_size=4), st.floats(0.001, 0.3)), max_size=300))
def test_state_machine_invariants(steps):
  sm = machine(State.disabled)
  for names, dt in steps:
    before = sm.state
    ev = events(*names)
    sm.step(ev, dt)
    assert sm.enabled == (sm.state in ENABLED_STATES) and sm.active == (sm.state in ACTIVE_STATES)
    if before == State.disabled and sm.state != State.disabled:
      assert ev.contains(ET.ENABLE) and not ev.contains(ET.NO_ENTRY), "engaged only when asked and allowed"
    if before != State.disabled and (ev.contains(ET.USER_DISABLE) or ev.contains(ET.IMMEDIATE_DISABLE)):
      assert sm.state == State.disabled
    if sm.state == State.softDisabling:
      assert ev.contains(ET.SOFT_DISABLE) and sm.t < sm.soft_disable_end <= sm.t + SOFT_DISABLE_S
    if before == State.softDisabling and sm.state == State.disabled:
      assert sm.t >= sm.soft_disable_end or ev.contains(ET.USER_DISABLE) or ev.contains(ET.IMMEDIATE_DISABLE)


def test_alert_manager_priority_and_duration():
  am = AlertManager()
  am.add("fcw/permanent", EVENTS["fcw"][ET.PERMANENT], 0.0)
  am.add("steerSaturated/warning", EVENTS["steerSaturated"][ET.WARNING], 0.0)
  assert am.current(0.1).name == "fcw/permanent"
  assert am.current(1.0).name == "fcw/permanent", "held for its duration"
  assert am.current(5.0) is None


# --- the process's logic on hand-made inputs
class Rig:
  def __init__(self):
    self.sm = messaging.SubMaster(selfdrived.INPUTS, ignore_avg_freq=selfdrived.NO_RATE_CHECK)
    self.sd = selfdrived.SelfDrive(Params())
    self.t = 0

  def step(self, *, cruise=True, brake=False, cancel=False, model=True, camera=True, gear="drive", curvature=0.0):
    cs = messaging.new_message("carState")
    c = cs.carState
    c.vEgo, c.canValid, c.cruiseState.enabled, c.cruiseState.available = 20.0, True, cruise, True
    c.brakePressed, c.gearShifter = brake, gear
    if cancel:
      b = c.init("buttonEvents", 1)
      b[0].type, b[0].pressed = "cancel", True
    msgs = [cs.to_bytes(), messaging.new_message("controlsState").to_bytes()]
    if self.t % 10 == 0:
      ps = messaging.new_message("pandaStates", 1)
      ps.pandaStates[0].controlsAllowed = True
      msgs.append(ps.to_bytes())
    if self.t % 100 == 0:
      msgs.append(car_params_message().to_bytes())
    if self.t % 5 == 0:
      if model:
        md = messaging.new_message("modelV2")
        md.modelV2.valid = True
        lat = messaging.new_message("lateralPlan")
        lat.lateralPlan.desiredCurvature = curvature
        msgs += [md.to_bytes(), lat.to_bytes(), messaging.new_message("longitudinalPlan").to_bytes()]
      if camera:
        msgs.append(messaging.new_message("roadCameraState").to_bytes())
    now = self.t * round(DT_CTRL * 1e9)
    self.sm.update_msgs(now, msgs)
    msg, _ = self.sd.update(self.sm, now * 1e-9)
    self.t += 1
    return msg.selfdriveState


def engaged_rig() -> Rig:
  rig = Rig()
  for _ in range(200):
    ss = rig.step(cruise=False)
  assert ss.state == State.disabled
  ss = rig.step()
  assert ss.state == State.enabled and ss.alertSound == "engage", "the car's cruise came on: engaged"
  return rig


@pytest.mark.parametrize("how", ["brake", "cancel", "cruise_off"])
def test_driver_disengages(how):
  rig = engaged_rig()
  ss = rig.step(brake=how == "brake", cancel=how == "cancel", cruise=how != "cruise_off")
  assert ss.state == State.disabled


@pytest.mark.parametrize("fault, alert", [("model", "commIssue"), ("camera", "cameraMalfunction")])
def test_inputs_stopping_soft_disable_within_3s(fault, alert):
  rig = engaged_rig()
  steps, first_alert = 0, None
  ss = rig.step()
  while ss.state != State.disabled:
    ss = rig.step(model=fault != "model", camera=fault != "camera")
    steps += 1
    if ss.state == State.softDisabling and first_alert is None:
      first_alert = steps
      assert ss.alertText1 == "TAKE CONTROL IMMEDIATELY" and ss.alertStatus == "critical"
      assert ss.alertType.startswith(alert)
    assert steps < 500
  assert first_alert is not None and steps * DT_CTRL < 3.0


def test_no_entry_when_not_ready():
  rig = Rig()
  for _ in range(200):
    rig.step(cruise=False, model=False)
  ss = rig.step(model=False)
  assert ss.state == State.disabled and not ss.engageable
  assert ss.alertText1 == "localpilot Unavailable" and ss.alertSound == "refuse"


def test_take_control_when_the_road_needs_more_than_the_limits():
  rig = engaged_rig()
  k_max = 3.0 / 20.0 ** 2                      # ISO lateral acceleration at 20 m/s
  for _ in range(30):
    ss = rig.step(curvature=k_max)
  assert ss.alertType == "", "a moment at the limit is fine"
  for _ in range(100):
    ss = rig.step(curvature=k_max)
  assert ss.alertType == "takeControl/warning" and ss.alertText1 == "Take Control" and ss.state == State.enabled
