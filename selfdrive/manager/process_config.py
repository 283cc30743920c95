"""The one table of every process the manager runs, and when."""
from dataclasses import dataclass
from enum import Enum


class RunWhen(Enum):
  ALWAYS = "always"
  ONROAD = "onroad"     # ignition on (deviceState.started)
  OFFROAD = "offroad"


@dataclass(frozen=True)
class ProcessConfig:
  name: str
  module: str                          # run as `python -m module`; the module has a main()
  when: RunWhen
  flag: str | None = None              # only when the manager runs with this flag (e.g. "sim", "ui")
  not_flag: str | None = None          # never when it runs with this one (modeld under "oracle" perception)

  def should_run(self, started: bool, flags: frozenset[str]) -> bool:
    if (self.flag is not None and self.flag not in flags) or (self.not_flag is not None and self.not_flag in flags):
      return False
    return (self.when is RunWhen.ALWAYS or (self.when is RunWhen.ONROAD and started)
            or (self.when is RunWhen.OFFROAD and not started))


PROCESSES: tuple[ProcessConfig, ...] = (
  ProcessConfig("hardwared", "hardware.hardwared", RunWhen.ALWAYS),
  ProcessConfig("cand", "hardware.cand", RunWhen.ALWAYS),      # always: a talking bus is the ignition
  ProcessConfig("simd", "tools.sim.simd", RunWhen.ALWAYS, flag="sim"),
  ProcessConfig("card", "selfdrive.car.card", RunWhen.ONROAD),
  ProcessConfig("camerad", "selfdrive.camerad.camerad", RunWhen.ONROAD),
  ProcessConfig("loggerd", "selfdrive.loggerd.loggerd", RunWhen.ONROAD),
  ProcessConfig("modeld", "selfdrive.modeld.modeld", RunWhen.ONROAD, not_flag="oracle"),
  ProcessConfig("calibrationd", "selfdrive.locationd.calibrationd", RunWhen.ONROAD, not_flag="oracle"),
  ProcessConfig("paramsd", "selfdrive.locationd.paramsd", RunWhen.ONROAD),
  ProcessConfig("radard", "selfdrive.controls.radard", RunWhen.ONROAD),
  ProcessConfig("plannerd", "selfdrive.controls.plannerd", RunWhen.ONROAD),
  ProcessConfig("controlsd", "selfdrive.controls.controlsd", RunWhen.ONROAD),
  ProcessConfig("selfdrived", "selfdrive.selfdrived.selfdrived", RunWhen.ONROAD),
  # ground truth in place of the model, for the simulator only: `localpilot sim --perception oracle`
  ProcessConfig("oracled", "tools.sim.oracled", RunWhen.ONROAD, flag="oracle"),
)
