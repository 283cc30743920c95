"""The car adapter over opendbc: fingerprinting, CarState from CAN, CarControl to CAN, and `localpilot can decode`
on the committed TSS2 fixture and on a real 2018 RAV4 drive (comma2k19, when ../shared is present)."""
import argparse
import csv
import math
from pathlib import Path

import numpy as np
import pytest

from hardware.can.frame import CanFrame
from selfdrive.car import CarControl, cycles
from selfdrive.car.adapter import CarAdapter, MissingMessage
from selfdrive.car.fingerprinting import (
  CarMatch,
  UnknownPlatform,
  UnrecognizedCar,
  collect_fingerprint,
  fingerprint,
  fits,
  layout,
  legacy_fingerprints,
  platforms,
)
from selfdrive.common.errors import UserError
from tests.fixtures import make_can_fixtures as fx
from tools.can import cli
from tools.can.decode import DecodeError, decode_log, summary, write_csv
from tools.lib.canlog import read_can_log, read_processed_log, write_can_log

FIXTURE = fx.OUT
TOYOTA_TSSP_DBCS = {0: "toyota_new_mc_pt_generated", 1: "toyota_adas"}
SETTLE_S = 0.5  # opendbc's speed filter needs a few tenths of a second to find the acceleration


def frames_of(reads: dict[int, tuple[str, int]], seconds: float = 1.2, bus: int = 0) -> list[tuple[int, CanFrame]]:
  return [(k * 10_000_000, CanFrame(a, bytes(size), bus)) for k in range(int(seconds * 100)) for a, (_, size)
          in sorted(reads.items())]


def test_fixture_is_what_the_generator_makes():
  assert FIXTURE.stat().st_size < 200_000
  assert list(read_can_log(FIXTURE)) == fx.rav4_tss2_frames()


def test_fixture_fingerprints_as_the_tss2_family():
  """opendbc 0.3.1 has no CAN fingerprints for Toyota: the log narrows it to the TSS2 platforms, which read the
  same messages; it must never pick a TSS-P (2018) platform."""
  match = fingerprint(read_can_log(FIXTURE))
  assert isinstance(match, UnrecognizedCar) and match.same_layout
  assert {"TOYOTA_RAV4_TSS2", "TOYOTA_COROLLA_TSS2", "LEXUS_ES_TSS2"} <= set(match.candidates)
  assert not {"TOYOTA_RAV4", "TOYOTA_COROLLA"} & set(match.candidates)
  assert "cannot tell them apart" in str(match)
  assert match.fingerprint[0][0xAA] == 8 and match.fingerprint[2][0x343] == 8


def test_opendbc_can_fingerprints_pick_the_car():
  for platform, fps in legacy_fingerprints().items():
    match = fingerprint(frames_of({address: ("", size) for address, size in fps[0].items()}))
    assert isinstance(match, CarMatch) and (match.platform, match.source) == (platform, "fingerprint")


def test_every_platform_is_found_or_among_its_look_alikes():
  found = 0
  for platform in platforms():
    reads = layout(platform).get(0)
    if not reads or platform in legacy_fingerprints():
      continue  # no bus-0 messages to go by (CAN FD buses elsewhere); legacy ones are tested above
    match = fingerprint(frames_of(reads))
    if isinstance(match, CarMatch):
      assert (match.platform, match.source) == (platform, "layout")
      found += 1
    else:
      assert match.same_layout and platform in match.candidates, (platform, match)
  assert found > 10


def test_unknown_car_is_unrecognized_with_reasons():
  match = fingerprint([(k * 10_000_000, CanFrame(0x7A0 + k % 5, bytes(3), 0)) for k in range(300)])
  assert isinstance(match, UnrecognizedCar) and not match.same_layout
  assert "none of the 5 bus-0 addresses" in match.reason
  toyota_but_half = {a: v for i, (a, v) in enumerate(sorted(layout("TOYOTA_RAV4_TSS2")[0].items())) if i % 2}
  match = fingerprint(frames_of(toyota_but_half))
  assert isinstance(match, UnrecognizedCar) and not match.same_layout
  assert "TOYOTA_RAV4_TSS2" in match.candidates and "closest (seen/needed)" in match.reason
  assert fingerprint([]).reason == "no CAN frames to fingerprint"
  assert "no frames on bus 0" in fingerprint(frames_of(layout("TOYOTA_RAV4_TSS2")[0], bus=1)).reason


