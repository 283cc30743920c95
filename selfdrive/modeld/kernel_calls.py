"""A captured TinyJit on tinygrad's CPU device, run as a flat list of foreign calls.

tinygrad 0.14 replays a captured JIT through its general realize loop: about 50 us of Python per kernel launch, 1.8 ms
a frame for the driving model's 34 kernels, more than the kernels' own 1.5 ms. Once captured nothing changes between
frames (the same machine code on the same buffers with the same launch sizes), so the calls are resolved once here
and a frame is the input memmoves and the kernel calls: the same code on the same memory, the same outputs bit for bit.

This reads the captured JIT's structure (its linear of CALLs), which is tinygrad's internals: pinned at
tinygrad==0.14.0, checked call by call, and anything it does not know is an error, not a guess.
"""
import ctypes
from dataclasses import dataclass

import numpy as np
from tinygrad import Tensor, dtypes
from tinygrad.engine.jit import _prepare_jit_inputs
from tinygrad.engine.realize import get_runtime, resolve_params
from tinygrad.runtime.ops_cpu import CPUProgram
from tinygrad.uop.ops import Ops

CORE_ID = "core_id"   # the argument of a threaded CPU kernel that says which share of the work a call does


@dataclass(frozen=True)
class InputCopy:
  """The JIT's copy of one input array into its device buffer."""
  dst: int
  src: int
  nbytes: int


@dataclass(frozen=True)
class KernelCall:
  """One launch of a compiled kernel (its program holds the machine code the function points into)."""
  program: CPUProgram
  args: tuple[ctypes.c_uint64, ...]


class KernelCalls:
  """`jit` (captured over `tensors`, NPY tensors backed by `arrays`) as one call: write new inputs into `arrays`,
  call, get the JIT's output as a fresh numpy array."""
  def __init__(self, jit, arrays: tuple[np.ndarray, ...], tensors: tuple[Tensor, ...]):
    captured = jit.captured
    if captured is None:
      raise ValueError("the JIT has not captured its kernels yet: call it until it does")
    input_uops = tuple(_prepare_jit_inputs(tensors, {})[0])
    self._keep = (jit, arrays)   # the buffers and code the addresses below point into
    self.steps: list[InputCopy | KernelCall] = []
    self.threaded_kernels = 0   # kernels tinygrad split into shares (one call each, in turn)
    for call in captured.linear.src:
      ast, params = call.src[0], resolve_params(call, input_uops)
      if ast.op is Ops.COPY:
        self.steps.append(self._input_copy(params, input_uops, arrays))
      elif ast.op is Ops.PROGRAM:
        calls = self._kernel_calls(call, ast, params)
        self.threaded_kernels += len(calls) > 1
        self.steps.extend(calls)
      else:
        raise ValueError(f"captured JIT has a {ast.op} call: only input copies and CPU kernels run as foreign calls")
    out = captured.ret.uop.buffer
    if out.dtype != dtypes.float32:
      raise ValueError(f"captured JIT returns {out.dtype}; float32 expected")
    self._out = np.ctypeslib.as_array((ctypes.c_float * out.size).from_address(_cpu_address(out)))
    self.out_shape = captured.ret.shape

  @staticmethod
  def _input_copy(params, input_uops, arrays) -> InputCopy:
    dst, src = params[0].buffer.ensure_allocated(), params[1]
    slot = next((i for i, u in enumerate(input_uops) if u is src), None)
    if slot is None:
      raise ValueError("captured JIT copies something other than one of its inputs")
    if arrays[slot].nbytes != dst.nbytes or not arrays[slot].flags.c_contiguous:
      raise ValueError(f"input {slot}: {arrays[slot].nbytes} contiguous bytes expected, the JIT copies {dst.nbytes}")
    return InputCopy(_cpu_address(dst), arrays[slot].ctypes.data, dst.nbytes)

  @staticmethod
  def _kernel_calls(call, ast, params) -> list[KernelCall]:
    device = call.src[1].device
    if device != "CPU":
      raise ValueError(f"captured JIT runs a kernel on {device}; only CPU kernels are foreign calls")
    program = get_runtime(device, ast)
    args = [_cpu_address(params[i].buffer.ensure_allocated()) for i in ast.arg.globals]
    global_size, _ = ast.arg.launch_dims({})
    vals = ast.arg.vals({})   # a JIT of fixed shapes binds no variables; its threaded kernels' share is None here
    core = program.runtimevars.get(CORE_ID)
    if core is None:
      return [KernelCall(program, tuple(ctypes.c_uint64(a) for a in (*args, *vals)))]
    # a threaded kernel: one call per share, in turn, as tinygrad's CPUProgram makes them
    shares = []
    for tid in range(global_size[0]):
      full = [*args, *vals]
      full[core] = tid
      shares.append(KernelCall(program, tuple(ctypes.c_uint64(a) for a in full)))
    return shares

  def __call__(self) -> np.ndarray:
    for step in self.steps:
      if type(step) is KernelCall:
        step.program.fxn(*step.args)
      else:
        ctypes.memmove(step.dst, step.src, step.nbytes)
    return self._out.reshape(self.out_shape).copy()


def _cpu_address(buffer) -> int:
  return int(buffer._buf.va_addr)
