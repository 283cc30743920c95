"""The radar end to end: the simulated Toyota's tracks on CAN, read by opendbc's RadarInterface in card's adapter,
match the world; radard picks the nearest track in the path as the lead and filters its acceleration; plannerd
follows radard's lead on a car with a radar."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cereal import arrays, messaging
from selfdrive.car.adapter import CarAdapter
from selfdrive.car.convert import fill_live_tracks
from selfdrive.controls import radard
from selfdrive.controls.lib.radar_leads import (
  ARC_AHEAD_S,
  ARC_MIN_CURVATURE,
  BESIDE_GAP_S,
  CUT_IN_AHEAD_S,
  CUT_IN_CLOSING_LOOKAHEAD_S,
  CUT_IN_CLOSING_MPS,
  CUT_IN_LOOKAHEAD_S,
  IN_PATH_M,
  NEAR_AHEAD_M,
  NEAR_AHEAD_S,
  NEAR_OVERLAP_M,
  RADAR_DT,
  RADAR_TO_CAMERA_M,
  LeadTracker,
  Track,
)
from selfdrive.controls.lib.vehicle_model import VehicleModel
from tests.test_closed_loop_sil import Sil, car_params_message
from tools.sim import constants as C
from tools.sim.ecu.interface import RadarTarget
from tools.sim.ecu.radar import NOISE_D_M, SLOTS, ToyotaRadar
from tools.sim.world import WorldConfig

STRAIGHT_X = np.linspace(0.0, 200.0, 4001)  # fine: the path is interpolated linearly
STRAIGHT_Y = np.zeros(4001)


def scans(adapter: CarAdapter, radar: ToyotaRadar, targets_at, seconds: float):
  """(targets, opendbc's points) for every scan over `seconds` of 10 ms cycles."""
  out = []
  for k in range(round(seconds * 100)):
    t = k * 10_000_000
    targets = targets_at(k * 0.01)
    scan = adapter.radar(radar.step(t, lambda targets=targets: targets), t)
    if scan is not None:
      out.append((targets, {p.trackId: p for p in scan.points}))
  return out


def test_radar_tracks_read_back_through_opendbc():
  adapter, radar = CarAdapter(C.SIM_PLATFORM), ToyotaRadar(C.SIM_PLATFORM)
  moving = lambda t: (RadarTarget(7, 40.0 - 2.0 * t, 0.2, -2.0, 0.0), RadarTarget(9, 80.0, -3.6, 1.0, 0.0))
  got = scans(adapter, radar, moving, 2.0)
  assert len(got) == 40, "20 Hz"
  for targets, points in got[3:]:
    assert len(points) == 2
    for target in targets:
      p = min(points.values(), key=lambda p: abs(p.dRel - target.d_rel))
      assert abs(p.dRel - target.d_rel) < 6 * NOISE_D_M + 0.04 and abs(p.yRel - target.y_rel) < 0.3
      assert abs(p.vRel - target.v_rel) < 0.3 and p.measured
  ids = {frozenset(points) for _, points in got[3:]}
  assert len(ids) == 1, "a target keeps its track id while the radar sees it"


def test_targets_come_and_go_and_the_nearest_are_kept():
  adapter, radar = CarAdapter(C.SIM_PLATFORM), ToyotaRadar(C.SIM_PLATFORM)
  crowd = tuple(RadarTarget(i, 10.0 + 5.0 * i, 0.0, 0.0, 0.0) for i in range(SLOTS + 4))
  got = scans(adapter, radar, lambda t: crowd if t < 1.0 else crowd[:1], 2.0)
  during, after = got[10][1], got[-1][1]
  assert len(during) == SLOTS and max(p.dRel for p in during.values()) < 10.0 + 5.0 * SLOTS
  assert len(after) == 1 and abs(next(iter(after.values())).dRel - 10.0) < 0.5


def test_no_targets_no_points():
  adapter, radar = CarAdapter(C.SIM_PLATFORM), ToyotaRadar(C.SIM_PLATFORM)
  assert all(not points for _, points in scans(adapter, radar, lambda t: (), 1.0))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(1.0, 150.0), st.floats(-8.0, 8.0), st.floats(-20.0, 5.0)), max_size=10),
       st.floats(-0.004, 0.004), st.floats(-0.007, 0.007), st.floats(0.0, 35.0))
