"""`localpilot can ...`: recorded CAN logs read through the car adapter (the same code card runs)."""
import argparse

from selfdrive.car.fingerprinting import platforms
from tools.can import decode

CAN_DESCRIPTION = """\
Work with recorded CAN logs: candump -L text logs (`candump -L can0 > drive.log`) and Vector BLF files.

  localpilot can decode drive.log --csv drive.csv     carState every 10 ms, as card would see it
  localpilot can platforms                            the car platform names --car accepts

Run `localpilot can COMMAND --help` for each command's manual.
"""

DECODE_DESCRIPTION = """\
Decode a CAN log into carState, one row per 10 ms cycle, through the same opendbc adapter card drives the car
with: speed (vEgo, m/s), acceleration (aEgo, m/s^2), steering wheel angle (deg) and driver torque, gas and brake
pedals, whether cruise control is engaged, and canValid (opendbc saw every message it reads, in time, with good
checksums and counters).

The file is a candump -L log (lines like `(1533188087.123456) can0 123#DEADBEEF`; can0 is bus 0) or a BLF file
(Vector channel 1 is bus 0). Bus 0 must be the car's powertrain bus.

Without --car the platform is told from the first 2 s of bus 0: by opendbc's CAN fingerprints where it has them,
else by which platform reads exactly the messages seen. Some platforms read the same messages (a 2018 RAV4 and a
2018 Corolla); then the first of them is used and the summary names the others: pass --car to pick.

A bus the log has no frame on at all (a logger wired to one bus, a camera cut off from the car) was not
recorded, not silent: the messages opendbc reads there are named in the summary and not held against canValid.
--all-buses holds canValid to them as the live car does.

At the end it prints the platform, how many frames and rows, the seconds covered and the share of rows where
canValid holds, naming any message opendbc waited for and never saw.
"""

DECODE_EPILOG = """\
examples:
  localpilot can decode drive.log --csv drive.csv
  localpilot can decode drive.blf --car TOYOTA_RAV4_TSS2 --csv drive.csv
  localpilot can decode damaged.log --skip-bad-lines --csv drive.csv

exit status: 0 decoded, 2 the log, the car or the output could not be used (the message says why).
"""


def _decode(args: argparse.Namespace) -> int:
  d = decode.decode_log(args.file, car=args.car, skip_bad=args.skip_bad_lines, progress=decode.progress_wanted(),
                        all_buses=args.all_buses)
  decode.write_csv(d.rows, args.csv)
  print(decode.summary(d))
  print(f"wrote      {args.csv}")
  return 0


def _platforms(args: argparse.Namespace) -> int:
  names = platforms()
  print("\n".join(n for n in names if not args.match or args.match.upper() in n))
  return 0


def register(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("can", help="decode recorded CAN logs through the car adapter", description=CAN_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
  can_sub = p.add_subparsers(dest="can_command", required=True, metavar="COMMAND")

  d = can_sub.add_parser("decode", help="a CAN log → carState every 10 ms as CSV", description=DECODE_DESCRIPTION,
                         epilog=DECODE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
  d.add_argument("file", metavar="FILE", help="the CAN log: candump -L (.log) or BLF (.blf)")
  d.add_argument("--car", metavar="PLATFORM", help="the opendbc platform, e.g. TOYOTA_RAV4; default: told from the log")
  d.add_argument("--csv", metavar="OUT", required=True, help="where to write the rows (CSV with a header line)")
  d.add_argument("--skip-bad-lines", action="store_true",
                 help="skip malformed lines (counted in the summary) instead of stopping at the first")
  d.add_argument("--all-buses", action="store_true",
                 help="hold canValid false for messages on buses the log never recorded too")
  d.set_defaults(func=_decode)

  pl = can_sub.add_parser("platforms", help="list the car platform names --car accepts",
                          description="List the opendbc platforms the adapter can drive, one name a line.")
  pl.add_argument("match", nargs="?", default="", help="only names containing this, e.g. RAV4")
  pl.set_defaults(func=_platforms)
