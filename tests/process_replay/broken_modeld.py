"""modeld with a deliberate behaviour change (every frame warped 0.5 degrees further to the left): process replay
must catch it, within the tolerance the model's arrays are compared with."""
import math
import sys

from selfdrive.modeld import modeld

YAW_CHANGE = math.radians(0.5)
_camera_from_model = modeld.camera_from_model
modeld.camera_from_model = lambda k, rpy: _camera_from_model(k, (rpy[0], rpy[1], rpy[2] + YAW_CHANGE))

if __name__ == "__main__":
  sys.exit(modeld.main())
