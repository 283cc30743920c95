"""cereal: the message schema and the transports every localpilot process talks through."""
from pathlib import Path

import capnp

capnp.remove_import_hook()
log = capnp.load(str(Path(__file__).with_name("log.capnp")))
