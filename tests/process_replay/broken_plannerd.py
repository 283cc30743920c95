"""plannerd with a deliberate behaviour change (every personality follows 0.3 s farther back): process replay
must catch it."""
import sys

from selfdrive.controls import plannerd

TIME_GAP_CHANGE_S = 0.3

plannerd.FOLLOW_TIME_GAP = {name: gap + TIME_GAP_CHANGE_S for name, gap in plannerd.FOLLOW_TIME_GAP.items()}

if __name__ == "__main__":
  sys.exit(plannerd.main())
