"""Loading the driving model and running it one frame at a time under TinyJit.

The weights (`models/driving.safetensors`) come from `localpilot train`. `scons` compiles them for this device into
a pickled TinyJit (the runner), kernels searched with BEAM; modeld loads the runner when it was built from the very
same weights file, else compiles in-process (slower start, plain kernels).
"""
import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tinygrad import Device, Tensor, TinyJit, nn
from tinygrad.helpers import Context

from selfdrive.common.errors import UserError
from selfdrive.modeld.constants import (
  BUILD_COMMAND,
  DESIRE_LEN,
  FRAME_CHANNELS,
  HIDDEN,
  INPUT_SHAPE,
  N_OUT,
  RUNNER_FILE,
  TRAIN_COMMAND,
  WEIGHTS_FILE,
)
from selfdrive.modeld.kernel_calls import KernelCalls
from selfdrive.modeld.model import DrivingModel, ModelOutput, parse_output

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_ENV = "LP_MODEL_WEIGHTS"   # another weights file (tests, experiments)
RUNNER_ENV = "LP_MODEL_RUNNER"     # another compiled runner; used only if it was built from those very weights
RUNNER_VERSION = 1
MODEL_CODE_FILES = ("selfdrive/modeld/model.py", "selfdrive/modeld/constants.py")
JIT_WARMUP_CALLS = 3               # TinyJit runs, captures, then replays


def weights_path() -> Path:
  return Path(os.environ.get(WEIGHTS_ENV, REPO / WEIGHTS_FILE))


def runner_path() -> Path:
  return Path(os.environ.get(RUNNER_ENV, REPO / RUNNER_FILE))


def file_sha256(path: Path) -> str:
  return hashlib.sha256(path.read_bytes()).hexdigest()


def model_code_sha256() -> str:
  """The model's code as the runner captured it: a runner built before a change to the graph is stale."""
  return hashlib.sha256(b"".join((REPO / f).read_bytes() for f in MODEL_CODE_FILES)).hexdigest()


def load_model(path: Path) -> DrivingModel:
  """A DrivingModel with the weights in `path`; UserError naming the command that rebuilds them if they are missing
  or unreadable."""
  if not path.is_file():
    raise UserError(f"model weights {path} not found; build them with `{TRAIN_COMMAND}`")
  try:
    state = nn.state.safe_load(str(path))
    model = DrivingModel()
    nn.state.load_state_dict(model, state, verbose=False)
  except (ValueError, KeyError, RuntimeError, AssertionError, OSError, UnicodeDecodeError) as e:
    raise UserError(f"model weights {path} are unreadable ({type(e).__name__}: {e}); rebuild them with "
                    f"`{TRAIN_COMMAND}`") from None
  return model


class ModelInputs:
  """The model's inputs as numpy arrays, and zero-copy tensors over them (tinygrad's NPY device): write into the
  arrays, then call the runner with `tensors`; the JIT copies them in on each call."""
  def __init__(self, batch: int = 1):
    self.frames = np.zeros((batch, *INPUT_SHAPE[1:]), np.uint8)
    self.desire = np.zeros((batch, DESIRE_LEN), np.float32)
    self.hidden = np.zeros((batch, HIDDEN), np.float32)
    self.tensors = tuple(Tensor(a, device="NPY").realize() for a in (self.frames, self.desire, self.hidden))


Runner = Callable[[Tensor, Tensor, Tensor], Tensor]
FrameStep = Callable[[], np.ndarray]


def compile_model(model: DrivingModel, inputs: ModelInputs) -> Runner:
  """A captured TinyJit of one frame step over `inputs`' tensors -> (batch, N_OUT)."""
  jit = TinyJit(lambda frames, desire, h: model(*(t.to(Device.DEFAULT) for t in (frames, desire, h))).realize())
  for _ in range(JIT_WARMUP_CALLS):
    jit(*inputs.tensors)
  return jit


def frame_step(fn: Runner, inputs: ModelInputs) -> FrameStep:
  """One model step over what is in `inputs`' arrays now -> (batch, N_OUT). On the CPU the captured kernels are called
  directly (kernel_calls.py: 1.8 ms a frame less than tinygrad's JIT replay); other devices replay the JIT."""
  if Device.DEFAULT == "CPU":
    return KernelCalls(fn, (inputs.frames, inputs.desire, inputs.hidden), inputs.tensors)
  return lambda: fn(*inputs.tensors).numpy()


def build_runner(weights: Path, out: Path, beam: int) -> None:
  """Compile the weights with BEAM and pickle the captured JIT beside the weights' hash (what scons runs)."""
  model = load_model(weights)
  with Context(BEAM=beam):
    jit = compile_model(model, ModelInputs())
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = out.with_suffix(".tmp")
  with open(tmp, "wb") as f:
    pickle.dump({"version": RUNNER_VERSION, "weights_sha256": file_sha256(weights), "code_sha256": model_code_sha256(),
                 "beam": beam, "jit": jit}, f)
  tmp.replace(out)


def load_runner(weights: Path, runner: Path) -> Runner | None:
  """The pickled JIT if it was built from exactly these weights and this model code, else None (stale, missing or
  from another tinygrad)."""
  if not runner.is_file():
    return None
  try:
    with open(runner, "rb") as f:
      blob = pickle.load(f)
  except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
    return None
  if (blob.get("version") != RUNNER_VERSION or blob.get("weights_sha256") != file_sha256(weights)
      or blob.get("code_sha256") != model_code_sha256()):
    return None
  return blob["jit"]


class ModelRunner:
  """One call per camera frame: the warped frame in, named outputs out. Keeps the previous frame and the latent."""
  def __init__(self, fn: Runner, inputs: ModelInputs, compiled: bool):
    self.inputs, self.compiled = inputs, compiled
    self.step = frame_step(fn, inputs)
    self.prev: np.ndarray | None = None

  @staticmethod
  def load(progress: Callable[[str], None] = print) -> "ModelRunner":
    """The runner scons built for these weights, else a fresh in-process compile. UserError if the weights are
    missing or unreadable."""
    weights = weights_path()
    model = load_model(weights)
    inputs = ModelInputs()
    if (fn := load_runner(weights, runner_path())) is not None:
      return ModelRunner(fn, inputs, True)
    progress(f"no compiled runner for {weights} (run `{BUILD_COMMAND}` for a quick start and faster kernels); "
             "compiling in-process")
    return ModelRunner(compile_model(model, inputs), inputs, False)

  def reset(self) -> None:
    self.prev = None
    self.inputs.hidden[:] = 0.0

  def run(self, frame: np.ndarray, desire: int) -> ModelOutput:
    """frame: (6, 64, 128) uint8 in the model frame; desire: openpilot's Desire number."""
    x = self.inputs
    x.frames[0, :FRAME_CHANNELS] = frame if self.prev is None else self.prev
    x.frames[0, FRAME_CHANNELS:] = frame
    x.desire[:] = 0.0
    x.desire[0, desire] = 1.0
    out = self.step()
    if out.shape != (1, N_OUT):
      raise ValueError(f"the runner returned {out.shape}, expected (1, {N_OUT}): rebuild it with `{BUILD_COMMAND}`")
    parsed = parse_output(out[0])
    self.prev = frame
    x.hidden[0] = parsed.hidden
    return parsed