def test_unknown_platform_name():
  with pytest.raises(UnknownPlatform, match=r"'TOYOTA_RAV5'.*did you mean TOYOTA_RAV4.*localpilot can platforms"):
    CarAdapter("TOYOTA_RAV5")
  with pytest.raises(UnknownPlatform, match="unknown car platform 'MOCK'"):
    CarAdapter("MOCK")


def test_adapter_params_safety_and_control():
  adapter = CarAdapter("TOYOTA_RAV4_TSS2")
  assert adapter.car_params.carFingerprint == "TOYOTA_RAV4_TSS2"
  assert adapter.car_params.openpilotLongitudinalControl
  assert adapter.safety_configs[0].model == 2  # panda's SAFETY_TOYOTA
  assert adapter.safety_configs[0].param & 0xFF == 73  # EPS torque scale, the low byte of the Toyota safety param
  assert CarAdapter("TOYOTA_RAV4_TSS2_2022").safety_configs[0].param != \
    CarAdapter("TOYOTA_RAV4_TSS2_2022", alpha_long=True).safety_configs[0].param  # stock long flag dropped

  for end, batch in cycles(read_can_log(FIXTURE)):
    cs = adapter.update(batch, end)
  assert cs.canValid and adapter.missing_messages() == []
  cc = CarControl.new_message()
  cc.enabled = cc.latActive = True
  cc.actuators.torque = 1.0
  actuators, frames = adapter.apply(cc, end)
  assert 0 < actuators.torque < 1.0  # opendbc rate-limits the first step
  assert 0x2E4 in {f.address for f in frames} and all(isinstance(f.data, bytes) and f.bus == 0 for f in frames)


def test_decode_fixture_matches_the_drive(tmp_path):
  d = decode_log(FIXTURE, car="TOYOTA_RAV4_TSS2")
  assert (d.platform, d.match.source, d.frames, len(d.rows)) == ("TOYOTA_RAV4_TSS2", "override", 1798, 400)
  assert d.can_valid_share == 1.0 and d.missing == []
  t0 = fx.START_NS / 1e9
  for r in d.rows:
    t = r.t - t0
    if not any(abs(t - edge) < 0.05 for edge in (*fx.BRAKE_S, fx.CRUISE_FROM_S)):  # messages come every 25-30 ms
      assert (r.brakePressed, r.cruiseEnabled, r.gasPressed) == (fx.brake_pressed(t), fx.cruise_enabled(t), False)
    if t > SETTLE_S:
      assert abs(r.vEgo - fx.speed(t)) < 0.05
      assert all(abs(w - fx.speed(t)) < 0.1 for w in (r.wheelSpeedFL, r.wheelSpeedFR, r.wheelSpeedRL, r.wheelSpeedRR))
      assert abs(r.aEgo - 1.5) < 0.2
      assert abs(r.steeringAngleDeg - fx.steering_angle(t - 0.01)) < 0.5
      assert abs(r.steeringTorque - fx.driver_torque(t - 0.01)) <= 2

  guessed = decode_log(FIXTURE)
  assert isinstance(guessed.match, UnrecognizedCar) and guessed.platform in guessed.match.candidates
  assert [r.vEgo for r in guessed.rows] == [r.vEgo for r in d.rows]

  write_csv(d.rows, tmp_path / "out.csv")
  with open(tmp_path / "out.csv") as f:
    rows = list(csv.DictReader(f))
  assert list(rows[0]) == ["t", "vEgo", "aEgo", "steeringAngleDeg", "steeringTorque", "wheelSpeedFL", "wheelSpeedFR",
                           "wheelSpeedRL", "wheelSpeedRR", "gasPressed", "brakePressed", "cruiseEnabled", "canValid"]
  assert len(rows) == 400 and rows[-1]["canValid"] == "1" and math.isclose(float(rows[-1]["vEgo"]), d.rows[-1].vEgo,
                                                                           abs_tol=1e-4)


