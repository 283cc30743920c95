"""MODEL_CARD.md from a training report, so the card always says what the shipped weights really are."""
import json
from pathlib import Path

from tools.sim.constants import EVENT_GAP_S
from tools.train.evaluate import DISTANCES_M, NEAR_LEAD_M
from tools.train.train import SHIFT_MAX_M, SHIFT_STD_M


def write_card(report: dict, path: Path) -> None:
  ev, m, cfg, shape = report["eval"], report["model"], report["config"], report["train_shape"]
  roads = shape["road"]
  rows = [("lane line lateral error (ego lane's two lines)", [ev[f"lane_line_err_{d}m"] for d in DISTANCES_M]),
          ("path lateral error", [ev[f"path_err_{d}m"] for d in DISTANCES_M])]
  table = "\n".join(f"| {name} | " + " | ".join(f"{v:.3f} m" for v in vals) + " |" for name, vals in rows)
  loops = "\n".join(f"| {kind} | {seed} | {r['seconds']} | {r['mean_abs_offset_m']} | {r['max_abs_offset_m']} | "
                    f"{r['lane_departures']} | {r['off_road_s']} |"
                    for kind in ("closed_loop", "closed_loop_uncalibrated") for seed, r in ev.get(kind, {}).items())
  near = ("" if "path_err_10m_near_lead" not in ev else f"""
With a car within {NEAR_LEAD_M:.0f} m ahead (it hides the road; a car cutting in is one):

| path lateral error at 10 m | desired curvature error |
|---|---|
| {ev['path_err_10m_near_lead']:.3f} m | {ev['curvature_err_near_lead']:.5f} 1/m |
""")
  text = f"""# Driving model: `models/driving.safetensors`

A small tinygrad world model trained from scratch on the built-in simulator, reproducibly, on a CPU.
This card is written by `localpilot train`; the numbers below are that run's.

## Exact command
```
{report['command'] or 'localpilot train'}
```
Wall time: {report['total_minutes']} min in all ({report['data_minutes']} min generating data,
{report['train_minutes']} min training, the rest evaluating) on {report['machine']}.
`localpilot train --eval --json` re-measures the evaluation.

## Model
- Input: the last two road-camera frames warped into the calibrated model frame (a virtual camera at the road camera,
  looking along the car, 256x128 luma, focal 240 px, horizon at row 52), each as 6 half-resolution planes (4 luma
  sub-planes, U, V) as openpilot does; the desire (lane change left / right / none, one-hot of 8); the recurrent
  latent state ({m['hidden']} floats).
- Trunk: six 3x3 convolutions (five with stride 2, each group-normalised) to a 2x4 grid, a layer-normalised
  256-feature layer, a GRU cell carrying the recurrent state. The latent state is the frame's features beside it.
- Heads on the latent (Laplace mean + std): plan (position, velocity, acceleration at 33 times to 10 s), 4 lane
  lines and 2 road edges (y, z at 33 distances to 192 m) with line probabilities, lead at 0 / 2 / 4 s (distance
  from our front bumper, lateral position, speed, acceleration, probability), desired curvature and acceleration,
  ego-motion.
- World model: a dynamics head predicts the next latent state from the current one and the car's action
  (curvature, acceleration), trained jointly (latent prediction loss + the heads decoded from the prediction; the
  latent it learns to predict is detached, so the prediction cannot make the latent collapse).
- {m['parameters']:,} parameters; {m['outputs']} outputs.

## Data
{report['train_drives']} drives of {report['drive_s']:.0f} s (seeds 1000 and up; every seed its own road, lighting,
camera mount and traffic) on roads curvier than the simulator's: curve radii {roads['min_radius']:.0f} to
{roads['max_radius']:.0f} m, log-uniform skewed by {roads['radius_skew']} towards tight curves (the simulator's lean
towards gentle ones), straights of {roads['straight'][0]:.0f} to {roads['straight'][1]:.0f} m between them; without
them the model read a 200 m bend as a gentler one and drifted out of it. Other cars drift about their lane centres
(after an aim of {shape['lane_wander']} m, 1 sigma: 0.26 m off on average, 0.57 m at the 95th percentile; the
simulator's keep to them): where a car ahead always marked the lane centre, the model learnt to steer for it, and a
car cutting in 5-10 m ahead pulled its path 1-2 m sideways while its lane lines stayed right. The traffic's events (a
lead slowing, braking hard, stopping and going; a neighbour cutting in) come every {shape['event_gap'][0]:.0f} to
{shape['event_gap'][1]:.0f} s (the simulator's every {EVENT_GAP_S[0]:.0f} to {EVENT_GAP_S[1]:.0f} s), and drives start
at {shape['start_speed'][0]:.0f} to
{shape['start_speed'][1]:.0f} m/s: at the simulator's rate the model lost the road behind a car just cut in close
ahead in a bend, and under-steered pulling away from a stop into one. 20 frames per second,
rendered at 512x256 and warped as modeld warps. The driver is the simulator's scripted driver made to wander off the
lane (up to 1 m) and change lanes, so recoveries are in the data; labels are what it should do: the lane centre (or
the lane change) as the path at the distances the drive covered, pure-pursuit curvature towards it, its pedal
acceleration; lane lines, road edges and the lead (within 100 m) from the simulator's ground truth. The warp's
calibration is perturbed by 0.3 degrees (1 sigma) per drive.

## Training
{json.dumps(cfg)}: AdamW, cosine schedule, windows of {cfg['seq']} consecutive frames whose recurrent state
starts from the one the model last computed for the frame before (stored per frame). Half the windows are mirrored
left-right, half are seen from a camera moved sideways (normal, {SHIFT_STD_M} m sigma, at most {SHIFT_MAX_M} m: the
road below the horizon re-projected, every lateral label and the expert's curvature moved with it): without that the
model learnt each drive's usual lane position instead of reading the lines, and was blind to the car's offset.

## Evaluation (held-out seeds {ev['eval_seeds'][0]}..{ev['eval_seeds'][-1]}, never trained on)
Open loop, mean absolute error over the labelled frames:

| | 10 m | 20 m | 50 m |
|---|---|---|---|
{table}

| lead distance error (lead within 100 m) | lead detected / absent correctly | desired curvature error |
|---|---|---|
| {ev['lead_dist_err']:.2f} m | {100 * ev['lead_detect_acc']:.1f} % | {ev['curvature_err']:.5f} 1/m |

| desired acceleration error | speed error |
|---|---|
| {ev['accel_err']:.3f} m/s^2 | {ev['speed_err']:.3f} m/s |
{near}
Closed loop: the model's desired curvature steers the simulated car (the scripted driver keeps the pedals);
"uncalibrated" warps with zero roll/pitch/yaw, as modeld does until a calibration is published.

| run | seed | seconds | mean abs lane offset (m) | max (m) | lane departures | off road (s) |
|---|---|---|---|---|---|---|
{loops}

## Limits
Trained only on the simulator's look; it has never seen a real road. Warped without calibration a crooked
mount shows as a lateral bias (compare the two closed-loop runs): calibrationd learns the mount's pitch and yaw from
where the road's straight lines meet in the image, not from the model. An uncalibrated
pitch is the costlier: the model reads distance from the horizon, and 1.3 degrees down it read a 275 m bend as
straight at 20 m. Lead detection is barely above chance at this size and budget: the
longitudinal planner must not be trusted with leads from this model yet.
"""
  path.write_text(text)


if __name__ == "__main__":
  import sys
  write_card(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
