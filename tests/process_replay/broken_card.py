"""card with a deliberate behaviour change (vEgo reads 0.05 m/s high): process replay must catch it."""
import sys

from selfdrive.car import card
from selfdrive.car.adapter import CarAdapter

_update = CarAdapter.update


def update(self, frames, t_ns):
  state = _update(self, frames, t_ns)
  state.vEgo += 0.05
  return state


CarAdapter.update = update

if __name__ == "__main__":
  sys.exit(card.main())
