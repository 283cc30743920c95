"""cereal: the message schema and the transports every localpilot process talks through.

carState, carControl and carOutput are opendbc's own car.capnp structs (log.capnp imports the file opendbc ships), so
card publishes what opendbc's CarInterface returns and hands opendbc the carControl it receives, with no copying field
by field in between. opendbc takes its structs from `cereal.car` when there is one (opendbc/car/structs.py): the
schema is loaded once, here. It is loaded with opendbc's car folder on the import path, the identity under which
log.capnp's import finds it: loaded twice under two identities, capnp aborts on the duplicate IDs.
"""
import importlib.util
from pathlib import Path

import capnp

capnp.remove_import_hook()
_opendbc = importlib.util.find_spec("opendbc")
if _opendbc is None or _opendbc.origin is None:
  raise ImportError("opendbc is not installed: its car.capnp is part of the message schema (run tools/setup.sh)")
CAR_SCHEMA_DIR = str(Path(_opendbc.origin).parent / "car")
car = capnp.load(str(Path(CAR_SCHEMA_DIR, "car.capnp")), imports=[CAR_SCHEMA_DIR])
log = capnp.load(str(Path(__file__).with_name("log.capnp")), imports=[CAR_SCHEMA_DIR])
