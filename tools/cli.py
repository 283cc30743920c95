"""localpilot: an open, on-device driving stack. One command for everything a user runs."""
import argparse
import sys

from selfdrive.common.errors import UserError
from tools.bench import cli as bench_cli
from tools.can import cli as can_cli
from tools.replay import cli as replay_cli
from tools.sim import cli as sim_cli
from tools.train import cli as train_cli

COMMANDS = (sim_cli.register, can_cli.register, bench_cli.register, replay_cli.register_replay,
            replay_cli.register_import, replay_cli.register_process_replay, train_cli.register)

DESCRIPTION = """\
localpilot sees the road through a camera, runs a neural network with tinygrad, plans, and steers, brakes
and accelerates over CAN, all on this machine. Until a car is plugged in, the car is the built-in simulator.

  localpilot sim                 the whole stack driving in the simulator
  localpilot can decode LOG      decode a recorded CAN log (candump or BLF) into carState, per 10 ms
  localpilot bench messaging     measure the message bus and shared-memory frames
  localpilot train               train the driving model from scratch in the simulator
  localpilot replay ROUTE        republish a recorded drive into the stack
  localpilot import LOG --out D  turn a candump or BLF CAN recording into a route

Run `localpilot COMMAND --help` for each command's manual.
"""


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="localpilot", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
  for register in COMMANDS:
    register(sub)
  args = parser.parse_args(argv)
  try:
    return args.func(args)
  except UserError as e:
    print(f"localpilot {args.command}: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"localpilot {args.command}: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
  sys.exit(main())
