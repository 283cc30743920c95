import multiprocessing as mp
import os
import stat
import time

import numpy as np
import pytest
import zmq

from cereal import arrays, messaging, prefix
from cereal.clock import mono_time
from cereal.messaging.lockstep import LOCKSTEP_ENV, LockstepError, LockstepHarness, _pack_batch, _unpack_batch

CTX = mp.get_context("spawn")
WARMUP = -1.0
DONE = -2.0


def wait_until(cond, timeout_s: float, step=None) -> bool:
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    if step is not None:
      step()
    if cond():
      return True
    time.sleep(0.001)
  return False


def _subscriber(ready, results):
  sock = messaging.sub_sock("carState", timeout_ms=5000)
  got, announced = [], False
  while True:
    msg = messaging.log_from_bytes(sock.recv())
    v = msg.carState.vEgo
    if v == WARMUP:
      if not announced:
        ready.put(os.getpid())
        announced = True
    elif v == DONE:
      break
    else:
      got.append(v)
  results.put(got)


def test_one_publisher_three_subscribers():
  ready, results = CTX.Queue(), CTX.Queue()
  subs = [CTX.Process(target=_subscriber, args=(ready, results)) for _ in range(3)]
  for p in subs:
    p.start()
  pm = messaging.PubMaster(["carState"])
  joined: set[int] = set()

  def warm():
    msg = messaging.new_message("carState")
    msg.carState.vEgo = WARMUP
    pm.send("carState", msg)
    while not ready.empty():
      joined.add(ready.get())

  assert wait_until(lambda: len(joined) == 3, 20, step=warm), "subscribers never joined"
  for i in range(300):
    msg = messaging.new_message("carState")
    msg.carState.vEgo = float(i)
    pm.send("carState", msg)
    if i % 50 == 0:
      time.sleep(0.005)
  done = messaging.new_message("carState")
  done.carState.vEgo = DONE
  pm.send("carState", done)
  outs = [results.get(timeout=20) for _ in subs]
  for p in subs:
    p.join(5)
    assert p.exitcode == 0
  for got in outs:
    assert got == [float(i) for i in range(300)]
  pm.close()


def test_submaster_conflates_to_latest():
  pm = messaging.PubMaster(["carState"])
  sm = messaging.SubMaster(["carState"])

  def ping():
    pm.send("carState", messaging.new_message("carState"))
    sm.update(0)
  assert wait_until(lambda: sm.updated["carState"], 5, step=ping)
  for i in range(50):
    msg = messaging.new_message("carState")
    msg.carState.vEgo = float(i)
    pm.send("carState", msg)
  assert wait_until(lambda: sm.updated["carState"] and sm["carState"].vEgo == 49.0, 5, step=lambda: sm.update(10))
  sm.update(10)
  assert not sm.updated["carState"], "a conflated subscriber must not see stale messages after the latest"


def _paced_publisher(control):
  pm = messaging.PubMaster(["carState"])
  period = 0.01
  next_t = time.monotonic()
  while True:
    if control.poll():
      cmd = control.recv()
      if cmd == "stop":
        control.send("stopped")
        control.recv()
        return
      period = cmd
    pm.send("carState", messaging.new_message("carState"))
    next_t += period
    time.sleep(max(0.0, next_t - time.monotonic()))


def test_alive_and_freq_follow_the_publisher():
  parent, child = CTX.Pipe()
  proc = CTX.Process(target=_paced_publisher, args=(child,))
  proc.start()
  sm = messaging.SubMaster(["carState"])
  try:
    assert wait_until(lambda: sm.alive["carState"] and sm.freq_ok["carState"], 10, step=lambda: sm.update(20))
    assert sm.all_checks()
    parent.send(0.02)  # slows to 50 Hz: still alive, frequency no longer ok
    assert wait_until(lambda: not sm.freq_ok["carState"], 5, step=lambda: sm.update(20))
    assert sm.alive["carState"] and not sm.all_checks()
    parent.send(0.01)
    assert wait_until(lambda: sm.freq_ok["carState"], 5, step=lambda: sm.update(20))
    parent.send("stop")
    assert parent.recv() == "stopped"
    t_stop = time.monotonic()
    assert wait_until(lambda: not sm.alive["carState"], 5, step=lambda: sm.update(20))
    # carState is 100 Hz: dead after ten missed periods, well within a second
    assert time.monotonic() - t_stop < 1.0
    assert not sm.freq_ok["carState"] and not sm.all_checks()
  finally:
    parent.send("bye")
    proc.join(5)