def test_decode_checks_only_the_buses_a_log_recorded(tmp_path):
  """A logger on the powertrain bus alone: the camera bus's messages are named, not held against canValid; a
  recorded bus that goes quiet, or --all-buses, still fails it."""
  frames = fx.rav4_tss2_frames()
  pt_only = tmp_path / "pt_only.log"
  write_can_log(pt_only, [(t, f) for t, f in frames if f.bus == 0])
  d = decode_log(pt_only, car="TOYOTA_RAV4_TSS2")
  assert d.unrecorded and {m.bus for m in d.unrecorded} == {2} and d.missing == []
  assert all(r.canValid for r in d.rows[-100:])
  assert "not in log bus 2" in summary(d) and "LKAS_HUD" in summary(d)
  strict = decode_log(pt_only, car="TOYOTA_RAV4_TSS2", all_buses=True)
  assert strict.unrecorded == [] and {m.bus for m in strict.missing} == {2} and strict.can_valid_share == 0.0
  # bus 2 heard only in the last second: a recorded bus is checked, so the seconds before are invalid
  cut = frames[-1][0] - 1_000_000_000
  late = tmp_path / "late.log"
  write_can_log(late, [(t, f) for t, f in frames if f.bus == 0 or t > cut])
  q = decode_log(late, car="TOYOTA_RAV4_TSS2")
  assert q.unrecorded == [] and q.missing == []
  assert not any(r.canValid for r in q.rows if r.t * 1e9 < cut) and q.rows[-1].canValid


def test_fits_tells_whether_the_can_could_be_the_car():
  finger = collect_fingerprint(fx.rav4_tss2_frames())
  assert fits("TOYOTA_RAV4_TSS2", finger) and fits("TOYOTA_COROLLA_TSS2", finger)  # the same CAN layout
  assert not fits("TOYOTA_RAV4", finger) and not fits("HONDA_CIVIC", finger)
  assert not fits("TOYOTA_RAV4_TSS2", collect_fingerprint([]))


def test_decode_refuses_what_it_cannot_tell(tmp_path):
  path = tmp_path / "alien.log"
  write_can_log(path, [(1_700_000_000_000_000_000 + k * 10_000_000, CanFrame(0x7A0, bytes(3), 0)) for k in range(300)])
  with pytest.raises(DecodeError, match=r"cannot tell which car.*--car PLATFORM.*localpilot can platforms"):
    decode_log(path)
  assert decode_log(path, car="TOYOTA_RAV4").can_valid_share == 0.0
  (tmp_path / "empty.log").write_text("")
  with pytest.raises(DecodeError, match="no CAN frames"):
    decode_log(tmp_path / "empty.log")


def run_cli(argv: list[str]) -> int:
  parser = argparse.ArgumentParser(prog="localpilot")
  cli.register(parser.add_subparsers(dest="command", required=True))
  args = parser.parse_args(argv)
  return args.func(args)


def test_cli(tmp_path, capsys):
  out = tmp_path / "fx.csv"
  assert run_cli(["can", "decode", str(FIXTURE), "--car", "TOYOTA_RAV4_TSS2", "--csv", str(out)]) == 0
  text = capsys.readouterr().out
  assert "TOYOTA_RAV4_TSS2 (given with --car)" in text and "400 cycles of 10 ms = 4.0 s" in text
  assert "canValid   100.0%" in text and out.exists()
  assert run_cli(["can", "decode", str(FIXTURE), "--csv", str(out)]) == 0
  assert "a guess:" in capsys.readouterr().out
  assert run_cli(["can", "platforms", "rav4"]) == 0
  assert "TOYOTA_RAV4_TSS2" in capsys.readouterr().out.split()
  with pytest.raises(UserError, match="unknown car platform"):
    run_cli(["can", "decode", str(FIXTURE), "--car", "RAV4", "--csv", str(out)])
  with pytest.raises(SystemExit):
    run_cli(["can", "decode", str(FIXTURE)])
  assert "required: --csv" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    run_cli(["can", "decode", "--help"])
  assert "canValid" in capsys.readouterr().out


