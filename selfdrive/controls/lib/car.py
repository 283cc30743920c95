"""What plannerd and controlsd share before they start: a car they may control."""
from cereal import messaging


def wait_for_car(sm: messaging.SubMaster):
  """carParams of a car to control, once card has published them; a dashcam-only car never gets past here."""
  while not (sm.seen["carParams"] and not sm["carParams"].dashcamOnly):
    sm.update(100)
  return sm["carParams"]