def test_valid_flag_travels():
  pm = messaging.PubMaster(["carState"])
  sm = messaging.SubMaster(["carState"], ignore_alive=["carState"], ignore_avg_freq=["carState"])

  def send_invalid():
    msg = messaging.new_message("carState")
    msg.valid = False
    pm.send("carState", msg)
    sm.update(10)
  assert wait_until(lambda: sm.updated["carState"], 5, step=send_invalid)
  assert not sm.valid["carState"] and not sm.all_checks()
  assert wait_until(lambda: sm.valid["carState"], 5,
                    step=lambda: (pm.send("carState", messaging.new_message("carState")), sm.update(10)))
  assert sm.all_checks()


def test_prefixes_do_not_cross(monkeypatch):
  sm = messaging.SubMaster(["carState"])
  monkeypatch.setenv(prefix.PREFIX_ENV, "other-" + os.environ[prefix.PREFIX_ENV])
  other = messaging.PubMaster(["carState"])
  for _ in range(20):
    other.send("carState", messaging.new_message("carState"))
    sm.update(10)
    assert not sm.updated["carState"]
  other.close()
  prefix.cleanup()


def test_socket_dir_is_private():
  d = prefix.socket_dir()
  assert stat.S_IMODE(d.stat().st_mode) == 0o700
  assert stat.S_IMODE(d.parent.stat().st_mode) == 0o700


def test_bad_prefix_and_unknown_service(monkeypatch):
  with pytest.raises(messaging.UnknownServiceError, match=r"cereal/services\.py"):
    messaging.PubMaster(["noSuchService"])
  with pytest.raises(messaging.UnknownServiceError):
    messaging.SubMaster(["carState", "nope"])
  for bad in ["../etc", "..", ".", "-x", "a/b", "x" * 49, ""]:
    with monkeypatch.context() as m:
      m.setenv(prefix.PREFIX_ENV, bad)
      with pytest.raises(prefix.PrefixError):
        prefix.socket_dir()


def test_send_checks_the_union_member():
  pm = messaging.PubMaster(["carState"])
  with pytest.raises(ValueError, match="carControl"):
    pm.send("carState", messaging.new_message("carControl"))


def _lockstep_process():
  """A tiny deterministic process: doubles the speed it hears, stamped with the (replayed) clock."""
  sm = messaging.SubMaster(["carState", "modelV2"])
  pm = messaging.PubMaster(["carControl"])
  while True:
    sm.update(100)
    if sm.updated["carState"]:
      out = messaging.new_message("carControl")
      out.carControl.actuators.accel = sm["carState"].vEgo * 2
      out.carControl.enabled = sm.alive["carState"]
      out.carControl.latActive = sm.alive["modelV2"]
      out.logMonoTime = mono_time()
      pm.send("carControl", out)


def test_lockstep_replay_is_exact(monkeypatch):
  harness = LockstepHarness("lockstep-test")
  monkeypatch.setenv(LOCKSTEP_ENV, "lockstep-test")
  proc = CTX.Process(target=_lockstep_process)
  proc.start()
  try:
    t0 = 10**17  # far from this machine's own clock: a step must see its own time, never the live clock
    for i in range(50):
      msg = messaging.new_message("carState")
      msg.carState.vEgo = float(i)
      t = t0 + i * 10_000_000
      msg.logMonoTime = t
      inputs = [msg.to_bytes()]
      if i % 5 == 0:  # modelV2 at 20 Hz: alive between its messages by the replayed clock
        inputs.insert(0, _stamped("modelV2", t))
      outs = [messaging.log_from_bytes(b) for b in harness.step(t, inputs)]
      assert len(outs) == 1
      assert outs[0].carControl.actuators.accel == 2.0 * i
      assert outs[0].logMonoTime == t
      assert outs[0].carControl.enabled and outs[0].carControl.latActive
    # a step without input: no output, and the replayed clock decides liveness (carState dead 1 s later)
    assert harness.step(t0 + 60 * 10_000_000, []) == []
    late = messaging.new_message("carState")
    outs = [messaging.log_from_bytes(b) for b in harness.step(t0 + 2_000_000_000, [late.to_bytes()])]
    assert outs[0].carControl.enabled  # just received: alive again
    harness.finish()
    proc.join(10)
    assert proc.exitcode == 0
  finally:
    if proc.is_alive():
      proc.kill()
    harness.close()


