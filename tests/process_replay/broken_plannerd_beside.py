"""plannerd with a deliberate behaviour change (it accelerates past a car close ahead in the next lane, as it did
before radard named such a car): process replay must catch it."""
import math
import sys

from selfdrive.controls import plannerd
from selfdrive.controls.lib import longitudinal_planner

longitudinal_planner.BESIDE_MIN_SPEED = math.inf

if __name__ == "__main__":
  sys.exit(plannerd.main())
