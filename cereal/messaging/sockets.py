"""Plain pub/sub sockets over zmq ipc, one endpoint per service under the stack's prefix."""
import zmq

from cereal import log
from cereal.clock import mono_time
from cereal.prefix import ipc_endpoint
from cereal.services import SERVICES

NO_TRAVERSAL_LIMIT = 2**64 - 1
LIST_SERVICES = frozenset(name for name, field in log.Event.schema.fields.items()
                          if field.proto.which() == "slot" and field.proto.slot.type.which() == "list")


class UnknownServiceError(KeyError):
  def __str__(self) -> str:
    return f"unknown service {self.args[0]!r}: every service must be declared in cereal/services.py"


def _service(name: str):
  if name not in SERVICES:
    raise UnknownServiceError(name)
  return SERVICES[name]


def context() -> zmq.Context:
  return zmq.Context.instance()


def new_message(service: str | None = None, size: int | None = None, **kwargs):
  """An Event builder stamped with the stack clock; `service` initializes that union member (lists to `size`)."""
  msg = log.Event.new_message(logMonoTime=mono_time(), valid=True, **kwargs)
  if service is not None:
    _service(service)
    if service in LIST_SERVICES:
      msg.init(service, size or 0)
    elif size is None:
      msg.init(service)
    else:
      raise ValueError(f"{service} is not a list service: it takes no size")
  return msg


def log_from_bytes(data: bytes):
  with log.Event.from_bytes(data, traversal_limit_in_words=NO_TRAVERSAL_LIMIT) as msg:
    return msg


def pub_sock(service: str) -> zmq.Socket:
  sock = context().socket(zmq.PUB)
  sock.setsockopt(zmq.SNDHWM, _service(service).queue_size)
  sock.setsockopt(zmq.LINGER, 0)
  sock.bind(ipc_endpoint(service))
  return sock


def sub_sock(service: str, conflate: bool = False, timeout_ms: int | None = None) -> zmq.Socket:
  """A subscriber; connecting before the publisher exists is fine (zmq reconnects)."""
  sock = context().socket(zmq.SUB)
  if conflate:
    sock.setsockopt(zmq.CONFLATE, 1)
  else:
    sock.setsockopt(zmq.RCVHWM, _service(service).queue_size)
  sock.setsockopt(zmq.LINGER, 0)
  if timeout_ms is not None:
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
  sock.setsockopt(zmq.SUBSCRIBE, b"")
  sock.connect(ipc_endpoint(service))
  return sock


def drain_sock_raw(sock: zmq.Socket) -> list[bytes]:
  """Every message waiting on the socket, oldest first, without blocking."""
  out = []
  while True:
    try:
      out.append(sock.recv(zmq.NOBLOCK))
    except zmq.Again:
      return out


def recv_one(sock: zmq.Socket, timeout_ms: int | None = None):
  """The next message as an Event reader, or None when `timeout_ms` passes first."""
  if timeout_ms is not None and not sock.poll(timeout_ms):
    return None
  return log_from_bytes(sock.recv())