def test_model_arrays_round_trip():
  rng = np.random.default_rng(0)
  msg = messaging.new_message("modelV2")
  ref = {}
  for name, shape in arrays.MODEL_V2_SHAPES.items():
    ref[name] = rng.standard_normal(shape).astype(np.float32)
    setattr(msg.modelV2, name, arrays.pack(ref[name], shape))
  back = messaging.log_from_bytes(msg.to_bytes()).modelV2
  for name, shape in arrays.MODEL_V2_SHAPES.items():
    np.testing.assert_array_equal(arrays.unpack(getattr(back, name), shape), ref[name])
  with pytest.raises(ValueError):
    arrays.pack(np.zeros((3, 3)), arrays.MODEL_V2_SHAPES["position"])
  with pytest.raises(ValueError):
    arrays.unpack(b"\0" * 12, arrays.MODEL_V2_SHAPES["position"])


def test_recv_one_times_out():
  sock = messaging.sub_sock("carState")
  t = time.monotonic()
  assert messaging.recv_one(sock, timeout_ms=50) is None
  assert time.monotonic() - t >= 0.04
  sock.close()
  assert isinstance(messaging.pub_sock("carState"), zmq.Socket)


def test_submaster_takes_every_service():
  from cereal.services import SERVICES
  sm = messaging.SubMaster(list(SERVICES))
  sm.update(0)
  assert not any(sm.updated.values()) and not sm.all_alive()
  assert len(sm["can"]) == 0 and sm["carState"].vEgo == 0.0
  sm.close()


def _stamped(service: str, t_ns: int) -> bytes:
  msg = messaging.new_message(service)
  msg.logMonoTime = t_ns
  return msg.to_bytes()


def _lockstep_outputs(monkeypatch, link: str, plan: list, batch: int) -> list[bytes]:
  harness = LockstepHarness(link)
  monkeypatch.setenv(LOCKSTEP_ENV, link)
  proc = CTX.Process(target=_lockstep_process)
  proc.start()
  try:
    out = []
    for i in range(0, len(plan), batch):
      out += harness.run(plan[i:i + batch])
    out += harness.finish()
    proc.join(10)
    assert proc.exitcode == 0
    return out
  finally:
    if proc.is_alive():
      proc.kill()
    harness.close()


def test_lockstep_batches_replay_as_single_steps(monkeypatch):
  """Process replay sends many steps an exchange: the process must see each step as if it came alone."""
  t0, plan = 10**17, []
  for i in range(40):
    t = t0 + i * 10_000_000 + (1_500_000_000 if i >= 30 else 0)   # a gap: carState dead, then alive again
    cs = messaging.new_message("carState")
    cs.carState.vEgo, cs.logMonoTime = float(i), t
    inputs = [cs.to_bytes()] if i % 9 else []                       # some steps carry nothing
    plan.append((t, [_stamped("modelV2", t), *inputs] if i % 5 == 0 else inputs))
  single = _lockstep_outputs(monkeypatch, "lockstep-single", plan, 1)
  assert len(single) == sum(1 for _, msgs in plan if any(messaging.log_from_bytes(m).which() == "carState"
                                                         for m in msgs))
  assert _lockstep_outputs(monkeypatch, "lockstep-batched", plan, 7) == single


def test_lockstep_batch_header_must_match_its_messages():
  parts = _pack_batch([(1, [b"a", b"b"]), (2, []), (3, [b"c"])])
  assert _unpack_batch(parts[1], parts[2:]) == [(1, [b"a", b"b"]), (2, []), (3, [b"c"])]
  with pytest.raises(LockstepError, match="carries"):
    _unpack_batch(parts[1], parts[2:-1])
  with pytest.raises(LockstepError, match="header"):
    _unpack_batch(parts[1][:-1], parts[2:])
