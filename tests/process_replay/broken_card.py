"""card with a deliberate behaviour change (vEgo reads 0.05 m/s high): process replay must catch it."""
import sys

from selfdrive.car import card

_fill_car_state = card.fill_car_state


def fill_car_state(out, state) -> None:
  _fill_car_state(out, state)
  out.vEgo += 0.05


card.fill_car_state = fill_car_state

if __name__ == "__main__":
  sys.exit(card.main())
