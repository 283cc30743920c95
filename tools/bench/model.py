"""modeld's per-frame cost (warp + inference + building and publishing modelV2) with the shipped model, beside the
same network exported to ONNX and run by onnxruntime through the same warp and publish.

onnxruntime and onnx are not dependencies of the stack: `pip install onnx onnxruntime` into the venv for this
benchmark; without them its figures are reported as missing.

  python -m tools.bench.model [seconds]
"""
import json
import sys
import time
from collections.abc import Callable

import numpy as np

from cereal import messaging
from selfdrive.modeld.constants import DESIRE_LEN, HIDDEN, INPUT_SHAPE, N_DIST, N_OUT
from selfdrive.modeld.fill_msg import fill_model_msg
from selfdrive.modeld.model import LOGSTD_MAX, LOGSTD_MIN, DrivingModel, ModelOutput, parse_output
from selfdrive.modeld.runner import ModelRunner, load_model, weights_path
from selfdrive.modeld.transform import camera_from_model, warp_nv12
from tools.bench.frames import private_prefix
from tools.sim.camera import rgb_to_nv12
from tools.sim.world import World

WARMUP_FRAMES = 10
ONNX_OPSET = 17
ONNX_IR_VERSION = 8          # what opset 17 needs; onnxruntime lags the newest IR versions
SIM_SEED = 0


class _Graph:
  """Just enough of an ONNX graph builder: named nodes and initializers."""
  def __init__(self):
    self.nodes, self.inits = [], []

  def w(self, name: str, arr: np.ndarray) -> str:
    from onnx import numpy_helper
    self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
    return name

  def op(self, op: str, ins: list[str], out: str | list[str], **attrs) -> str:
    from onnx import helper
    self.nodes.append(helper.make_node(op, ins, out if isinstance(out, list) else [out], **attrs))
    return out if isinstance(out, str) else out[0]

  def linear(self, name: str, x: str, lin) -> str:
    return self.op("Gemm", [x, self.w(f"{name}.w", lin.weight.numpy()), self.w(f"{name}.b", lin.bias.numpy())], name,
                   transB=1)


def export_onnx(model: DrivingModel) -> bytes:
  """The network of DrivingModel.__call__ as an ONNX graph, op by op from its weights."""
  import onnx
  from onnx import TensorProto, helper
  g, f32 = _Graph(), lambda v: np.asarray(v, np.float32)
  x = g.op("Cast", ["frames"], "xf", to=TensorProto.FLOAT)
  x = g.op("Add", [g.op("Mul", [x, g.w("inv64", f32(1 / 64))], "xs"), g.w("m2", f32(-2.0))], "x0")
  hw = (INPUT_SHAPE[2], INPUT_SHAPE[3])
  for i, (conv, norm) in enumerate(zip(model.convs, model.norms, strict=True)):
    s = conv.stride
    x = g.op("Conv", [x, g.w(f"c{i}.w", conv.weight.numpy()), g.w(f"c{i}.b", conv.bias.numpy())], f"c{i}",
             strides=[s, s], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    hw = (hw[0] - 1) // s + 1, (hw[1] - 1) // s + 1
    c = conv.weight.shape[0]
    # GroupNorm as tinygrad computes it: a layer norm over each group, then the per-channel affine
    grouped = g.op("Reshape", [x, g.w(f"g{i}.shape", np.array([1, norm.num_groups, -1], np.int64))], f"g{i}")
    n = c // norm.num_groups * hw[0] * hw[1]
    x = g.op("LayerNormalization", [grouped, g.w(f"g{i}.one", np.ones(n, np.float32)),
                                    g.w(f"g{i}.zero", np.zeros(n, np.float32))], f"gn{i}", axis=-1, epsilon=norm.eps)
    x = g.op("Reshape", [x, g.w(f"g{i}.back", np.array([1, c, *hw], np.int64))], f"gb{i}")
    x = g.op("Add", [g.op("Mul", [x, g.w(f"g{i}.w", norm.weight.numpy().reshape(c, 1, 1))], f"gm{i}"),
                     g.w(f"g{i}.b", norm.bias.numpy().reshape(c, 1, 1))], f"ga{i}")
    x = g.op("Relu", [x], f"r{i}")
  ln = model.feat_norm
  feat = g.op("LayerNormalization", [g.linear("fc", g.op("Flatten", [x], "flat", axis=1), model.fc),
                                     g.w("ln.w", ln.weight.numpy()), g.w("ln.b", ln.bias.numpy())], "feat",
              axis=-1, epsilon=ln.eps)
  gx = g.linear("gx", g.op("Concat", [feat, "desire"], "fd", axis=1), model.gru_x)
  gh = g.linear("gh", "h", model.gru_h)
  split = g.w("split", np.array([HIDDEN] * 3, np.int64))
  g.op("Split", [gx, split], ["xr", "xz", "xn"], axis=1)
  g.op("Split", [gh, split], ["hr", "hz", "hn"], axis=1)
  r = g.op("Sigmoid", [g.op("Add", ["xr", "hr"], "ar")], "r")
  z = g.op("Sigmoid", [g.op("Add", ["xz", "hz"], "az")], "z")
  n = g.op("Tanh", [g.op("Add", ["xn", g.op("Mul", [r, "hn"], "rhn")], "an")], "n")
  h_next = g.op("Add", [g.op("Mul", [g.op("Sub", [g.w("one", f32(1.0)), z], "omz"), n], "a1"),
                        g.op("Mul", [z, "h"], "a2")], "h_next")
  latent = g.op("Concat", [feat, h_next], "latent", axis=1)
  raw = g.linear("head2", g.op("Relu", [g.linear("head1", latent, model.head1)], "hid"), model.head2)
  i64 = lambda v: np.array([v], np.int64)
  cut = lambda name, a, b: g.op("Slice", [raw, g.w(f"{name}.a", i64(a)), g.w(f"{name}.b", i64(b)),
                                          g.w(f"{name}.axis", i64(1))], name)
  sigma, mu = g.w("sigma", model.label_sigma.numpy()), g.w("mu", model.label_mu.numpy())
  mean = g.op("Add", [g.op("Mul", [cut("rm", 0, N_DIST), sigma], "ms"), mu], "mean")
  logstd = g.op("Clip", [cut("rs", N_DIST, 2 * N_DIST), g.w("lo", f32(LOGSTD_MIN)), g.w("hi", f32(LOGSTD_MAX))], "ls")
  std = g.op("Mul", [g.op("Exp", [logstd], "es"), sigma], "std")
  prob = g.op("Sigmoid", [cut("rp", 2 * N_DIST, N_OUT - HIDDEN)], "prob")
  g.op("Concat", [mean, std, prob, h_next], "out", axis=1)
  graph = helper.make_graph(g.nodes, "driving", [
    helper.make_tensor_value_info("frames", TensorProto.UINT8, list(INPUT_SHAPE)),
    helper.make_tensor_value_info("desire", TensorProto.FLOAT, [1, DESIRE_LEN]),
    helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, HIDDEN])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, N_OUT])], g.inits)
  m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], ir_version=ONNX_IR_VERSION)
  onnx.checker.check_model(m)
  return m.SerializeToString()