# **** a real drive: comma2k19, 2018 Toyota RAV4, 60 s on a highway ****

_converted: dict[Path, Path] = {}


@pytest.fixture
def rav4_log(shared_data, tmp_path_factory) -> tuple[Path, Path]:
  """The drive as a candump log in a temporary folder, converted once per session; never into the repository."""
  data = shared_data / "comma2k19_rav4_seg40"
  if data not in _converted:
    _converted[data] = tmp_path_factory.mktemp("rav4") / "rav4.log"
    write_can_log(_converted[data], read_processed_log(data, TOYOTA_TSSP_DBCS))
  return data, _converted[data]


def test_real_rav4_fingerprint(rav4_log):
  """2018 RAV4s share their CAN layout with the 2017-19 Corolla, Lexus CT Hybrid, ES and Prius v; never TSS2."""
  _, path = rav4_log
  match = fingerprint(read_can_log(path))
  assert isinstance(match, UnrecognizedCar) and match.same_layout
  assert set(match.candidates) == {"TOYOTA_RAV4", "TOYOTA_COROLLA", "LEXUS_CTH", "LEXUS_ES", "TOYOTA_PRIUS_V"}


def test_real_rav4_decode_tracks_recorded_channels(rav4_log):
  data, path = rav4_log
  d = decode_log(path, car="TOYOTA_RAV4")
  assert d.frames == 135_468 and len(d.rows) == 6000
  t = np.array([r.t for r in d.rows])
  late = t > t[0] + 1.0
  can = data / "processed_log" / "CAN"
  speed = np.interp(t, np.load(can / "speed" / "t"), np.load(can / "speed" / "value").ravel())
  angle = np.interp(t, np.load(can / "steering_angle" / "t"), np.load(can / "steering_angle" / "value").ravel())
  v_err = np.array([r.vEgo for r in d.rows])[late] - speed[late]
  a_err = np.array([r.steeringAngleDeg for r in d.rows])[late] - angle[late]
  assert np.sqrt(np.mean(v_err ** 2)) < 0.05 and np.abs(v_err).max() < 0.6
  # each wheel's speed as the recording decoded it (paramsd's yaw rate is the rear wheels' difference)
  wheels = np.load(can / "wheel_speed" / "value")
  for i, name in enumerate(("wheelSpeedFL", "wheelSpeedFR", "wheelSpeedRL", "wheelSpeedRR")):
    recorded = np.interp(t, np.load(can / "wheel_speed" / "t"), wheels[:, i])
    w_err = np.array([getattr(r, name) for r in d.rows])[late] - recorded[late]
    assert np.sqrt(np.mean(w_err ** 2)) < 0.05, name
  assert np.sqrt(np.mean(a_err ** 2)) < 0.1 and np.abs(a_err).max() < 0.6
  assert 5 < np.mean([r.vEgo for r in d.rows]) < 25
  assert any(r.cruiseEnabled for r in d.rows) and not any(r.brakePressed for r in d.rows[late.argmax():])
  # The camera was cut off from the car in 2018 (openpilot stood in for it), so no bus 2 was recorded: the
  # camera's LKAS_HUD, which today's opendbc reads there, is named and not held against canValid. Everything
  # else arrives: after opendbc's first second (it learns each message's rate) every cycle is valid.
  assert d.missing == [] and d.unrecorded == [MissingMessage(2, 0x412, "LKAS_HUD")]
  assert all(r.canValid for r in np.array(d.rows)[late])
  strict = decode_log(path, car="TOYOTA_RAV4", all_buses=True)
  assert strict.missing == [MissingMessage(2, 0x412, "LKAS_HUD")] and strict.can_valid_share == 0.0
  # ... and on bus 0 only the frames openpilot itself sent (the panda's echoes) carry PRE_COLLISION
  no_tx = path.with_name("rav4_no_tx.log")
  write_can_log(no_tx, read_processed_log(data, TOYOTA_TSSP_DBCS, include_tx=False))
  without_tx = decode_log(no_tx, car="TOYOTA_RAV4")
  assert MissingMessage(0, 0x283, "PRE_COLLISION") in without_tx.missing and without_tx.can_valid_share == 0.0
