"""The driving model: output shapes and ranges, determinism, the compiled runner against the eager model, clear
errors for bad weights, the warp's geometry, and the training labels."""
import math
from dataclasses import replace

import cv2
import numpy as np
import pytest
from tinygrad import Tensor, TinyJit, nn

from cereal import messaging
from cereal.arrays import MODEL_V2_SHAPES, T_IDXS, unpack
from selfdrive.common.errors import UserError
from selfdrive.modeld import runner as runner_module
from selfdrive.modeld.constants import DIST_SLICES, HIDDEN, INPUT_SHAPE, MODEL_CX, MODEL_CY, MODEL_FOCAL, N_OUT
from selfdrive.modeld.fill_msg import fill_model_msg
from selfdrive.modeld.kernel_calls import KernelCalls
from selfdrive.modeld.model import DrivingModel, parse_output
from selfdrive.modeld.modeld import FrameDrops
from selfdrive.modeld.runner import ModelInputs, ModelRunner, build_runner, load_model, load_runner
from selfdrive.modeld.transform import camera_from_model, warp_nv12
from tools.sim.camera import Camera, rgb_to_nv12


def random_model(seed: int) -> DrivingModel:
  Tensor.manual_seed(seed)
  return DrivingModel()


def eager(model: DrivingModel, x: ModelInputs) -> np.ndarray:
  return model(Tensor(x.frames), Tensor(x.desire), Tensor(x.hidden)).numpy()


def random_inputs(seed: int) -> ModelInputs:
  rng, x = np.random.default_rng(seed), ModelInputs()
  x.frames[:] = rng.integers(0, 256, INPUT_SHAPE, dtype=np.uint8)
  x.desire[0, 3] = 1.0
  x.hidden[:] = rng.uniform(-0.5, 0.5, (1, HIDDEN))
  return x


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
  path = tmp_path_factory.mktemp("model") / "driving.safetensors"
  nn.state.safe_save(nn.state.get_state_dict(random_model(0)), str(path))
  return path


@pytest.fixture(scope="module")
def runner_file(weights):
  """The runner as scons builds it (without the kernel search, to stay quick)."""
  path = weights.parent / "runner.pkl"
  build_runner(weights, path, beam=0)
  return path


def test_shapes_and_ranges():
  out = eager(random_model(0), random_inputs(0))
  assert out.shape == (1, N_OUT) and np.all(np.isfinite(out))
  parsed = parse_output(out[0])
  assert all(np.all(s > 0) for s in parsed.std.values())
  assert all(np.all((p >= 0) & (p <= 1)) for p in parsed.prob.values())
  assert parsed.hidden.shape == (HIDDEN,) and np.all(np.abs(parsed.hidden) <= 1)
  msg = messaging.new_message("modelV2")
  fill_model_msg(msg.modelV2, parsed)
  md = messaging.log_from_bytes(msg.to_bytes()).modelV2
  for name, shape in MODEL_V2_SHAPES.items():
    assert unpack(getattr(md, name), shape).shape == shape
  assert unpack(md.laneLineProbs, (4,)).min() >= 0 and math.isfinite(md.action.desiredCurvature)
  with pytest.raises(ValueError, match="shape"):
    parse_output(out[0, :-1])


def test_deterministic():
  x = random_inputs(1)
  a, b = eager(random_model(3), x), eager(random_model(3), x)
  assert np.array_equal(a, b)
  assert not np.array_equal(a, eager(random_model(4), x))


def test_compiled_runner_matches_eager(weights, runner_file, tmp_path):
  fn = load_runner(weights, runner_file)
  assert fn is not None
  model = load_model(weights)
  x = random_inputs(2)
  want = eager(model, x)
  got = fn(*x.tensors).numpy()
  assert np.allclose(got, want, rtol=1e-4, atol=1e-4), np.abs(got - want).max()
  x.frames[:] = 255 - x.frames  # new inputs in place: the JIT sees them
  assert np.allclose(fn(*x.tensors).numpy(), eager(model, x), rtol=1e-4, atol=1e-4)
  # a runner built from other weights is stale: never used
  other = tmp_path / "other.safetensors"
  nn.state.safe_save(nn.state.get_state_dict(random_model(5)), str(other))
  assert load_runner(other, runner_file) is None


