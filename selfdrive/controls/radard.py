"""radard: the leads plannerd follows, from the car's radar (liveTracks, 20 Hz) along the model's path.

A radar measures distance and speed to a metre and a few cm/s, where a small camera model is at its weakest; the
model says where our path goes, which picks the radar tracks in it. Without the model (dead, or not yet
started) the path is the arc the car is turning on now: the curvature its steering angle makes (not every car reports
a yaw rate; Toyotas do not). radarState goes out with every scan.
"""
import sys

import numpy as np

from cereal import arrays, messaging
from selfdrive.common.process import exit_on_sigterm, freeze_startup
from selfdrive.controls.lib.car import wait_for_car
from selfdrive.controls.lib.radar_leads import LeadTracker, RadarLead, Track, arc_y_left
from selfdrive.controls.lib.vehicle_model import VehicleModel

INPUTS = ["liveTracks", "modelV2", "carState", "carParams", "liveParameters"]
CHECKED = ["liveTracks", "carState"]
ARC_X = np.linspace(0.0, 200.0, 41)
TRACKS_TIMEOUT_MS = 200


def model_path(sm: messaging.SubMaster) -> bool:
  return sm.alive["modelV2"] and sm.valid["modelV2"]


def steering_curvature(sm: messaging.SubMaster, car_params) -> float:
  """The curvature (left positive) of the arc the current steering angle makes."""
  cs = sm["carState"]
  return VehicleModel.from_submaster(car_params, sm).curvature(cs.steeringAngleDeg, cs.vEgo)


def path_of(sm: messaging.SubMaster, curvature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
  """(x, y to the right, y's std) of our path: the model's, else the arc of the current steering angle (std None)."""
  if model_path(sm):
    shape = arrays.MODEL_V2_SHAPES["position"]
    pos, std = arrays.unpack(sm["modelV2"].position, shape), arrays.unpack(sm["modelV2"].positionStd, shape)
    return pos[:, 0], pos[:, 1], std[:, 1]
  return ARC_X, -arc_y_left(curvature, ARC_X), None


def fill_lead(out, lead: RadarLead | None) -> None:
  out.status = lead is not None
  if lead is not None:
    out.trackId, out.dRel, out.yRel, out.vRel = lead.track_id, lead.d_rel, lead.y_rel, lead.v_rel
    out.vLead, out.aLeadK, out.pathOffset, out.age = lead.v_lead, lead.a_lead, lead.path_offset, lead.age


class RadarD:
  def __init__(self, car_params):
    self.car_params = car_params
    self.radar_available = not car_params.radarUnavailable
    self.tracker = LeadTracker()

  def update(self, sm: messaging.SubMaster):
    lt, cs = sm["liveTracks"], sm["carState"]
    tracks = [Track(p.trackId, p.dRel, p.yRel, p.vRel) for p in lt.points]
    curvature = steering_curvature(sm, self.car_params)
    one, two = self.tracker.update(tracks, cs.vEgo, *path_of(sm, curvature), curvature=curvature)
    msg = messaging.new_message("radarState")
    msg.valid = sm.all_alive(CHECKED) and sm.all_valid(CHECKED)
    rs = msg.radarState
    rs.radarAvailable, rs.radarErrors = self.radar_available, lt.canError or lt.radarFault
    rs.modelMonoTime = sm.logMonoTime["modelV2"] if model_path(sm) else 0
    fill_lead(rs.leadOne, one)
    fill_lead(rs.leadTwo, two)
    fill_lead(rs.beside, self.tracker.beside)
    return msg


def main() -> int:
  exit_on_sigterm()
  sm = messaging.SubMaster(INPUTS, poll="liveTracks")
  pm = messaging.PubMaster(["radarState"])
  radard = RadarD(wait_for_car(sm))
  freeze_startup()
  while True:
    sm.update(TRACKS_TIMEOUT_MS)
    if sm.updated["liveTracks"]:
      pm.send("radarState", radard.update(sm))


if __name__ == "__main__":
  sys.exit(main())
