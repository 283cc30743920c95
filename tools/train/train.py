"""Pretraining the driving model from scratch on cached simulator drives.

Each step takes `batch` windows of `seq` consecutive frames from random drives and unrolls the GRU over them. A
window starts from the latent state the model last computed for the frame before it (a table per drive), so the
model learns from states like those it meets when it has been running for a while, not only from zeros.

Losses, per output element in label-normalised units: L1 on the mean, Laplace NLL on the std (its error detached,
so the std never slows the mean down), binary cross-entropy on probabilities, and for the world model the
squared error between the dynamics head's predicted next latent and the actual one (detached), plus the heads'
loss decoded from the predicted latent against the next frame's labels.
"""
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tinygrad import Tensor, TinyJit, nn
from tinygrad.helpers import Context

from selfdrive.modeld.constants import (
  DESIRE_LEN,
  DIST_GROUPS,
  DIST_SLICES,
  FRAME_CHANNELS,
  HIDDEN,
  INPUT_SHAPE,
  N_DIST,
  N_PROB,
)
from selfdrive.modeld.model import FEATURES, LATENT, LOGSTD_MAX, LOGSTD_MIN, DrivingModel, parameter_count
from tools.train import augment as A
from tools.train.config import TrainConfig
from tools.train.data import Episode, label_stats

GROUP_WEIGHTS = {"plan": 1.0, "lane_lines": 1.0, "road_edges": 0.5, "lead": 0.5, "action": 2.0, "egomotion": 0.5}
PATH_Y_BOOST = 3.0         # the plan's lateral positions matter most for steering
LANE_Y_BOOST = 3.0         # ... and the lane lines' (where the car is in its lane: what the trunk is slowest to see)
CURVATURE_BOOST = 2.0      # ... and the curvature the expert steers
PROB_WEIGHT = 0.3
DYN_WEIGHT = 1.0
DYN_DECODE_WEIGHT = 0.25
MIRROR_P = 0.5             # windows mirrored left-right
SHIFT_P = 0.5              # windows seen from a camera moved sideways ...
SHIFT_STD_M, SHIFT_MAX_M = 0.4, 1.0   # ... by this much (normal, clipped)
WARMUP_STEPS = 50
FINAL_LR_FRAC = 0.05        # the cosine schedule ends at this fraction of the peak
CHECKPOINT = "checkpoint.safetensors"
STATE = "checkpoint.json"


def element_weights() -> np.ndarray:
  w = np.zeros(N_DIST, np.float32)
  for g in DIST_GROUPS:
    w[DIST_SLICES[g.name]] = GROUP_WEIGHTS[g.name] / g.size
  plan = w[DIST_SLICES["plan"]].reshape(-1, 9)
  plan[:, 1] *= PATH_Y_BOOST
  w[DIST_SLICES["plan"]] = plan.reshape(-1)
  lines = w[DIST_SLICES["lane_lines"]].reshape(-1, 2)
  lines[:, 0] *= LANE_Y_BOOST
  w[DIST_SLICES["lane_lines"]] = lines.reshape(-1)
  w[DIST_SLICES["action"].start] *= CURVATURE_BOOST
  return w


def trainable(model: DrivingModel) -> dict[str, Tensor]:
  return {k: v for k, v in nn.state.get_state_dict(model).items() if not k.startswith(("label_", "action_"))}


def _dist_loss(raw: Tensor, raw_std: Tensor, tgt: Tensor, mask: Tensor, w: Tensor) -> Tensor:
  """raw_std: the heads over the detached latent, so learning the stds never shapes the latent (it would pull it
  towards what makes the errors' sizes predictable, not towards what makes them small)."""
  mu, logstd = raw[:, :N_DIST], raw_std[:, N_DIST:2 * N_DIST].clip(LOGSTD_MIN, LOGSTD_MAX)
  err = (mu - tgt).abs()
  return ((err + err.detach() * (-logstd).exp() + logstd) * mask * w).sum(1).mean()


def _prob_loss(raw: Tensor, tgt: Tensor, mask: Tensor) -> Tensor:
  x = raw[:, 2 * N_DIST:]
  return ((x.maximum(0) - x * tgt + (1 + (-x.abs()).exp()).log()) * mask).sum(1).mean()


