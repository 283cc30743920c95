"""Typed pub/sub between processes: zmq ipc sockets under the stack's prefix, capnp Events on the wire."""
from cereal.messaging.pubsub import PubMaster, SubMaster
from cereal.messaging.sockets import (
                                      UnknownServiceError,
                                      drain_sock_raw,
                                      log_from_bytes,
                                      new_message,
                                      pub_sock,
                                      recv_one,
                                      sub_sock,
)

__all__ = ["PubMaster", "SubMaster", "UnknownServiceError", "drain_sock_raw", "log_from_bytes", "new_message",
           "pub_sock", "recv_one", "sub_sock"]