def test_the_lead_is_the_nearest_track_in_the_path(points, curvature, arc_curvature, v_ego):
  """Whatever the tracks, the path's curve and the car's own: leadOne is the nearest within IN_PATH_M of the path (or,
  nearer than NEAR_AHEAD_M / NEAR_AHEAD_S, within NEAR_OVERLAP_M of the arc the car turns on; or, turning at least
  ARC_MIN_CURVATURE, within IN_PATH_M of that arc up to ARC_AHEAD_S), leadTwo the next, and nothing else is a lead."""
  path_y_right = -0.5 * curvature * STRAIGHT_X ** 2       # a left curve: the path goes left, y right negative
  tracks = [Track(i, d, y, v) for i, (d, y, v) in enumerate(points)]
  one, two = LeadTracker().update(tracks, v_ego, STRAIGHT_X, path_y_right, curvature=arc_curvature)
  def offset(t: Track, k: float) -> float:
    return t.y_rel - 0.5 * k * (t.d_rel + RADAR_TO_CAMERA_M) ** 2
  near = max(NEAR_AHEAD_M, NEAR_AHEAD_S * v_ego)
  ahead = lambda t: t.d_rel < near and abs(offset(t, arc_curvature)) < NEAR_OVERLAP_M
  on_arc = lambda t: abs(arc_curvature) >= ARC_MIN_CURVATURE and t.d_rel < ARC_AHEAD_S * v_ego and \
    abs(offset(t, arc_curvature)) < IN_PATH_M
  in_path = sorted((t for t in tracks if abs(offset(t, curvature)) < IN_PATH_M or ahead(t) or on_arc(t)),
                   key=lambda t: t.d_rel)
  assert (one.track_id if one else None) == (in_path[0].track_id if in_path else None)
  assert (two.track_id if two else None) == (in_path[1].track_id if len(in_path) > 1 else None)
  if one is not None:
    assert math.isclose(one.path_offset, offset(in_path[0], curvature), abs_tol=1e-3)
    assert math.isclose(one.v_lead, max(v_ego + in_path[0].v_rel, 0.0), abs_tol=1e-6), "first sight: measured speed"


def test_lead_acceleration_is_filtered_from_its_speed():
  tracker = LeadTracker()
  v_ego = 25.0
  for k in range(100):                  # the lead brakes at 3 m/s^2 from 25 m/s, 5 s of scans
    v_lead = 25.0 - 3.0 * k * 0.05
    one, _ = tracker.update([Track(4, 30.0, 0.0, v_lead - v_ego)], v_ego, STRAIGHT_X, STRAIGHT_Y)
  assert abs(one.a_lead + 3.0) < 0.6 and abs(one.v_lead - v_lead) < 0.5 and one.age == 99
  for _ in range(100):                  # ... then holds its speed: the estimate returns to zero
    one, _ = tracker.update([Track(4, 30.0, 0.0, v_lead - v_ego)], v_ego, STRAIGHT_X, STRAIGHT_Y)
  assert abs(one.a_lead) < 0.3


def test_the_lead_keeps_its_place_a_little_wider():
  tracker = LeadTracker()
  assert tracker.update([Track(1, 30.0, 1.2, 0.0)], 20.0, STRAIGHT_X, STRAIGHT_Y)[0] is not None
  assert tracker.update([Track(1, 30.0, 1.7, 0.0)], 20.0, STRAIGHT_X, STRAIGHT_Y)[0] is not None, "drifting: kept"
  assert LeadTracker().update([Track(1, 30.0, 1.7, 0.0)], 20.0, STRAIGHT_X, STRAIGHT_Y)[0] is None, "new: not in path"


def test_a_car_close_ahead_is_the_lead_wherever_the_path_swings():
  """Seed 8: a car that cut in 5 m ahead, the model's path (blinded by it) swung 3 m sideways at 10 m. The car
  straight ahead stays the lead; one in the next lane, as close, never is."""
  swung = np.interp(STRAIGHT_X, (0.0, 10.0, 200.0), (0.0, -3.0, -20.0))   # to the left, y right negative
  cut_in, beside = Track(3, 5.0, -0.4, -3.0), Track(4, 5.0, -3.4, 0.0)   # 2.4 m right of the path at 5 m
  one, two = LeadTracker().update([cut_in, beside], 22.0, STRAIGHT_X, swung)
  assert one is not None and one.track_id == 3 and two is None
  far = Track(5, 25.0, -0.4, -3.0)   # further on, the path decides: this one is 4.9 m off it
  assert LeadTracker().update([far], 22.0, STRAIGHT_X, swung)[0] is None


