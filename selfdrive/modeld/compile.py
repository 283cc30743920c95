"""Compile the driving model's weights into the runner modeld loads (what `scons` runs).

  python -m selfdrive.modeld.compile WEIGHTS RUNNER [--beam N]
"""
import argparse
import sys
import time
from pathlib import Path

from selfdrive.common.errors import UserError
from selfdrive.modeld.constants import BEAM_DEFAULT
from selfdrive.modeld.runner import build_runner


def main(argv: list[str] | None = None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("weights", type=Path)
  p.add_argument("runner", type=Path)
  p.add_argument("--beam", type=int, default=BEAM_DEFAULT,
                 help=f"kernel search width, 0: none (default {BEAM_DEFAULT})")
  args = p.parse_args(argv)
  t0 = time.monotonic()
  try:
    build_runner(args.weights, args.runner, args.beam)
  except UserError as e:
    print(f"modeld compile: error: {e}", file=sys.stderr)
    return 2
  print(f"modeld compile: {args.runner} (BEAM={args.beam}) in {time.monotonic() - t0:.0f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