class Trainer:
  def __init__(self, model: DrivingModel, cfg: TrainConfig):
    self.model, self.cfg = model, cfg
    self.opt = nn.optim.AdamW(list(trainable(model).values()), lr=cfg.lr, weight_decay=cfg.weight_decay)
    self.w = Tensor(element_weights())
    self._step = TinyJit(self._train_step)

  def _train_step(self, frames: Tensor, desire: Tensor, h0: Tensor, tgt: Tensor, mask: Tensor, prob: Tensor,
                  prob_mask: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
    m, (b, s) = self.model, (self.cfg.batch, self.cfg.seq)
    with Context(TRAINING=1):
      self.opt.zero_grad()
      pairs = frames[:, :-1].cat(frames[:, 1:], dim=2).reshape(b * s, *INPUT_SHAPE[1:])
      feat = m.encode(pairs).reshape(b, s, FEATURES)
      h, hs = h0, []
      for t in range(s):
        h = m.recur(feat[:, t], desire[:, t], h).contiguous()
        hs.append(h)
      hseq = Tensor.stack(*hs, dim=1)
      state = feat.cat(hseq, dim=2)   # the world model's latent: (b, s, LATENT)
      flat = lambda x: x.reshape(b * s, -1)
      raw = m.heads(flat(state))
      l_dist = _dist_loss(raw, m.heads(flat(state).detach()), flat(tgt), flat(mask), self.w)
      l_prob = _prob_loss(raw, flat(prob), flat(prob_mask)) * PROB_WEIGHT
      # world model: predict the next latent from this one and the action, and decode the prediction
      nxt = lambda x: x[:, 1:].reshape(b * (s - 1), -1)
      # both ends of the latent prediction are detached: it trains the dynamics head only, else the cheapest way to
      # make the latent predictable is to make it constant (it collapses, and stops carrying the image)
      s_pred = m.dynamics(state[:, :-1].detach().reshape(b * (s - 1), LATENT), action[:, :-1].reshape(b * (s - 1), -1))
      l_dyn = ((s_pred - nxt(state).detach()) ** 2).mean(1).sum() / (b * (s - 1)) * DYN_WEIGHT
      raw_pred = m.heads(s_pred)
      l_dec = _dist_loss(raw_pred, raw_pred, nxt(tgt), nxt(mask), self.w) * DYN_DECODE_WEIGHT
      loss = l_dist + l_prob + l_dyn + l_dec
      loss.backward()
      self.opt.step()
    return Tensor.stack(loss, l_dist, l_prob, l_dyn, l_dec).realize(), hseq.realize()

  def step(self, batch: dict[str, np.ndarray], lr: float) -> tuple[np.ndarray, np.ndarray]:
    self.opt.lr.assign(Tensor([lr], dtype=self.opt.lr.dtype, device=self.opt.lr.device)).realize()
    args = [Tensor(batch[k]) for k in ("frames", "desire", "h0", "tgt", "mask", "prob", "prob_mask", "action")]
    losses, hseq = self._step(*args)
    return losses.numpy(), hseq.numpy()


class Sampler:
  """Random windows of `seq` labelled frames (plus the frame before the first) and the stored latent states, each
  window mirrored or not and seen from a camera moved sideways or not (tools.train.augment). A mirrored drive is
  a drive of its own, with its own table of latent states; a moved window starts from its drive's state and is not
  stored back (the drive before it was not moved)."""
  def __init__(self, episodes: list[Episode], seq: int, mu: np.ndarray, sigma: np.ndarray):
    self.eps, self.seq, self.mu, self.sigma = episodes, seq, mu, sigma
    self.hidden = [[np.zeros((len(e), HIDDEN), np.float32) for e in episodes] for _ in range(2)]  # [mirrored][drive]
    self.windows = np.array([(i, t) for i, e in enumerate(episodes) for t in range(1, int(e.valid.sum()) - seq + 1)])
    if len(self.windows) == 0:
      raise ValueError("no training windows: the drives are too short for their 10 s of future")

  def sample(self, rng: np.random.Generator, batch: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    pick = self.windows[rng.integers(len(self.windows), size=batch)]
    mirrored = rng.random(batch) < MIRROR_P
    shifts = np.where(rng.random(batch) < SHIFT_P, np.clip(rng.normal(size=batch) * SHIFT_STD_M, -SHIFT_MAX_M,
                                                          SHIFT_MAX_M), 0.0)
    s = self.seq
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("frames", "desire", "h0", "tgt", "mask", "prob", "prob_mask",
                                                        "action")}
    for (i, t), m, shift in zip(pick, mirrored, shifts, strict=True):
      e, sl = self.eps[i], slice(t, t + s)
      frames, dist, mask, desire = e.frames[t - 1:t + s], e.dist[sl], e.dist_mask[sl], e.desire[sl]
      prob, prob_mask, action = e.prob[sl], e.prob_mask[sl], e.action[sl]
      if m:
        frames, dist, mask, desire = A.mirror_frames(frames), A.mirror_dist(dist), A.mirror_mask(mask), \
          A.mirror_desire(desire)
        prob, prob_mask, action = A.mirror_prob(prob), A.mirror_prob(prob_mask), A.mirror_action(action)
      if shift:
        frames, dist = A.shift_frames(frames, shift), A.shift_dist(dist, shift)
      out["frames"].append(frames)
      out["desire"].append(desire)
      out["h0"].append(self.hidden[int(m)][i][t - 1])
      out["tgt"].append((dist - self.mu) / self.sigma)
      out["mask"].append(mask)
      out["prob"].append(prob)
      out["prob_mask"].append(prob_mask)
      out["action"].append(action)
    keep = np.column_stack([pick, mirrored, shifts == 0.0])
    return {k: np.ascontiguousarray(np.stack(v), dtype=np.uint8 if k == "frames" else np.float32)
            for k, v in out.items()}, keep

  def store(self, pick: np.ndarray, hseq: np.ndarray) -> None:
    for (i, t, m, unmoved), hs in zip(pick, hseq, strict=True):
      if unmoved:
        self.hidden[m][i][t:t + self.seq] = hs


def lr_at(step: int, cfg: TrainConfig) -> float:
  if step < WARMUP_STEPS:
    return cfg.lr * (step + 1) / WARMUP_STEPS
  frac = (step - WARMUP_STEPS) / max(1, cfg.steps - WARMUP_STEPS)
  return cfg.lr * (FINAL_LR_FRAC + (1 - FINAL_LR_FRAC) * 0.5 * (1 + math.cos(math.pi * frac)))


def save_checkpoint(out: Path, trainer: Trainer, step: int, cfg: TrainConfig, log: list[dict]) -> None:
  tensors = {f"model.{k}": v for k, v in nn.state.get_state_dict(trainer.model).items()}
  tensors |= {f"opt.{k}": v for k, v in nn.state.get_state_dict(trainer.opt).items()}
  tmp = out / (CHECKPOINT + ".tmp")
  nn.state.safe_save(tensors, str(tmp))
  tmp.replace(out / CHECKPOINT)
  (out / STATE).write_text(json.dumps({"step": step, "config": asdict(cfg), "log": log}))


def load_checkpoint(out: Path, trainer: Trainer, cfg: TrainConfig) -> tuple[int, list[dict]]:
  """Resume: the step to continue from (0 with no checkpoint) and the loss log so far."""
  if not (out / STATE).exists() or not (out / CHECKPOINT).exists():
    return 0, []
  state = json.loads((out / STATE).read_text())
  if state["config"] != asdict(cfg):
    raise ValueError(f"{out}: its checkpoint was made with {state['config']}, not {asdict(cfg)}; "
                     "use another --out or the same settings")
  saved = nn.state.safe_load(str(out / CHECKPOINT))
  for prefix, obj in (("model.", trainer.model), ("opt.", trainer.opt)):
    for k, v in nn.state.get_state_dict(obj).items():
      v.assign(saved[prefix + k].to(v.device)).realize()  # assign: a captured JIT keeps seeing these buffers
  return int(state["step"]), list(state["log"])


def train(episodes: list[Episode], out: Path, cfg: TrainConfig, progress: bool = True) -> DrivingModel:
  """Train (or resume) into `out`; returns the model with its final weights."""
  from tqdm import tqdm
  out.mkdir(parents=True, exist_ok=True)
  Tensor.manual_seed(cfg.seed)
  model = DrivingModel()
  mu, sigma = label_stats(episodes)
  act = np.concatenate([e.action for e in episodes])
  model.label_mu.assign(Tensor(mu)).realize()
  model.label_sigma.assign(Tensor(sigma)).realize()
  model.action_sigma.assign(Tensor(np.maximum(act.std(0), 1e-4).astype(np.float32))).realize()
  trainer = Trainer(model, cfg)
  start, log = load_checkpoint(out, trainer, cfg)
  sampler = Sampler(episodes, cfg.seq, mu, sigma)
  bar = tqdm(total=cfg.steps, initial=start, desc="train", unit="step", disable=not progress)
  t0, avg = time.monotonic(), None
  for step in range(start, cfg.steps):
    rng = np.random.default_rng([cfg.seed, step])
    batch, pick = sampler.sample(rng, cfg.batch)
    losses, hseq = trainer.step(batch, lr_at(step, cfg))
    if not np.all(np.isfinite(losses)):
      raise FloatingPointError(f"step {step}: loss is {losses}; lower --lr")
    sampler.store(pick, hseq)
    avg = losses if avg is None else 0.95 * avg + 0.05 * losses
    bar.set_postfix(loss=f"{avg[0]:.3f}", dist=f"{avg[1]:.3f}", dyn=f"{avg[3]:.3f}")
    bar.update()
    if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
      log.append({"step": step + 1, "loss": [round(float(x), 4) for x in avg],
                  "seconds": round(time.monotonic() - t0, 1)})
      save_checkpoint(out, trainer, step + 1, cfg, log)
  bar.close()
  return model


def describe(model: DrivingModel) -> dict[str, int]:
  return {"parameters": parameter_count(model), "input_frames": INPUT_SHAPE[1] // FRAME_CHANNELS, "hidden": HIDDEN,
          "desire": DESIRE_LEN, "outputs": 2 * N_DIST + N_PROB}
