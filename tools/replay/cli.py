"""`localpilot replay`, `localpilot import` and `localpilot process-replay`: recorded drives, back into the stack."""
import argparse
import sys
import termios
import threading
import tty
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from selfdrive.common.errors import UserError
from selfdrive.loggerd.config import ROUTES_DIR_ENV, routes_dir

if TYPE_CHECKING:
  from tools.replay.replay import Replay

REPLAY_DESCRIPTION = f"""\
Republish a recorded drive as it happened: every message on its service and the road camera's frames through
VisionIPC, so the rest of the stack, or the UI, runs against it. Start the processes that should consume it
(not the ones that published what is replayed: use --block for the services they publish).

ROUTE is a route name in the routes directory (${ROUTES_DIR_ENV}, default ~/.localpilot/routes), a path to one
there, or a selection: ROUTE/2:4 (segments 2 and 3), ROUTE--2 (segment 2), ROUTE/q (the small qlogs).

Keys while it plays (in a terminal): space pause/resume, + and - speed (0.1x to 20x), right and left arrows
seek 10 s, q quit.
"""

REPLAY_EPILOG = """\
examples:
  localpilot replay --list
  localpilot replay 00000004--2026-11-22--05-12-33 --speed 2
  localpilot replay 00000004--2026-11-22--05-12-33/1: --start 30 --block can,pandaStates
"""

IMPORT_DESCRIPTION = """\
Turn a CAN recording from any logger into a route: a candump -L log (`candump -L can0 > drive.log`) or a Vector
BLF file, and a video of the drive when there is one. Every frame goes into `can` events, one per 10 ms, as cand
would have published them; the route then replays (`localpilot replay`) and process-replays
(`localpilot process-replay card ROUTE --car PLATFORM`) like a drive the stack recorded.
"""

PROCESS_REPLAY_DESCRIPTION = """\
Run one process alone, in lock-step, over the inputs a route recorded: every output is a pure function of
them. Write the outputs with --out, and compare them with an earlier run's (--ref) to see what a change did,
service by service and field by field.
"""

SEEK_STEP_S = 10.0


def _services(text: str | None) -> list[str] | None:
  return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def _keyboard(replay: "Replay") -> None:
  """Keys from the terminal to replay commands, until quit."""
  from tools.replay.replay import SPEEDS, Command, Do
  keys = {" ": Command(Do.TOGGLE), "q": Command(Do.QUIT), "\x1b[C": Command(Do.SEEK_BY, SEEK_STEP_S),
          "\x1b[D": Command(Do.SEEK_BY, -SEEK_STEP_S)}
  while True:
    key = sys.stdin.read(1)
    if key == "\x1b":
      key += sys.stdin.read(2)
    if key in ("+", "="):
      replay.command(Command(Do.SPEED, next((s for s in SPEEDS if s > replay.speed), SPEEDS[-1])))
    elif key == "-":
      replay.command(Command(Do.SPEED, next((s for s in reversed(SPEEDS) if s < replay.speed), SPEEDS[0])))
    elif key in keys:
      replay.command(keys[key])
      if key == "q":
        return


def _status(replay: "Replay") -> None:
  state = "paused" if replay.paused else "playing"
  line = (f"replay {int(replay.t_s // 60):02d}:{replay.t_s % 60:04.1f} | {replay.speed:g}x | {state} | "
          f"{replay.published} messages, {replay.frames_sent} frames")
  print(f"\r{line}\033[K" if sys.stdout.isatty() else line, end="" if sys.stdout.isatty() else "\n", flush=True)


def run_replay(args: argparse.Namespace) -> int:
  from tools.lib.route import list_routes, resolve
  from tools.replay.replay import Replay, choose_services
  if args.list or args.route is None:
    names = list_routes()
    print("\n".join(names) if names else f"no routes in {routes_dir()}")
    return 0
  sel = resolve(args.route)
  replay = Replay(sel.segments, choose_services(_services(args.services), _services(args.block)), args.speed,
                  video=not args.no_video, qlog=bool(sel.qlog))
  interactive = sys.stdin.isatty()
  old = termios.tcgetattr(sys.stdin) if interactive else None
  try:
    if interactive:
      tty.setcbreak(sys.stdin)
      threading.Thread(target=_keyboard, args=(replay,), daemon=True).start()
    replay.run(until_s=None if args.seconds is None else args.start + args.seconds, start_s=args.start,
               on_status=_status)
  finally:
    if old is not None:
      termios.tcsetattr(sys.stdin, termios.TCSADRAIN, old)
    replay.close()
  print(f"\nreplayed {replay.published} messages and {replay.frames_sent} frames")
  return 0