class OrtRunner:
  """The ONNX export under onnxruntime, with ModelRunner's frame-to-frame bookkeeping."""
  def __init__(self, model: DrivingModel):
    import onnxruntime as ort
    self.sess = ort.InferenceSession(export_onnx(model), providers=["CPUExecutionProvider"])
    self.frames = np.zeros(INPUT_SHAPE, np.uint8)
    self.desire = np.zeros((1, DESIRE_LEN), np.float32)
    self.h = np.zeros((1, HIDDEN), np.float32)
    self.prev: np.ndarray | None = None

  def run(self, frame: np.ndarray, desire: int) -> ModelOutput:
    self.frames[0, :6] = frame if self.prev is None else self.prev
    self.frames[0, 6:] = frame
    self.desire[:] = 0.0
    self.desire[0, desire] = 1.0
    out = parse_output(self.sess.run(["out"], {"frames": self.frames, "desire": self.desire, "h": self.h})[0][0])
    self.prev, self.h = frame, out.hidden[None].copy()
    return out


def _measure(run: Callable[[np.ndarray, int], ModelOutput], nv12: np.ndarray, warp: np.ndarray, h: int,
             pm: messaging.PubMaster, seconds: float) -> tuple[list[float], list[float]]:
  """Per-frame wall time of warp + run + fill + publish, and of the run alone (s)."""
  total, infer, frame_id = [], [], 0
  deadline = None
  while deadline is None or time.monotonic() < deadline:
    t0 = time.perf_counter()
    frame = warp_nv12(nv12[:h], nv12[h:], warp)
    t1 = time.perf_counter()
    out = run(frame, 0)
    t2 = time.perf_counter()
    msg = messaging.new_message("modelV2")
    fill_model_msg(msg.modelV2, out)
    msg.modelV2.frameId = frame_id
    pm.send("modelV2", msg)
    t3 = time.perf_counter()
    frame_id += 1
    if frame_id == WARMUP_FRAMES:
      deadline = time.monotonic() + seconds
    elif frame_id > WARMUP_FRAMES:
      total.append(t3 - t0)
      infer.append(t2 - t1)
  return total, infer


def _ms(xs: list[float], q: float) -> float:
  return round(float(np.percentile(xs, q)) * 1e3, 3)


def run(seconds: float = 10.0) -> dict[str, float | str | bool | None]:
  world = World(SIM_SEED)
  cam, h = world.camera, world.camera.height
  nv12 = rgb_to_nv12(world.render())
  warp = camera_from_model(cam.intrinsics, (cam.mount_roll, cam.mount_pitch, cam.mount_yaw))
  with private_prefix():
    pm = messaging.PubMaster(["modelV2"])
    runner = ModelRunner.load(progress=lambda s: print(f"bench model: {s}", file=sys.stderr))
    total, infer = _measure(runner.run, nv12, warp, h, pm, seconds)
    figures: dict[str, float | str | bool | None] = {
      "model_p50_ms": _ms(total, 50), "model_p99_ms": _ms(total, 99), "inference_p50_ms": _ms(infer, 50),
      "frames": float(len(total)), "compiled_runner": runner.compiled}
    try:
      model = load_model(weights_path())
      ort_check, ort_runner = OrtRunner(model), OrtRunner(model)
    except ImportError as e:
      figures |= {"onnxruntime_p50_ms": None, "onnxruntime": f"not installed ({e.name}): pip install onnx onnxruntime"}
    else:
      # one frame through both runtimes from a fresh state: how far apart their outputs are
      frame = warp_nv12(nv12[:h], nv12[h:], warp)
      runner.reset()
      ours = runner.run(frame, 0).mean["plan"]
      diff = float(np.max(np.abs(ours - ort_check.run(frame, 0).mean["plan"])))
      o_total, o_infer = _measure(ort_runner.run, nv12, warp, h, pm, seconds)
      figures |= {"onnxruntime_p50_ms": _ms(o_total, 50), "onnxruntime_p99_ms": _ms(o_total, 99),
                  "onnxruntime_inference_p50_ms": _ms(o_infer, 50), "onnxruntime_max_plan_diff_m": round(diff, 6),
                  "model_vs_onnxruntime": round(_ms(total, 50) / _ms(o_total, 50), 3)}
    pm.close()
  return figures


if __name__ == "__main__":
  print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0), indent=2))
