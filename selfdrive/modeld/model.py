"""The driving model: a small tinygrad world model.

  frames (2 x 6 x 64 x 128, uint8) -> strided conv trunk -> features
  features + desire -> GRU -> h (the recurrent feature state, carried frame to frame)
  latent state s = (features, h): what this frame shows and what the frames before it did
  s -> heads: plan, lane lines, road edges, lead, desired curvature / acceleration, ego-motion (Laplace mean + std)
  s, action -> dynamics head -> predicted next s (the world model: trained to match the next frame's latent)

The heads read the frame's features beside h: through the GRU alone the image reached them too faintly to learn
from in a CPU-sized training run (the outputs stayed at the labels' mean).

Outputs are learned in units normalised by the training labels' per-element mean and std (`label_mu`,
`label_sigma`, saved with the weights) and turned back into metres, seconds and radians inside the graph.
"""
import itertools
import math
from dataclasses import dataclass

import numpy as np
from tinygrad import Tensor, dtypes, nn

from selfdrive.modeld.constants import (
  ACTION_LEN,
  DESIRE_LEN,
  DIST_GROUPS,
  DIST_SLICES,
  HIDDEN,
  INPUT_SHAPE,
  N_DIST,
  N_OUT,
  N_PROB,
  N_RAW,
  PROB_GROUPS,
  PROB_SLICES,
)

# 3x3 convs, the first five with stride 2: 64x128 -> 2x4. Few channels early: the first layers cost the most, and
# on a 2-core CPU (16, 32, ...) trains twice as fast as (32, 48, ...)
CONV_CHANNELS = (16, 32, 64, 96, 128, 128)
FEATURE_GRID = (2, 4)
NORM_GROUPS = 8
FEATURES = 256
HEAD_HIDDEN = 384
DYN_HIDDEN = 256
LATENT = FEATURES + HIDDEN   # the world model's state: this frame's features and the recurrent state
LOGSTD_MIN, LOGSTD_MAX = -7.0, 5.0
HEAD_ROW_MULTIPLE = 16


