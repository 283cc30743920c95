"""Lane change on the blinker: openpilot's desire state machine.

off -> preLaneChange when one blinker comes on above LANE_CHANGE_SPEED_MIN; -> laneChangeStarting once the driver
nudges the wheel that way with the blind spot clear; -> laneChangeFinishing once the model no longer sees a lane
change ahead; -> off (or preLaneChange again while the blinker stays on). Lateral control going off, the blinker
going off before the nudge, or LANE_CHANGE_TIME_MAX passing abandons it. The desire goes to the model as input.
"""
from dataclasses import dataclass
from enum import IntEnum

from cereal import log
from selfdrive.controls.lib.limits import DT_MDL, LANE_CHANGE_SPEED_MIN, LANE_CHANGE_TIME_MAX

LaneChangeState = log.LaneChangeState
LaneChangeDirection = log.LaneChangeDirection
LANE_CHANGE_DONE_PROB = 0.02   # the model's lane change probability below which the change is done
LANE_LINE_FADE_S = 0.5         # lane lines fade out of the plan over this when the change starts ...
LANE_LINE_RETURN_S = 1.0       # ... and back in over this when it finishes


class Desire(IntEnum):
  """The model's desire input (openpilot's log.Desire); DESIRE_LEN entries, the rest unused."""
  none = 0
  turnLeft = 1
  turnRight = 2
  laneChangeLeft = 3
  laneChangeRight = 4
  keepLeft = 5
  keepRight = 6


@dataclass(frozen=True)
class DriverInput:
  """What the desire machine reads of carState."""
  v_ego: float
  left_blinker: bool
  right_blinker: bool
  steering_pressed: bool
  steering_torque: float       # positive left
  left_blindspot: bool = False
  right_blindspot: bool = False


@dataclass
class DesireHelper:
  state: int = LaneChangeState.off
  direction: int = LaneChangeDirection.none
  timer: float = 0.0
  lane_line_prob: float = 1.0  # how much the lane lines count, faded out during the change
  prev_one_blinker: bool = False

  @property
  def desire(self) -> Desire:
    if self.state in (LaneChangeState.laneChangeStarting, LaneChangeState.laneChangeFinishing):
      return Desire.laneChangeLeft if self.direction == LaneChangeDirection.left else Desire.laneChangeRight
    return Desire.none

  def update(self, d: DriverInput, lateral_active: bool, lane_change_prob: float) -> None:
    one_blinker = d.left_blinker != d.right_blinker
    below_speed = d.v_ego < LANE_CHANGE_SPEED_MIN
    if not lateral_active or self.timer > LANE_CHANGE_TIME_MAX:
      self.state, self.direction = LaneChangeState.off, LaneChangeDirection.none
    elif self.state == LaneChangeState.off:
      if one_blinker and not self.prev_one_blinker and not below_speed:
        self.state, self.lane_line_prob = LaneChangeState.preLaneChange, 1.0
    elif self.state == LaneChangeState.preLaneChange:
      self.direction = LaneChangeDirection.left if d.left_blinker else LaneChangeDirection.right
      left = self.direction == LaneChangeDirection.left
      nudged = d.steering_pressed and (d.steering_torque > 0 if left else d.steering_torque < 0)
      blocked = d.left_blindspot if left else d.right_blindspot
      if not one_blinker or below_speed:
        self.state, self.direction = LaneChangeState.off, LaneChangeDirection.none
      elif nudged and not blocked:
        self.state = LaneChangeState.laneChangeStarting
    elif self.state == LaneChangeState.laneChangeStarting:
      self.lane_line_prob = max(self.lane_line_prob - DT_MDL / LANE_LINE_FADE_S, 0.0)
      if lane_change_prob < LANE_CHANGE_DONE_PROB and self.lane_line_prob < 0.01:
        self.state = LaneChangeState.laneChangeFinishing
    elif self.state == LaneChangeState.laneChangeFinishing:
      self.lane_line_prob = min(self.lane_line_prob + DT_MDL / LANE_LINE_RETURN_S, 1.0)
      if self.lane_line_prob > 0.99:
        self.state = LaneChangeState.preLaneChange if one_blinker else LaneChangeState.off
        self.direction = self.direction if one_blinker else LaneChangeDirection.none
    active = self.state in (LaneChangeState.laneChangeStarting, LaneChangeState.laneChangeFinishing)
    self.timer = self.timer + DT_MDL if active else 0.0
    self.prev_one_blinker = one_blinker
