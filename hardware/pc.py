"""Readings of a plain Linux box: what hardwared reports about the device it runs on."""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

THERMAL_ZONES = Path("/sys/class/thermal")


@dataclass(frozen=True)
class CpuTimes:
  busy: int
  total: int


def cpu_times() -> list[CpuTimes]:
  """Per-core jiffies from /proc/stat."""
  out = []
  for line in Path("/proc/stat").read_text().splitlines():
    if line.startswith("cpu") and line[3].isdigit():
      v = [int(x) for x in line.split()[1:]]
      idle = v[3] + (v[4] if len(v) > 4 else 0)
      out.append(CpuTimes(sum(v) - idle, sum(v)))
  return out


def cpu_usage_percent(before: list[CpuTimes], after: list[CpuTimes]) -> list[int]:
  return [round(100 * (a.busy - b.busy) / max(1, a.total - b.total)) for b, a in zip(before, after, strict=True)]


def memory_usage_percent() -> int:
  info = {}
  for line in Path("/proc/meminfo").read_text().splitlines():
    key, value = line.split(":", 1)
    info[key] = int(value.split()[0])
  return round(100 * (1 - info["MemAvailable"] / info["MemTotal"]))


def free_space_percent(path: Path) -> float:
  usage = shutil.disk_usage(path)
  return 100.0 * usage.free / usage.total


def cpu_temperatures_c() -> list[float]:
  """Temperatures of the thermal zones the kernel exposes (none inside most containers and VMs)."""
  temps = []
  for zone in sorted(THERMAL_ZONES.glob("thermal_zone*")):
    try:
      temps.append(int((zone / "temp").read_text()) / 1000.0)
    except (OSError, ValueError):
      continue  # zones that cannot be read right now (sensor asleep) are skipped
  return temps


def uptime_s() -> float:
  return float(Path("/proc/uptime").read_text().split()[0])


def device_type() -> str:
  return os.environ.get("LP_DEVICE_TYPE", "pc")
