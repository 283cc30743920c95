"""`localpilot bench NAME`: the project's benchmarks, each measured side by side with its baseline."""
import argparse
import importlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
  module: str            # has run(seconds: float) -> dict of figures; imported only when chosen
  summary: str
  default_seconds: float


BENCHMARKS: dict[str, Benchmark] = {
  "messaging": Benchmark("tools.bench.messaging",
                         "pub/sub latency against bare pyzmq; VisionIPC frames against zmq copies", 24.0),
  "model": Benchmark("tools.bench.model",
                     "modeld's per-frame cost (warp, inference, publish); the same network in onnxruntime", 10.0),
  "car": Benchmark("tools.bench.car", "card's 100 Hz cycle against a bare opendbc CANParser; cand's safety cost",
                   20.0),
  "replay": Benchmark("tools.bench.replay", "process replay in multiples of real time; loggerd's CPU recording",
                      20.0),
  "e2e": Benchmark("tools.bench.e2e", "camera frame to the steering CAN frame it caused, the whole stack in the "
                   "simulator", 30.0),
}


def _run(args: argparse.Namespace) -> int:
  bench = BENCHMARKS[args.name]
  figures = importlib.import_module(bench.module).run(seconds=args.seconds or bench.default_seconds)
  for key, value in figures.items():
    print(f"{key:>28}: {value:.3f}" if isinstance(value, float) else f"{key:>28}: {value}")
  if args.json:
    print(json.dumps(figures))
  return 0


def register(sub: argparse._SubParsersAction) -> None:
  lines = "\n".join(f"  {name:<12} {b.summary}" for name, b in BENCHMARKS.items())
  p = sub.add_parser("bench", help="run a benchmark", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description=f"Run one benchmark and print its figures.\n\nbenchmarks:\n{lines}",
                     epilog="Figures are ratios against a baseline run in the same process where one exists:\n"
                            "the machines are shared and noisy, absolute numbers drift.")
  p.add_argument("name", choices=sorted(BENCHMARKS), metavar="NAME", help="which benchmark: " + ", ".join(BENCHMARKS))
  p.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
  p.add_argument("--seconds", type=float, help="how long to measure")
  p.set_defaults(func=_run)
