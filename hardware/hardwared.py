"""hardwared: publishes deviceState (ignition, thermal, memory, disk) so the manager knows when to go onroad."""
from pathlib import Path

from cereal import log, messaging
from cereal.clock import mono_time
from hardware import pc
from selfdrive.common.params import Params
from selfdrive.common.process import exit_on_sigterm
from selfdrive.common.ratekeeper import Ratekeeper

RATE_HZ = 2.0
# thermal bands on the hottest zone, degrees C: green below the first, danger above the last
THERMAL_BANDS_C = (75.0, 85.0, 95.0)
ThermalStatus = log.DeviceState.ThermalStatus


def thermal_status(max_temp_c: float) -> int:
  band = sum(max_temp_c >= t for t in THERMAL_BANDS_C)
  return (ThermalStatus.green, ThermalStatus.yellow, ThermalStatus.red, ThermalStatus.danger)[band]


def main() -> None:
  exit_on_sigterm()
  params = Params()
  pm = messaging.PubMaster(["deviceState"])
  sm = messaging.SubMaster(["pandaStates"])
  data_dir = Path.home()
  cpu_before = pc.cpu_times()
  started_since = 0
  rk = Ratekeeper(RATE_HZ)
  while True:
    sm.update(0)
    ignition = params.get_bool("ForceOnroad") or (
      sm.alive["pandaStates"] and any(ps.ignitionLine for ps in sm["pandaStates"]))
    started_since = (started_since or mono_time()) if ignition else 0
    cpu_after = pc.cpu_times()
    temps = pc.cpu_temperatures_c()
    msg = messaging.new_message("deviceState")
    ds = msg.deviceState
    ds.started = ignition
    ds.startedMonoTime = started_since
    ds.deviceType = pc.device_type()
    ds.freeSpacePercent = pc.free_space_percent(data_dir)
    ds.memoryUsagePercent = pc.memory_usage_percent()
    ds.cpuUsagePercent = pc.cpu_usage_percent(cpu_before, cpu_after)
    ds.cpuTempC = temps
    ds.maxTempC = max(temps, default=0.0)
    ds.thermalStatus = thermal_status(ds.maxTempC)
    ds.uptimeS = pc.uptime_s()
    pm.send("deviceState", msg)
    params.put("IsOnroad", ignition)
    cpu_before = cpu_after
    rk.keep_time()


if __name__ == "__main__":
  main()