def test_a_car_cutting_in_is_the_lead_once_it_overlaps_the_car():
  """Seed 4: a car cutting in 10-12 m ahead at 25 m/s is the lead as soon as its body overlaps ours (1.7 m between
  centres), before its centre is within IN_PATH_M of the path; one just clear of us (2.0 m) is not yet."""
  assert LeadTracker().update([Track(3, 12.0, 1.7, -4.0)], 25.0, STRAIGHT_X, STRAIGHT_Y)[0] is not None
  assert LeadTracker().update([Track(3, 12.0, 2.0, -4.0)], 25.0, STRAIGHT_X, STRAIGHT_Y)[0] is None


def scan_lead(track_ys, d_rel: "float | np.ndarray" = 9.5, v_ego: float = 7.4, v_rel: float = -1.0) -> list[bool]:
  """Feed one near track's lateral positions scan by scan (20 Hz), at one distance or one per scan: whether it was
  the lead at each."""
  tracker = LeadTracker()
  ds = np.broadcast_to(d_rel, np.shape(track_ys))
  return [tracker.update([Track(3, float(d), float(y), v_rel)], v_ego, STRAIGHT_X, STRAIGHT_Y)[0] is not None
          for d, y in zip(ds, track_ys, strict=True)]


def test_a_car_cutting_in_is_the_lead_before_it_overlaps_when_it_moves_across():
  """Seed 4: a car 10 m ahead at 7 m/s moves across at 1.7 m/s from the next lane. It is the lead from where it will
  overlap CUT_IN_LOOKAHEAD_S later (its centre ~2.5 m off ours, as the simulator counts it in our lane at 2.4 m),
  not only once it overlaps (1.8 m)."""
  ys = [3.0] * 20 + [3.0 - 1.7 * RADAR_DT * k for k in range(1, 30)]   # still, then across
  lead = scan_lead(ys)
  first = lead.index(True)
  assert ys[first] > NEAR_OVERLAP_M + 0.5 and all(lead[first:])


def test_cars_beside_us_or_weaving_in_the_next_lane_are_not_leads():
  """A car holding 2.3 m beside us with the radar's jitter, or weaving 0.4 m in the next lane every 4 s, never is."""
  rng = np.random.default_rng(0)
  assert not any(scan_lead(list(2.3 + rng.normal(0.0, 0.05, 400))))
  t = np.arange(400) * RADAR_DT
  assert not any(scan_lead(list(3.5 + 0.4 * np.sin(2 * np.pi * t / 4.0) + rng.normal(0.0, 0.05, 400))))
  assert not any(scan_lead([2.0 + 1.0 * RADAR_DT * k for k in range(60)]))   # moving away from just clear of us