def run_import(args: argparse.Namespace) -> int:
  from tools.replay.importer import import_can_log
  r = import_can_log(args.file, args.out, args.video, args.video_offset, args.skip_bad)
  print(f"route {r.route} in {args.out}: {r.segments} segments, {r.can_frames} CAN frames in {r.can_messages} "
        f"can events, {r.video_frames} video frames" + (f", {r.skipped} bad lines skipped" if r.skipped else ""))
  print(f"replay it: localpilot replay {args.out / r.route}")
  return 0


def _recorded_car(msgs) -> str | None:
  return next((m.event.carParams.carFingerprint for m in msgs if m.which == "carParams"
               and m.event.carParams.carFingerprint), None)


def run_process_replay(args: argparse.Namespace) -> int:
  from cereal.messaging.lockstep import LockstepError
  from selfdrive.car.card import PLATFORM_ENV
  from selfdrive.loggerd.logwriter import LogWriter
  from tools.lib.logreader import LogReader
  from tools.replay.compare import compare, format_diffs
  from tools.replay.process_replay import CONFIGS, replay
  if args.process not in CONFIGS:
    raise UserError(f"no process replay for {args.process!r}; there is one for: {', '.join(CONFIGS)}")
  cfg = CONFIGS[args.process]
  msgs = list(LogReader(args.route).messages())
  car = None
  if cfg.takes_car:
    car = args.car or _recorded_car(msgs)
    if car is None:
      raise UserError("the route does not say which car it is: name it with --car (`localpilot can platforms`)")
  elif args.car is not None:
    print(f"note: --car is for card; {cfg.name} takes the car from the route's carParams", file=sys.stderr)
  try:
    result = replay(cfg, msgs, {PLATFORM_ENV: car} if car is not None else None)
  except LockstepError as e:
    raise UserError(str(e)) from None
  outputs = result.outputs
  counts = Counter(m.which for m in outputs)
  print(f"{cfg.name}{f' on {car}' if car is not None else ''}: {result.steps} steps at {result.realtime_x:.0f}x "
        "real time: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
  if args.out is not None:
    try:
      args.out.unlink(missing_ok=True)
      w = LogWriter(args.out)
    except OSError as e:
      raise UserError(f"cannot write {args.out}: {e.strerror}") from None
    for m in outputs:
      w.write(m.data)
    w.close()
    print(f"wrote {args.out}")
  if args.ref is not None:
    ref = list(LogReader(args.ref).messages())
    diffs = compare(ref, outputs, cfg.tolerance, msgs[0].logMonoTime, cfg.ignore)
    print(format_diffs(cfg.name, diffs, len(ref)))
    return 1 if diffs else 0
  return 0


def register_replay(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("replay", help="republish a recorded drive into the stack", description=REPLAY_DESCRIPTION,
                     epilog=REPLAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("route", nargs="?", metavar="ROUTE", help="the route (or segments) to replay")
  p.add_argument("--list", action="store_true", help="list the routes in the routes directory")
  p.add_argument("--speed", type=float, default=1.0, help="playback speed, 0.1 to 20 (default 1)")
  p.add_argument("--start", type=float, default=0.0, help="seconds into the route to start at")
  p.add_argument("--seconds", type=float, help="stop after this many seconds of the route")
  p.add_argument("--services", help="replay only these services (comma separated)")
  p.add_argument("--block", help="replay everything but these services (comma separated)")
  p.add_argument("--no-video", action="store_true", help="no camera frames through VisionIPC")
  p.set_defaults(func=run_replay)


def register_import(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("import", help="turn a candump or BLF CAN recording into a route", description=IMPORT_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("file", type=Path, metavar="FILE", help="candump -L log or BLF file")
  p.add_argument("--out", type=Path, required=True, help="routes directory to write the route into")
  p.add_argument("--video", type=Path, help="a video of the drive (any format OpenCV reads)")
  p.add_argument("--video-offset", type=float, default=0.0, help="seconds after the first CAN frame the video starts")
  p.add_argument("--skip-bad", action="store_true", help="skip bad lines instead of stopping at the first")
  p.set_defaults(func=run_import)


def register_process_replay(sub: argparse._SubParsersAction) -> None:
  p = sub.add_parser("process-replay", help="run one process in lock-step over a recorded drive",
                     description=PROCESS_REPLAY_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="example:\n  localpilot process-replay card ROUTE --out before.zst\n"
                            "  (change card)\n  localpilot process-replay card ROUTE --ref before.zst")
  p.add_argument("process", metavar="PROCESS", help="card, ... (the processes in tools/replay/process_replay.py)")
  p.add_argument("route", metavar="ROUTE", help="a route, segments or one log file (see localpilot replay --help)")
  p.add_argument("--car", help="card only: the car platform (default: the one the route's carParams name)")
  p.add_argument("--out", type=Path, help="write the outputs to this log file (.zst)")
  p.add_argument("--ref", type=Path, help="compare the outputs with this earlier run's; exit 1 when they differ")
  p.set_defaults(func=run_process_replay)
