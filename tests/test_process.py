"""What every process does at start: its start-up set aside from the garbage collector, cycles made later still
collected. Run in a child: freezing is for the whole interpreter."""
import subprocess
import sys

CHILD = """
import gc, weakref
from selfdrive.common.process import freeze_startup
class Node: pass
kept = [Node() for _ in range(1000)]
freeze_startup()
assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
a, b = Node(), Node()
a.other, b.other = b, a   # a reference cycle made in the loop
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None
print("ok")
"""


def test_startup_is_frozen_and_later_cycles_are_collected():
  out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
  assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
