"""Messages of retired services read as today's: LogReader hands on a log recorded before a service changed its
type as if it had been recorded now, so replay, process replay and training read every log the same way.

carState, carControl and carOutput were log.capnp's own structs until they became opendbc's car.capnp structs: the
same field names (a subset of opendbc's), numbered otherwise, with enums of the same names. A field is carried over
by name; a field opendbc's struct lacks fails loudly (tests/test_migration.py holds every retired field to it)."""
from cereal import log
from cereal.services import RETIRED


def upgraded(event: "log.Event") -> bytes:
  """A retired service's Event re-encoded as today's, its time and validity kept."""
  which = event.which()
  msg = log.Event.new_message(logMonoTime=event.logMonoTime, valid=event.valid)
  msg.init(RETIRED[which]).from_dict(getattr(event, which).to_dict())
  return msg.to_bytes()
