"""Training settings, kept import-light so `localpilot --help` stays quick."""
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
  steps: int = 2000
  batch: int = 16
  seq: int = 4
  lr: float = 1e-3
  weight_decay: float = 1e-4
  seed: int = 0
  checkpoint_every: int = 50
