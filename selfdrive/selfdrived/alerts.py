"""Which alert shows: every alert raised stays for its duration; the highest priority one (latest on a tie) shows."""
from dataclasses import dataclass, field

from selfdrive.selfdrived.events import Alert


@dataclass(frozen=True)
class ShownAlert:
  name: str            # "<event>/<type>", for selfdriveState.alertType
  alert: Alert


@dataclass
class AlertManager:
  active: dict[str, tuple[Alert, float, float]] = field(default_factory=dict)   # name -> (alert, start, end)

  def add(self, name: str, alert: Alert, now: float) -> None:
    start = self.active[name][1] if name in self.active else now
    self.active[name] = (alert, start, now + alert.duration_s)

  def current(self, now: float) -> ShownAlert | None:
    self.active = {n: v for n, v in self.active.items() if v[2] > now}
    if not self.active:
      return None
    name, (alert, _, _) = max(self.active.items(), key=lambda kv: (kv[1][0].priority, kv[1][1]))
    return ShownAlert(name, alert)
