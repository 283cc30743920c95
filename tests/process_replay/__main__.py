"""python -m tests.process_replay [--process NAME] [--update-refs]: replay each process over the reference drive
and print how its outputs differ from the committed references (exit 1 when they do)."""
import argparse
import sys
import time

from tests.process_replay.refs import DRIVE, check, load, write_ref
from tools.replay.process_replay import CONFIGS, replay


def main() -> int:
  parser = argparse.ArgumentParser(prog="python -m tests.process_replay", description=__doc__)
  parser.add_argument("--process", action="append", choices=sorted(CONFIGS), help="only this process (repeatable)")
  parser.add_argument("--update-refs", action="store_true", help="write the current outputs as the new references")
  args = parser.parse_args()
  drive = load(DRIVE)
  failed = False
  for name in args.process or CONFIGS:
    cfg = CONFIGS[name]
    t = time.monotonic()
    if args.update_refs:
      outputs = replay(cfg, drive).outputs
      path = write_ref(name, outputs)
      print(f"{name}: wrote {len(outputs)} messages to {path} ({path.stat().st_size / 1e3:.0f} kB)")
      continue
    result = check(cfg, drive)
    print(result.report + f"  [{time.monotonic() - t:.1f} s]")
    failed |= bool(result.diffs)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