class DrivingModel:
  def __init__(self):
    chans = (INPUT_SHAPE[1], *CONV_CHANNELS)
    self.convs = [nn.Conv2d(ci, co, 3, stride=2 if i < 5 else 1, padding=1)
                  for i, (ci, co) in enumerate(itertools.pairwise(chans))]
    for conv in self.convs:  # He init: with tinygrad's default each layer shrinks the signal ~3x
      conv.weight = Tensor.randn(*conv.weight.shape) * math.sqrt(2.0 / (conv.weight.shape[1] * 9))
    # per-frame normalisation: what the model must see (where the lines are) is a small spatial change on top of a
    # large common level that follows the lighting; without it the trunk learns the level and outputs the mean
    self.norms = [nn.GroupNorm(NORM_GROUPS, co) for co in CONV_CHANNELS]
    self.fc = nn.Linear(CONV_CHANNELS[-1] * FEATURE_GRID[0] * FEATURE_GRID[1], FEATURES)
    # unnormalised, the trunk's features grow into the hundreds and saturate the GRU: its state stops seeing the image
    self.feat_norm = nn.LayerNorm(FEATURES)
    self.gru_x = nn.Linear(FEATURES + DESIRE_LEN, 3 * HIDDEN)
    self.gru_h = nn.Linear(HIDDEN, 3 * HIDDEN)
    self.head1 = nn.Linear(LATENT, HEAD_HIDDEN)
    self.head2 = nn.Linear(HEAD_HIDDEN, N_RAW)
    self.head2.weight = self.head2.weight * 0.1
    self.dyn1 = nn.Linear(LATENT + ACTION_LEN, DYN_HIDDEN)
    self.dyn2 = nn.Linear(DYN_HIDDEN, LATENT)
    self.dyn2.weight = self.dyn2.weight * 0.1
    # label statistics (set from the data before training, saved with the weights)
    self.label_mu = Tensor.zeros(N_DIST).contiguous()
    self.label_sigma = Tensor.ones(N_DIST).contiguous()
    self.action_sigma = Tensor.ones(ACTION_LEN).contiguous()

  # --- pieces
  def encode(self, frames: Tensor) -> Tensor:
    """(B, 12, 64, 128) uint8 -> (B, FEATURES)."""
    x = frames.cast(dtypes.float32) * (1 / 64.0) - 2.0
    for conv, norm in zip(self.convs, self.norms, strict=True):
      x = norm(conv(x)).relu()
    return self.feat_norm(self.fc(x.flatten(1)))

  def recur(self, feat: Tensor, desire: Tensor, h: Tensor) -> Tensor:
    """GRU step: the next latent state."""
    gx, gh = self.gru_x(feat.cat(desire, dim=1)).chunk(3, dim=1), self.gru_h(h).chunk(3, dim=1)
    r, z = (gx[0] + gh[0]).sigmoid(), (gx[1] + gh[1]).sigmoid()
    n = (gx[2] + r * gh[2]).tanh()
    return (1 - z) * n + z * h

  def heads(self, s: Tensor) -> Tensor:
    """(B, LATENT) -> (B, N_RAW): normalised means, log-stds, logits. The last layer runs with its rows padded to a
    multiple of 16: N_RAW is prime, and tinygrad's CPU kernel for a prime-sized matrix-vector product stays scalar
    (520 us a frame, 100 us padded); contiguous, or the pad and the cut cancel out before the kernel is made."""
    pad = -N_RAW % HEAD_ROW_MULTIPLE
    w, b = self.head2.weight.pad(((0, pad), None)), self.head2.bias.pad(((0, pad),))
    return self.head1(s).relu().linear(w.T, b).contiguous()[:, :N_RAW]

  def dynamics(self, s: Tensor, action: Tensor) -> Tensor:
    """The world model: the latent state one frame later, given this one and the car's action over the frame."""
    a = action / self.action_sigma
    return s + self.dyn2(self.dyn1(s.cat(a, dim=1)).relu())

  def decode(self, raw: Tensor) -> Tensor:
    """Raw head -> (B, 2*N_DIST + N_PROB) in real units: means, stds, probabilities."""
    mean = raw[:, :N_DIST] * self.label_sigma + self.label_mu
    std = raw[:, N_DIST:2 * N_DIST].clip(LOGSTD_MIN, LOGSTD_MAX).exp() * self.label_sigma
    return mean.cat(std, raw[:, 2 * N_DIST:].sigmoid(), dim=1)

  # --- inference: one frame
  def __call__(self, frames: Tensor, desire: Tensor, h: Tensor) -> Tensor:
    """(1, 12, 64, 128) uint8, (1, 8), (1, HIDDEN) -> (1, N_OUT): decoded outputs, then the next latent state."""
    feat = self.encode(frames)
    # contiguous: left lazy, the GRU step fuses into the first head layer's kernel and is recomputed for each of its
    # outputs (unbeamed, that kernel took 10-15 ms instead of 0.3; the BEAM runner was not measurably faster for it)
    h_next = self.recur(feat, desire, h).contiguous()
    return self.decode(self.heads(feat.cat(h_next, dim=1))).cat(h_next, dim=1)


def parameter_count(model: DrivingModel) -> int:
  return sum(int(np.prod(p.shape)) for k, p in nn.state.get_state_dict(model).items() if not k.startswith(("label_",
                                                                                                          "action_")))


@dataclass(frozen=True)
class ModelOutput:
  """One frame's outputs in real units (openpilot's car frame: x forward, y right, z down)."""
  mean: dict[str, np.ndarray]
  std: dict[str, np.ndarray]
  prob: dict[str, np.ndarray]
  hidden: np.ndarray


def parse_output(out: np.ndarray) -> ModelOutput:
  """The runner's (N_OUT,) vector -> named arrays."""
  if out.shape != (N_OUT,):
    raise ValueError(f"model output of shape {out.shape} where ({N_OUT},) is expected")
  mean, std = out[:N_DIST], out[N_DIST:2 * N_DIST]
  prob, hidden = out[2 * N_DIST:2 * N_DIST + N_PROB], out[2 * N_DIST + N_PROB:]
  return ModelOutput({g.name: mean[DIST_SLICES[g.name]].reshape(g.shape) for g in DIST_GROUPS},
                     {g.name: std[DIST_SLICES[g.name]].reshape(g.shape) for g in DIST_GROUPS},
                     {g.name: prob[PROB_SLICES[g.name]].reshape(g.shape) for g in PROB_GROUPS}, hidden)
