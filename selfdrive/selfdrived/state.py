"""The engagement state machine (openpilot's): disabled, preEnabled, enabled, softDisabling, overriding.

Disabling by the driver or at once always wins; a soft disable runs SOFT_DISABLE_S on the stack clock (not in steps:
a step may come late, or 10x slower when carState itself stops and selfdrived wakes on its timeout) and returns to
enabled if its cause clears first; engaging needs an ENABLE event and no NO_ENTRY event.
"""
from dataclasses import dataclass, field

from cereal import log
from selfdrive.controls.lib.limits import SOFT_DISABLE_S
from selfdrive.selfdrived.events import ET, Events

State = log.SelfdriveState.OpenpilotState
ENABLED_STATES = (State.preEnabled, State.enabled, State.softDisabling, State.overriding)
ACTIVE_STATES = (State.enabled, State.softDisabling, State.overriding)


@dataclass
class StateMachine:
  state: int = State.disabled
  soft_disable_end: float = 0.0                # s, stack clock: a soft disable disengages then
  alert_types: list[ET] = field(default_factory=list)

  @property
  def enabled(self) -> bool:
    return self.state in ENABLED_STATES

  @property
  def active(self) -> bool:
    return self.state in ACTIVE_STATES

  def _soft_disable(self, now_s: float) -> None:
    self.state, self.soft_disable_end = State.softDisabling, now_s + SOFT_DISABLE_S
    self.alert_types.append(ET.SOFT_DISABLE)

  def update(self, events: Events, now_s: float) -> None:
    """One step at now_s (stack clock, s): the new state, and which event types' alerts to show (alert_types)."""
    self.alert_types = [ET.PERMANENT]
    overriding = events.contains(ET.OVERRIDE_LATERAL) or events.contains(ET.OVERRIDE_LONGITUDINAL)
    if self.state != State.disabled:
      if events.contains(ET.USER_DISABLE):
        self.state = State.disabled
        self.alert_types.append(ET.USER_DISABLE)
      elif events.contains(ET.IMMEDIATE_DISABLE):
        self.state = State.disabled
        self.alert_types.append(ET.IMMEDIATE_DISABLE)
      elif self.state == State.enabled:
        if events.contains(ET.SOFT_DISABLE):
          self._soft_disable(now_s)
        elif overriding:
          self.state = State.overriding
          self.alert_types += [ET.OVERRIDE_LATERAL, ET.OVERRIDE_LONGITUDINAL]
      elif self.state == State.softDisabling:
        if not events.contains(ET.SOFT_DISABLE):
          self.state = State.enabled
        elif now_s < self.soft_disable_end:
          self.alert_types.append(ET.SOFT_DISABLE)
        else:
          self.state = State.disabled
      elif self.state == State.preEnabled:
        if not events.contains(ET.PRE_ENABLE):
          self.state = State.enabled
        else:
          self.alert_types.append(ET.PRE_ENABLE)
      elif self.state == State.overriding:
        if events.contains(ET.SOFT_DISABLE):
          self._soft_disable(now_s)
        elif not overriding:
          self.state = State.enabled
        else:
          self.alert_types += [ET.OVERRIDE_LATERAL, ET.OVERRIDE_LONGITUDINAL]
    elif events.contains(ET.ENABLE):
      if events.contains(ET.NO_ENTRY):
        self.alert_types.append(ET.NO_ENTRY)
      else:
        self.state = State.preEnabled if events.contains(ET.PRE_ENABLE) else \
          State.overriding if overriding else State.enabled
        self.alert_types.append(ET.ENABLE)
    if self.active:
      self.alert_types.append(ET.WARNING)
