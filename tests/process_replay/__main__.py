"""python -m tests.process_replay [--process NAME] [--update-refs]: replay each process over the reference drive
and print how its outputs differ from the committed references (exit 1 when they do). The processes replay side by
side, as many at once as the machine has cores."""
import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tests.process_replay.refs import DRIVE, check, load, write_ref
from tools.replay.process_replay import CONFIGS, replay


def main() -> int:
  parser = argparse.ArgumentParser(prog="python -m tests.process_replay", description=__doc__)
  parser.add_argument("--process", action="append", choices=sorted(CONFIGS), help="only this process (repeatable)")
  parser.add_argument("--update-refs", action="store_true", help="write the current outputs as the new references")
  args = parser.parse_args()
  drive = load(DRIVE)

  def run(name: str) -> tuple[str, bool]:
    cfg, t = CONFIGS[name], time.monotonic()
    if args.update_refs:
      outputs = replay(cfg, drive).outputs
      path = write_ref(name, outputs)
      return f"{name}: wrote {len(outputs)} messages to {path} ({path.stat().st_size / 1e3:.0f} kB)", False
    result = check(cfg, drive)
    return result.report + f"  [{time.monotonic() - t:.1f} s]", bool(result.diffs)

  failed = False
  with ThreadPoolExecutor(os.cpu_count()) as pool:
    for report, differs in pool.map(run, args.process or CONFIGS):
      print(report, flush=True)
      failed |= differs
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