def test_kernel_calls_are_the_jit(weights, runner_file):
  """modeld's frame step calls the captured kernels directly: the JIT's outputs bit for bit, frame after frame, with
  the inputs changed in place between frames (and the threaded kernels' shares all run)."""
  fn = load_runner(weights, runner_file)
  x = random_inputs(6)
  step = KernelCalls(fn, (x.frames, x.desire, x.hidden), x.tensors)
  assert step.threaded_kernels > 0, "no threaded kernel covered"
  rng = np.random.default_rng(7)
  for _ in range(4):
    want = fn(*x.tensors).numpy()
    got = step()
    assert got.shape == want.shape and np.array_equal(got, want)
    x.frames[:] = rng.integers(0, 256, INPUT_SHAPE, dtype=np.uint8)
    x.desire[:] = np.eye(x.desire.shape[1], dtype=np.float32)[rng.integers(x.desire.shape[1])]
    x.hidden[:] = got[:, -HIDDEN:]


def test_kernel_calls_need_a_captured_jit():
  x = random_inputs(0)
  with pytest.raises(ValueError, match="not captured"):
    KernelCalls(TinyJit(lambda *t: t[0]), (x.frames, x.desire, x.hidden), x.tensors)


def test_runner_built_from_other_model_code_is_stale(weights, runner_file, monkeypatch):
  assert load_runner(weights, runner_file) is not None
  monkeypatch.setattr(runner_module, "model_code_sha256", lambda: "0" * 64)
  assert load_runner(weights, runner_file) is None


def test_runner_carries_the_latent_state(weights, runner_file, monkeypatch):
  monkeypatch.setenv("LP_MODEL_WEIGHTS", str(weights))
  monkeypatch.setenv("LP_MODEL_RUNNER", str(runner_file))
  runner = ModelRunner.load(progress=lambda s: None)
  assert runner.compiled
  frame = np.full((6, 64, 128), 90, np.uint8)
  first = runner.run(frame, 0)
  second = runner.run(frame, 0)
  assert not np.allclose(first.hidden, second.hidden)
  runner.reset()
  assert np.allclose(runner.run(frame, 0).hidden, first.hidden, atol=1e-5)


def test_missing_weights_name_the_command(tmp_path):
  with pytest.raises(UserError, match=r"not found.*localpilot train"):
    load_model(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"garbage that is not a safetensors file at all"])
def test_corrupt_weights_name_the_command(tmp_path, content):
  path = tmp_path / "driving.safetensors"
  path.write_bytes(content)
  with pytest.raises(UserError, match=r"unreadable.*localpilot train"):
    load_model(path)


def test_wrong_architecture_names_the_command(tmp_path):
  path = tmp_path / "driving.safetensors"
  nn.state.safe_save({"convs.0.weight": Tensor.zeros(3, 3)}, str(path))
  with pytest.raises(UserError, match="localpilot train"):
    load_model(path)


def test_warp_puts_a_known_point_where_expected():
  """A ground point ahead, seen by a crooked camera, lands where the straight model camera would see it."""
  cam = Camera(512, 256, mount_roll=0.01, mount_pitch=math.radians(1.2), mount_yaw=math.radians(-1.8))
  point = np.array([[25.0, 1.5, cam.mount_height]])  # car frame: 25 m ahead, 1.5 m right, on the ground
  (u, v), ok = cam.project(point)[0][0], cam.project(point)[1][0]
  assert ok
  expect = np.array([MODEL_CX + MODEL_FOCAL * 1.5 / 25.0, MODEL_CY + MODEL_FOCAL * cam.mount_height / 25.0])
  m = camera_from_model(cam.intrinsics, (cam.mount_roll, cam.mount_pitch, cam.mount_yaw))
  p = m @ np.array([*expect, 1.0])
  assert np.allclose(p[:2] / p[2], (u, v), atol=1e-6)
  # and through the pixels: a bright dot in the camera image shows up there in the warped luma
  rgb = np.zeros((256, 512, 3), np.uint8)
  cv2.circle(rgb, (round(u), round(v)), 3, (255, 255, 255), -1)
  nv12 = rgb_to_nv12(rgb)
  frame = warp_nv12(nv12[:256], nv12[256:], m)
  y = np.zeros((128, 256), np.uint8)
  y[0::2, 0::2], y[1::2, 0::2], y[0::2, 1::2], y[1::2, 1::2] = frame[:4]
  row, col = np.unravel_index(np.argmax(cv2.GaussianBlur(y.astype(np.float32), (5, 5), 0)), y.shape)
  assert abs(col - expect[0]) <= 1.5 and abs(row - expect[1]) <= 1.5, ((col, row), expect)
  assert frame[4:].min() >= 120  # grey chroma: no colour appears from nowhere