def closing_scans(d0: float, y0: float, v_rel: float, vy: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
  """A track's distance and lateral position per 20 Hz scan, closing at v_rel and moving across at vy."""
  t = np.arange(round(seconds / RADAR_DT)) * RADAR_DT
  return d0 + v_rel * t, y0 + vy * t


def test_a_car_cutting_in_close_ahead_is_the_lead_where_it_will_be_when_we_reach_it():
  """Seed 293's shape: a car tracked in the next lane, 12 m ahead, that we close on at 3.2 m/s comes across at 1 m/s.
  It is the lead from where it will overlap us when we reach it (CUT_IN_CLOSING_LOOKAHEAD_S here), sooner than
  looking CUT_IN_LOOKAHEAD_S ahead would take it even knowing its lateral speed exactly."""
  for seed in range(5):
    rng = np.random.default_rng(seed)
    ds, ys = closing_scans(12.0, 3.0, -3.2, 0.0, 3.0)
    ys[20:] -= 1.0 * RADAR_DT * np.arange(1, len(ys) - 19)   # still for a second, then across
    lead = scan_lead(ys + rng.normal(0.0, 0.05, len(ys)), ds, 19.0, -3.2)
    first = lead.index(True)
    assert all(lead[first:])
    assert ys[first] - 1.0 * CUT_IN_LOOKAHEAD_S > NEAR_OVERLAP_M + 0.1, "taken before a 0.5 s look would"


def test_a_car_overlapping_us_close_ahead_stays_the_lead_through_the_radars_jitter():
  """A car that has pulled in 5 m ahead with its body over our lane's edge (centres 1.7 m apart, 0.15 m of overlap),
  the model's path swung away from it: its lateral reading jitters across NEAR_OVERLAP_M, and it stays the lead
  (seed 257: a reading 0.08 m outwards dropped such a car for a scan, and plannerd eased its braking for the lead
  64 m ahead)."""
  swung = np.interp(STRAIGHT_X, (0.0, 10.0, 200.0), (0.0, -3.0, -20.0))   # the model's path, blinded, to the left
  ys = -1.7 + np.random.default_rng(0).normal(0.0, 0.05, 100)           # the car on our right
  tracker = LeadTracker()
  lead = [tracker.update([Track(3, 5.0, float(y), -0.5)], 19.0, STRAIGHT_X, swung)[0] is not None for y in ys]
  assert lead[0] and all(lead)


@settings(max_examples=40, deadline=None)
@given(y=st.floats(2.2, 3.6), v_rel=st.floats(-6.0, -1.5), seed=st.integers(0, 2**31))
def test_a_car_we_pass_in_the_next_lane_is_never_the_lead(y, v_rel, seed):
  """A car holding its place beside our lane (2.2-3.6 m from our centre, the radar's jitter on it) that we pass at up to
  6 m/s, from 12 m ahead until level, is never the lead, however soon we reach it."""
  ds, _ = closing_scans(12.0, y, v_rel, 0.0, 12.0 / -v_rel)
  ys = y + np.random.default_rng(seed).normal(0.0, 0.05, len(ds))
  assert not any(scan_lead(ys, ds, 19.0, v_rel))


def scan_lead_on_path(track_ys, paths_y_right, d_rel: float, v_ego: float, v_rel: float = -3.0) -> list[bool]:
  """Feed one track's lateral positions (left positive) with the path of each scan: whether it was the lead."""
  tracker = LeadTracker()
  return [tracker.update([Track(3, d_rel, y, v_rel)], v_ego, STRAIGHT_X, path)[0] is not None
          for y, path in zip(track_ys, paths_y_right, strict=True)]


def test_a_car_close_ahead_in_the_next_lane_may_pull_in():
  """radard's beside: the nearest car close ahead in a next lane that is not pulling away (where a cut-in comes
  from), further ahead that we will draw level with within a few seconds, or inside our following gap. Not a car in
  our path (a lead), one further on, one pulling away, one two lanes over, nor one behind us."""
  def beside(*tracks: Track) -> int | None:
    tracker = LeadTracker()
    tracker.update(list(tracks), 20.0, STRAIGHT_X, STRAIGHT_Y)
    return tracker.beside.track_id if tracker.beside is not None else None
  assert beside(Track(1, 9.0, 3.6, 0.0)) == 1 and beside(Track(1, 9.0, -3.6, -2.0)) == 1
  assert beside(Track(1, 20.0, 3.6, -8.0)) == 1, "2.5 s from drawing level"
  assert beside(Track(1, 11.0, 3.6, 0.0), Track(2, 7.0, -3.4, 0.5)) == 2, "the nearest"
  assert beside(Track(1, 9.0, 0.5, 0.0)) is None, "in our path: the lead"
  assert beside(Track(1, 28.0, -3.4, -4.2)) == 1, "seed 691: 1.4 s ahead at our 20 m/s, cutting in at 1.05 s later"
  assert beside(Track(1, BESIDE_GAP_S * 20.0 + 5.0, 3.6, -2.0)) is None, "further on"
  assert beside(Track(1, 9.0, 3.6, 2.0)) is None, "pulling away"
  assert beside(Track(1, 9.0, 7.2, 0.0)) is None, "two lanes over"
  assert beside(Track(1, -2.0, 3.6, 0.0)) is None, "behind our front bumper"


def test_a_car_waiting_in_the_next_lane_pulls_in_ahead_not_onto_us():
  """Stress seed 900110 (traffic events every 12-18 s): at 68 s a car that had held just ahead of us in the next lane
  cut in, slowing to 85 % of our speed. While we accelerated past it, it pulled in 4.8 m ahead closing at 3.1 m/s, the
  gap closed to 2.4 m and the driver braked; not accelerating while it could pull in, it pulls in 9.4 m ahead."""
  sil = Sil(900110, WorldConfig(event_gap=(12.0, 18.0)))
  leads = []   # (car, bumper gap) of the simulator's lead
  while sil.world.t < 74.0:
    sil.step()
    if sil.world.t > 66.0 and sil.gt.lead_present:
      leads.append((sil.gt.lead_id, sil.gt.lead_distance))
  cut_in = next(e for e in sil.world.traffic.log if e.what == "cut_in" and 66.0 < e.t < 70.0)
  gaps = [gap for car, gap in leads if car == cut_in.car]
  assert gaps, "the car cut in and became the lead"
  assert min(gaps) > 6.0
  assert sil.world.stats.collisions == 0 and sil.recorder.report().takeovers == 0


def test_a_car_cutting_in_further_ahead_is_the_lead_before_it_reaches_the_path():
  """Seed 23: at 18.6 m/s a car 17.7 m ahead (0.95 s, past the near zone) comes across from the next lane at
  1.5 m/s. It is the lead from where it will be within IN_PATH_M of the path CUT_IN_LOOKAHEAD_S later, not only
  once it is; past CUT_IN_AHEAD_S ahead only once it is."""
  ys = [3.7] * 20 + [3.7 - 1.5 * RADAR_DT * k for k in range(1, 50)]
  straight = [STRAIGHT_Y] * len(ys)
  lead = scan_lead_on_path(ys, straight, 17.7, 18.6)
  first = lead.index(True)
  assert ys[first] > IN_PATH_M + 0.5 and all(lead[first:])
  far = scan_lead_on_path(ys, straight, CUT_IN_AHEAD_S * 18.6 + 3.0, 18.6)
  assert ys[far.index(True)] < IN_PATH_M


def test_a_car_we_close_on_is_taken_where_it_will_be_a_second_later():
  """Seed 71: a car 15 m ahead, 3.6 m/s slower, comes across at 1.5 m/s. Closing on it, it is the lead from where it
  will be in the path CUT_IN_CLOSING_LOOKAHEAD_S later; one holding our speed only CUT_IN_LOOKAHEAD_S later."""
  vy = 1.5
  ys = [3.7] * 20 + [3.7 - vy * RADAR_DT * k for k in range(1, 50)]
  straight = [STRAIGHT_Y] * len(ys)
  taken_at = {}
  for v_rel, look in ((-3.6, CUT_IN_CLOSING_LOOKAHEAD_S), (-CUT_IN_CLOSING_MPS + 0.1, CUT_IN_LOOKAHEAD_S)):
    lead = scan_lead_on_path(ys, straight, 15.0, 16.3, v_rel)
    first = lead.index(True)
    assert all(lead[first:])
    # the filtered lateral speed settles onto the true one: taken within 0.15 s of the look-ahead's reach
    assert abs(ys[first] - (IN_PATH_M + vy * look)) <= vy * 0.15
    taken_at[look] = first * RADAR_DT
  assert taken_at[CUT_IN_LOOKAHEAD_S] - taken_at[CUT_IN_CLOSING_LOOKAHEAD_S] >= \
    CUT_IN_CLOSING_LOOKAHEAD_S - CUT_IN_LOOKAHEAD_S - 0.2


def bend_entry(v: float, ahead_m: float, lane_offset_m: float, seconds: float):
  """Driving at v along the centre of a road that turns left (straight, then its curvature rising to 1/150 over 30 m
  from 40 m ahead): per 20 Hz scan, the road's centre as the path (y right, at STRAIGHT_X) and where a car ahead_m
  further along the road, lane_offset_m left of the centre, is in our frame (x ahead of the camera, y left)."""
  ds = 0.05
  s, reach = np.arange(0.0, v * seconds + 200.0, ds), round(150.0 / ds)   # the path: 150 m of road, ahead of us
  heading = np.cumsum(np.clip((s - 40.0) / 30.0, 0.0, 1.0) / 150.0) * ds
  xs, ys = np.cumsum(np.cos(heading)) * ds, np.cumsum(np.sin(heading)) * ds
  out = []
  for k in range(round(seconds / RADAR_DT)):
    i, j = round(v * k * RADAR_DT / ds), round((v * k * RADAR_DT + ahead_m) / ds)
    to_ours = np.array([[np.cos(heading[i]), np.sin(heading[i])], [-np.sin(heading[i]), np.cos(heading[i])]])
    road_x, road_y = to_ours @ (np.stack([xs[i:i + reach], ys[i:i + reach]]) - [[xs[i]], [ys[i]]])
    car = [xs[j] - np.sin(heading[j]) * lane_offset_m, ys[j] + np.cos(heading[j]) * lane_offset_m]
    car_x, car_y = to_ours @ (np.array(car) - [xs[i], ys[i]])
    out.append((float(car_x), float(car_y), -np.interp(STRAIGHT_X, road_x, road_y)))
  return out


def test_a_car_keeping_the_next_lane_into_a_bend_is_not_the_lead():
  """Into a 150 m left bend at 25 m/s, the car in the lane to our right 35 m ahead (1.4 s) moves sideways in our frame
  as the road turns it and then us (up to 3.4 m/s), and so does the model's path there, which also jitters from frame
  to frame (0.1 m) and is 0.5 m unsure of itself: its offset from the path holds, so it never is the lead. Taken where
  its motion in our frame would put it 0.5 s later, it would be. One in our lane always is."""
  rng = np.random.default_rng(1)
  std = np.full_like(STRAIGHT_X, 0.5)
  for lane, lead_expected in ((-3.6, False), (0.0, True)):
    scans = bend_entry(25.0, 35.0, lane, 6.0)
    tracker = LeadTracker()
    leads = [tracker.update([Track(3, x - RADAR_TO_CAMERA_M, y + rng.normal(0.0, 0.05), 0.0)], 25.0, STRAIGHT_X,
                            path + rng.normal(0.0, 0.1), std)[0] is not None for x, y, path in scans]
    assert all(lead == lead_expected for lead in leads)
  ys = [y for _, y, _ in bend_entry(25.0, 35.0, -3.6, 6.0)]
  assert np.ptp(ys) > 1.0 and np.max(np.abs(np.diff(ys))) / RADAR_DT > 1.0, "the car moves sideways in our frame"
  assert np.max(np.abs(np.diff(ys))) / RADAR_DT * CUT_IN_LOOKAHEAD_S > 3.6 - IN_PATH_M - 0.5, "... enough to matter"


def test_a_car_in_the_next_lane_stays_out_when_the_path_changes_source():
  """The model's path (curving left, 1.5 m off the straight arc at 25 m) gives way to the steering arc when modeld
  stops, and comes back: the car in the lane to the right jumps 1.5 m towards the path, then away, in one scan, which
  is no motion of its own."""
  x = 25.0 + RADAR_TO_CAMERA_M
  std = np.full_like(STRAIGHT_X, 0.2)
  bent = -0.5 * (2 * 1.5 / x ** 2) * STRAIGHT_X ** 2    # y right: 1.5 m left at the car
  tracker, car = LeadTracker(), Track(3, 25.0, 1.5 - 3.6, 0.0)   # centred in the lane to the right of the road's
  leads = []
  for k in range(90):
    model = k < 30 or k >= 60
    leads.append(tracker.update([car], 20.0, STRAIGHT_X, bent if model else STRAIGHT_Y, std if model else None)[0])
  assert all(lead is None for lead in leads)


def test_a_car_in_the_next_lane_of_a_tight_bend_is_not_the_lead():
  """30 m/s into a 150 m left bend, 23 m ahead: the car centred in the lane to our right is 1.4 m right of the car's
  straight axis (the bend's inside is left) but 3.6 m from the arc the car is turning on, and from the path."""
  k, x = 1 / 150, 23.0 + RADAR_TO_CAMERA_M
  bend = -0.5 * k * STRAIGHT_X ** 2
  beside = Track(6, 23.0, 0.5 * k * x * x - 3.6, 0.0)
  assert abs(beside.y_rel) < NEAR_OVERLAP_M
  assert LeadTracker().update([beside], 30.0, STRAIGHT_X, bend, curvature=k)[0] is None
  ours = Track(7, 23.0, 0.5 * k * x * x, 0.0)
  assert LeadTracker().update([ours], 30.0, STRAIGHT_X, bend, curvature=k)[0] is not None


def test_in_a_steady_bend_a_car_on_the_arc_is_the_lead_where_the_path_runs_straight():
  """Seed 101, 19 m/s through a 244 m left bend: the model's path ran 2.6-4.2 m right of the stopping lead 50-94 m
  ahead, as if the bend eased (its std there 2-5 m, the widening capped at PATH_STD_MAX_M), and radard took it 49 m
  ahead, too late to stop. An arc of the bend's curvature had it within 0.2 m from 82 m on. A car in the next lane
  is not on the arc, nor is anything on a straight or beyond ARC_AHEAD_S."""
  k, v = 0.0041, 19.0
  path = -0.5 * 0.6 * k * STRAIGHT_X ** 2     # y right: the path bending left at 0.6 of the road's curvature
  on_road = lambda d, lane=0.0: 0.5 * k * (d + RADAR_TO_CAMERA_M) ** 2 + lane
  stopped = Track(1, 82.0, on_road(82.0) + 0.3, -v)
  assert LeadTracker().update([stopped], v, STRAIGHT_X, path, np.full_like(STRAIGHT_X, 3.0))[0] is None   # the path
  one, _ = LeadTracker().update([stopped], v, STRAIGHT_X, path, np.full_like(STRAIGHT_X, 3.0), curvature=k)
  assert one is not None and one.track_id == 1
  beside = Track(2, 60.0, on_road(60.0, 3.7), 0.0)   # the next lane on the inside of the bend
  assert LeadTracker().update([beside], v, STRAIGHT_X, path, np.full_like(STRAIGHT_X, 3.0), curvature=k)[0] is None
  far = Track(3, ARC_AHEAD_S * v + 5.0, on_road(ARC_AHEAD_S * v + 5.0), -v)
  assert LeadTracker().update([far], v, STRAIGHT_X, path, np.full_like(STRAIGHT_X, 0.5), curvature=k)[0] is None
  gentle = 0.9 * ARC_MIN_CURVATURE
  off_path = Track(4, 60.0, 0.5 * gentle * 61.5 ** 2, -v)
  assert LeadTracker().update([off_path], v, STRAIGHT_X, STRAIGHT_Y, curvature=gentle)[0] is None


def test_where_the_path_is_unsure_a_car_on_the_arc_is_the_lead():
  """Seed 127, just past a bend's exit at 22 m/s: a lead braking to a stop 95 m ahead was within 0.7 m of straight
  ahead while the model's path there still bent 3 m left, 2 m unsure of itself. The car's arc (straight now) has it;
  where the path is sure of itself its word stands; a car in the next lane is on neither, nor is anything beyond
  ARC_AHEAD_S."""
  v = 22.0
  path = -0.5 * (2 * 3.0 / 96.5 ** 2) * STRAIGHT_X ** 2   # y right: 3 m left at the lead
  unsure, sure = np.full_like(STRAIGHT_X, 2.0), np.full_like(STRAIGHT_X, 0.5)
  lead = Track(1, 95.0, -0.6, -10.0)
  one, _ = LeadTracker().update([lead], v, STRAIGHT_X, path, unsure)
  assert one is not None and one.track_id == 1
  assert LeadTracker().update([lead], v, STRAIGHT_X, path, sure)[0] is None
  assert LeadTracker().update([Track(2, 95.0, -3.7, -10.0)], v, STRAIGHT_X, path, unsure)[0] is None
  assert LeadTracker().update([Track(3, ARC_AHEAD_S * v + 5.0, 0.0, -10.0)], v, STRAIGHT_X, path, unsure)[0] is None


def test_an_unsure_path_far_ahead_widens_the_lane_up_to_a_limit():
  """A car stopped 90 m ahead, 2.3 m off a path the model is 1.5 m unsure of there, is a lead; one in the next
  lane's centre is not, however unsure the path."""
  std = np.interp(STRAIGHT_X, (0.0, 100.0), (0.1, 1.5))
  stopped, beside = Track(7, 90.0, 2.3, -20.0), Track(8, 90.0, -3.5, -20.0)
  assert LeadTracker().update([stopped], 20.0, STRAIGHT_X, STRAIGHT_Y)[0] is None       # an exact path: not in it
  one, _ = LeadTracker().update([stopped, beside], 20.0, STRAIGHT_X, STRAIGHT_Y, std)
  assert one is not None and one.track_id == 7
  assert LeadTracker().update([beside], 20.0, STRAIGHT_X, STRAIGHT_Y, std * 100)[0] is None
  assert LeadTracker().update([Track(9, 10.0, 1.9, 0.0)], 20.0, STRAIGHT_X, STRAIGHT_Y, std)[0] is None  # near: sure


def test_radard_follows_the_models_path():
  """A car 3.5 m to the left, 60 m ahead, is the lead when the model's path curves into its lane."""
  cp = car_params_message().carParams.as_reader()
  rd = radard.RadarD(cp)
  sm = messaging.SubMaster(radard.INPUTS)
  vm = VehicleModel.from_car_params(cp)

  def step(t_ns: int, curvature: float, model: bool = True):
    md = messaging.new_message("modelV2")
    x = np.linspace(0.0, 150.0, arrays.IDX_N)
    pos = np.stack([x, -0.5 * curvature * x ** 2, np.zeros_like(x)], axis=1).astype(np.float32)
    md.modelV2.position = arrays.pack(pos, arrays.MODEL_V2_SHAPES["position"])
    md.logMonoTime = t_ns
    lt = messaging.new_message("liveTracks")
    lt.logMonoTime = t_ns
    scan = lt.liveTracks.init("points", 1)
    scan[0].trackId, scan[0].dRel, scan[0].yRel, scan[0].vRel = 5, 60.0, 3.5, 0.0
    cs = messaging.new_message("carState")
    cs.logMonoTime = t_ns
    cs.carState.vEgo = 20.0
    cs.carState.steeringAngleDeg = curvature / vm.curvature(1.0, 20.0)   # the car turns on the path's curve (a
    cs.carState.yawRate = 0.0                                             # Toyota reports no yaw rate)
    sm.update_msgs(t_ns, [md.to_bytes()] * model + [cs.to_bytes(), lt.to_bytes()])
    return rd.update(sm).radarState

  straight = step(1_000_000_000, 0.0)
  assert not straight.leadOne.status and straight.radarAvailable
  curving = step(1_050_000_000, 2 * 3.5 / (60.0 + RADAR_TO_CAMERA_M) ** 2)
  assert curving.leadOne.status and curving.leadOne.trackId == 5 and abs(curving.leadOne.pathOffset) < 0.1
  assert curving.modelMonoTime == 1_050_000_000
  # the model gone for 2 s: the arc of the steering angle picks the same lead, and radarState says no model chose it
  no_model = step(3_050_000_000, 2 * 3.5 / (60.0 + RADAR_TO_CAMERA_M) ** 2, model=False)
  assert no_model.leadOne.status and no_model.leadOne.trackId == 5 and no_model.modelMonoTime == 0


def test_plannerd_follows_the_radar_lead_in_the_loop():
  """The software-in-the-loop stack behind a slower car: plannerd's lead is radard's, the gap holds."""
  sil = Sil(94)
  sil.run(18.0)
  leads = [(lp.hasLead, str(lp.longitudinalPlanSource)) for _, lp, _, sd, _ in sil.plans[-100:] if sd.active]
  assert leads and all(has for has, _ in leads)
  assert sil.recorder.report().min_gap_s >= 1.0 and sil.world.stats.collisions == 0


def test_fill_live_tracks_carries_every_point():
  adapter, radar = CarAdapter(C.SIM_PLATFORM), ToyotaRadar(C.SIM_PLATFORM)
  targets = (RadarTarget(1, 20.0, 0.5, -1.0, 0.0), RadarTarget(2, 45.0, -3.5, 2.0, 0.0))
  scan = next(s for k in range(10)
              if (s := adapter.radar(radar.step(k * 10_000_000, lambda: targets), k * 10_000_000)))
  msg = messaging.new_message("liveTracks")
  fill_live_tracks(msg.liveTracks, scan)
  out = sorted((round(p.dRel), round(p.yRel, 1)) for p in msg.liveTracks.points)
  assert out == [(20, 0.5), (45, -3.5)] and not msg.liveTracks.canError
