"""`localpilot train`: build the driving model from scratch: simulator drives -> training -> weights, model card.

  localpilot train                   generate the data (cached), train (resumable), evaluate, write the weights
  localpilot train --eval [--json]   evaluate the shipped weights on drives never trained on
"""
import argparse
import json
import platform
import shlex
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

from selfdrive.common.errors import UserError
from selfdrive.modeld.constants import WEIGHTS_FILE
from tools.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS = REPO / WEIGHTS_FILE
DEFAULT_DATA = Path("~/.localpilot/train_data")
DEFAULT_OUT = Path("~/.localpilot/train_run")
TRAIN_DRIVES, EVAL_DRIVES = 60, 4
DRIVE_S, EVAL_DRIVE_S = 90.0, 60.0
CLOSED_LOOP_S = 60.0


def _episodes(root: Path, seeds: list[int]):
  from tools.train.data import load_episode
  return [load_episode(root, s) for s in seeds]


def evaluate(weights: Path, data: Path, args: argparse.Namespace) -> dict:
  from selfdrive.modeld.runner import ModelInputs, ModelRunner, compile_model, load_model
  from tools.train import data as D
  from tools.train.evaluate import closed_loop, open_loop, predict
  seeds = [D.EVAL_SEED_BASE + i for i in range(args.eval_drives)]
  D.generate(data / "eval", seeds, EVAL_DRIVE_S, args.jobs, "eval drives", progress=not args.json, shape=D.EVAL_SHAPE)
  model = load_model(weights)
  eps = _episodes(data / "eval", seeds)
  report = {"eval_seeds": seeds, **open_loop(eps, *predict(model, eps))}
  if args.closed_loop_s > 0:
    inputs = ModelInputs()
    runner = ModelRunner(compile_model(model, inputs), inputs, compiled=False)
    report["closed_loop"] = {str(s): closed_loop(runner, s, args.closed_loop_s) for s in seeds[:2]}
    report["closed_loop_uncalibrated"] = {str(s): closed_loop(runner, s, args.closed_loop_s, calibrated=False)
                                          for s in seeds[:2]}
  return report


def run(args: argparse.Namespace) -> int:
  from tools.train import data as D
  data, out, weights = args.data.expanduser(), args.out.expanduser(), args.weights
  t0 = time.monotonic()
  if args.eval:
    report = evaluate(weights, data, args)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0
  from tinygrad import nn

  from tools.train.card import write_card
  from tools.train.train import describe, train
  cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
  D.check_shape(data / "eval", D.EVAL_SHAPE)  # now, not after the training: a stale evaluation cache fails first
  seeds = [D.TRAIN_SEED_BASE + i for i in range(args.drives)]
  data_minutes = D.generate(data / "train", seeds, args.drive_s, args.jobs, "train drives", progress=not args.json,
                            shape=D.TRAIN_SHAPE)
  t_data = time.monotonic() - t0
  model = train(_episodes(data / "train", seeds), out, cfg, progress=not args.json)
  t_train = time.monotonic() - t0 - t_data
  weights.parent.mkdir(parents=True, exist_ok=True)
  nn.state.safe_save(nn.state.get_state_dict(model), str(weights),
                     metadata={"config": json.dumps(asdict(cfg)), "train_seeds": f"{seeds[0]}..{seeds[-1]}"})
  report = {"command": "localpilot train " + shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else "",
            "config": asdict(cfg), "model": describe(model), "train_drives": args.drives, "drive_s": args.drive_s,
            "train_shape": asdict(D.TRAIN_SHAPE),
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
            "data_minutes": round(data_minutes, 1), "train_minutes": round(t_train / 60, 1)}
  report["eval"] = evaluate(weights, data, args)
  # the whole recipe's wall time: generating the drives (now, or when they were cached), training, evaluating
  report["total_minutes"] = round((time.monotonic() - t0 - t_data) / 60 + data_minutes, 1)
  (out / "report.json").write_text(json.dumps(report, indent=2))
  if args.card:
    write_card(report, weights.parent / "MODEL_CARD.md")
  print(json.dumps(report) if args.json else json.dumps(report, indent=2))
  return 0


def _positive(x: str) -> int:
  v = int(x)
  if v <= 0:
    raise argparse.ArgumentTypeError(f"{x}: must be a positive number")
  return v


def register(sub: argparse._SubParsersAction) -> None:
  d = TrainConfig()
  p = sub.add_parser("train", help="train the driving model from scratch in the simulator", description=__doc__ + f"""
Data: {TRAIN_DRIVES} simulator drives of {DRIVE_S:.0f} s by default (seeds vary road, lighting, camera mount and
traffic), driven by a scripted driver that wanders off its lane and changes lanes so the model sees recoveries;
cached under --data and reused. Training is resumable: run the same command again after an interruption.
Evaluation uses drives whose seeds were never trained on, open loop and closed loop.""",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--eval", action="store_true", help="only evaluate the weights in --weights")
  p.add_argument("--json", action="store_true", help="no progress bars; print the report as one JSON object")
  p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"cached drives (default {DEFAULT_DATA})")
  p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"checkpoints and report (default {DEFAULT_OUT})")
  p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                 help=f"the weights file written (or evaluated with --eval) (default {WEIGHTS_FILE})")
  p.add_argument("--card", action=argparse.BooleanOptionalAction, default=True,
                 help="write MODEL_CARD.md beside the weights (default: yes)")
  p.add_argument("--drives", type=_positive, default=TRAIN_DRIVES, help=f"training drives (default {TRAIN_DRIVES})")
  p.add_argument("--drive-s", type=float, default=DRIVE_S, help=f"seconds per drive (default {DRIVE_S:.0f})")
  p.add_argument("--eval-drives", type=_positive, default=EVAL_DRIVES, help=f"held-out drives (default {EVAL_DRIVES})")
  p.add_argument("--closed-loop-s", type=float, default=CLOSED_LOOP_S,
                 help=f"seconds the model drives each of two held-out seeds; 0 skips (default {CLOSED_LOOP_S:.0f})")
  p.add_argument("--jobs", type=_positive, default=2, help="simulator processes generating data (default 2)")
  p.add_argument("--steps", type=_positive, default=d.steps, help=f"training steps (default {d.steps})")
  p.add_argument("--batch", type=_positive, default=d.batch, help=f"windows per step (default {d.batch})")
  p.add_argument("--seq", type=_positive, default=d.seq, help=f"frames per window (default {d.seq})")
  p.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")
  p.add_argument("--weight-decay", type=float, default=d.weight_decay, help=argparse.SUPPRESS)
  p.add_argument("--seed", type=int, default=d.seed, help=f"training seed (default {d.seed})")
  p.add_argument("--checkpoint-every", type=_positive, default=d.checkpoint_every, help=argparse.SUPPRESS)
  p.set_defaults(func=_checked)


def _checked(args: argparse.Namespace) -> int:
  if args.seq < 2:
    raise UserError("--seq must be at least 2 (the world model predicts one frame ahead)")
  if args.drive_s <= 12.0:
    raise UserError("--drive-s must be over 12 s: every labelled frame needs 10 s of future")
  return run(args)