def test_frame_drops():
  drops = FrameDrops()
  assert drops.update(1) == 0.0
  assert drops.update(2) == 0.0
  assert drops.update(4) == pytest.approx(100 / 4)  # 4 frames came, one was skipped


def test_training_labels_from_a_short_drive(tmp_path):
  from tools.train.data import FPS, FUTURE_FRAMES, load_episode, record_episode
  record_episode(4242, 12.5, tmp_path / "0004242", lane_changes=False)
  ep = load_episode(tmp_path, 4242)
  n = len(ep)
  assert ep.frames.shape == (n, 6, 64, 128) and n == round(12.5 * FPS)
  assert ep.valid.sum() == n - FUTURE_FRAMES
  plan = ep.dist[0, DIST_SLICES["plan"]].reshape(-1, 9)
  assert plan[0, 0] == pytest.approx(0.0, abs=0.5) and np.all(np.diff(plan[:, 0]) >= 0)  # starts here, goes ahead
  assert plan[-1, 0] == pytest.approx(np.mean(plan[:, 3]) * T_IDXS[-1], rel=0.5)
  lanes = ep.dist[0, DIST_SLICES["lane_lines"]].reshape(4, -1, 2)
  assert lanes[1, 0, 0] < 0 < lanes[2, 0, 0]  # the ego lane's lines left (y < 0) and right of us


def test_training_cache_holds_drives_of_one_shape(tmp_path):
  """Drives cached for one road and traffic distribution are never silently mixed with, or reused as, another's,
  and drives whose shape was never recorded are not taken for any."""
  from tools.train.data import EVAL_SHAPE, TRAIN_SHAPE, generate
  assert generate(tmp_path, [], 20.0, 1, "drives", progress=False, shape=TRAIN_SHAPE) == 0.0
  assert generate(tmp_path, [], 20.0, 1, "drives", progress=False, shape=TRAIN_SHAPE) == 0.0  # same shape: reused
  with pytest.raises(UserError, match="other roads or traffic"):
    generate(tmp_path, [], 20.0, 1, "drives", progress=False, shape=EVAL_SHAPE)
  with pytest.raises(UserError, match="other roads or traffic"):   # the same roads, other traffic
    generate(tmp_path, [], 20.0, 1, "drives", progress=False, shape=replace(TRAIN_SHAPE, lane_wander=0.0))
  for other in (replace(TRAIN_SHAPE, event_gap=EVAL_SHAPE.event_gap),
                replace(TRAIN_SHAPE, start_speed=EVAL_SHAPE.start_speed)):
    with pytest.raises(UserError, match="other roads or traffic"):   # other events, other speeds
      generate(tmp_path, [], 20.0, 1, "drives", progress=False, shape=other)
  unrecorded = tmp_path / "old"
  (unrecorded / "0001000").mkdir(parents=True)
  with pytest.raises(UserError, match="without a record"):
    generate(unrecorded, [], 20.0, 1, "drives", progress=False, shape=TRAIN_SHAPE)


def test_training_refuses_a_stale_evaluation_cache_before_it_trains(tmp_path, capsys):
  """Evaluation drives cached on other roads fail `localpilot train` at its start, not after half an hour of
  training (as they did once: the weights were written, the evaluation and the model card were not)."""
  from tools.cli import main
  (tmp_path / "eval").mkdir()
  (tmp_path / "eval" / "drives.json").write_text("{}")
  assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--weights",
               str(tmp_path / "w.safetensors"), "--json"]) == 2
  assert "other roads or traffic" in capsys.readouterr().err
  assert not (tmp_path / "train").exists() and not (tmp_path / "out").exists()


def test_onnx_export_matches_the_model():
  """The benchmark's onnxruntime figure is only fair if its graph is this network (onnxruntime: bench only)."""
  ort = pytest.importorskip("onnxruntime")
  from tools.bench.model import export_onnx
  model, x = random_model(1), random_inputs(4)
  sess = ort.InferenceSession(export_onnx(model), providers=["CPUExecutionProvider"])
  got = sess.run(["out"], {"frames": x.frames, "desire": x.desire, "h": x.hidden})[0]
  assert np.allclose(got, eager(model, x), rtol=1e-4, atol=1e-4)
