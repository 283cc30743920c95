"""Every service of the stack: its nominal rate, whether loggerd records it, and its queue depth.

The Event union in log.capnp and this table must name the same services, but for the retired ones (a test checks it).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
  frequency: float         # Hz; 0 for services published on change
  should_log: bool         # recorded into rlog
  qlog_decimation: int     # every Nth message goes to the small qlog; 0: never
  queue_size: int          # zmq high-water mark: messages buffered per subscriber


SERVICES: dict[str, Service] = {
  "can": Service(100., True, 0, 1000),
  "sendcan": Service(100., True, 0, 1000),
  "pandaStates": Service(10., True, 1, 10),
  "carState": Service(100., True, 10, 100),
  "carControl": Service(100., True, 10, 100),
  "carOutput": Service(100., True, 10, 100),
  "carParams": Service(1., True, 60, 2),
  "modelV2": Service(20., True, 40, 20),
  "longitudinalPlan": Service(20., True, 10, 20),
  "lateralPlan": Service(20., True, 10, 20),
  "selfdriveState": Service(100., True, 10, 100),
  "onroadEvents": Service(1., True, 1, 10),
  "controlsState": Service(100., True, 10, 100),
  "liveCalibration": Service(4., True, 1, 10),
  "liveParameters": Service(20., True, 5, 20),
  "liveTorqueParameters": Service(4., True, 1, 10),
  "deviceState": Service(2., True, 1, 10),
  "roadCameraState": Service(20., True, 20, 20),
  "managerState": Service(2., True, 1, 10),
  "simState": Service(20., True, 20, 20),
  "liveTracks": Service(20., True, 20, 20),
  "radarState": Service(20., True, 10, 20),
  "vanishingPoint": Service(4., True, 4, 4),
  # written by loggerd straight into the logs, never published
  "initData": Service(0., True, 1, 1),
  "roadEncodeIdx": Service(20., True, 1, 20),
}

# Event union members no longer published, kept so that older logs read, and the service each became (LogReader hands
# their messages on as today's: tools/lib/migration.py). carState, carControl and carOutput were log.capnp's own
# structs until they became opendbc's car.capnp structs (December 2026).
RETIRED: dict[str, str] = {
  "carStateDEPRECATED": "carState",
  "carControlDEPRECATED": "carControl",
  "carOutputDEPRECATED": "carOutput",
}
