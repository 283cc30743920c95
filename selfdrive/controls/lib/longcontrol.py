"""Longitudinal control: the plan's target acceleration to the car's, through openpilot's states (off, pid,
stopping, starting) and a PID on the acceleration error with the target as feedforward. The gains come from
carParams; cars whose own controller closes the loop (Toyota) set them to zero, leaving the feedforward."""
from cereal import car
from selfdrive.controls.lib.limits import DT_CTRL
from selfdrive.controls.lib.pid import PIDController

LongCtrlState = car.CarControl.Actuators.LongControlState


def next_state(active: bool, state, v_ego: float, should_stop: bool, brake_pressed: bool, v_starting: float,
               starting_state: bool):
  """openpilot's long_control_state_trans, without the cruise standstill gate: the car leaves its standstill
  when asked to accelerate."""
  starting = not should_stop and not brake_pressed
  if not active:
    return LongCtrlState.off
  if state == LongCtrlState.off:
    return LongCtrlState.starting if starting and starting_state else LongCtrlState.pid
  if state == LongCtrlState.stopping:
    if starting:
      return LongCtrlState.starting if starting_state else LongCtrlState.pid
    return state
  if should_stop:
    return LongCtrlState.stopping
  if state == LongCtrlState.starting and v_ego > v_starting:
    return LongCtrlState.pid
  return state


class LongControl:
  def __init__(self, cp):
    lt = cp.longitudinalTuning
    self.pid = PIDController((tuple(lt.kpBP), tuple(lt.kpV)), (tuple(lt.kiBP), tuple(lt.kiV)), pos_limit=0.0,
                             neg_limit=0.0, rate=1 / DT_CTRL)
    self.v_starting, self.start_accel = cp.vEgoStarting, cp.startAccel
    self.stop_accel, self.stopping_rate = cp.stopAccel, cp.stoppingDecelRate
    self.starting_state = cp.startAccel > 0.0
    self.state = LongCtrlState.off
    self.last_output = 0.0

  def update(self, active: bool, v_ego: float, a_ego: float, brake_pressed: bool, a_target: float, should_stop: bool,
             a_min: float, a_max: float) -> float:
    self.pid.neg_limit, self.pid.pos_limit = a_min, a_max
    self.state = next_state(active, self.state, v_ego, should_stop, brake_pressed, self.v_starting,
                            self.starting_state)
    if self.state == LongCtrlState.off:
      self.pid.reset()
      output = 0.0
    elif self.state == LongCtrlState.stopping:
      output = self.last_output
      if output > self.stop_accel:
        output = min(output, 0.0) - self.stopping_rate * DT_CTRL
      self.pid.reset()
    elif self.state == LongCtrlState.starting:
      output = self.start_accel
      self.pid.reset()
    else:
      output = self.pid.update(a_target - a_ego, speed=v_ego, feedforward=a_target)
    self.last_output = min(max(output, a_min), a_max)
    return self.last_output
