"""The safety model every outgoing CAN frame must pass: opendbc's own C safety code, called through cffi.

The limits live only in opendbc's C headers (built into libsafety.so by `scons`); this module adds no
policy of its own. It feeds the hooks a monotonic microsecond clock and exposes the panda-style state.
opendbc keeps its state in C globals, so there is one safety model per process: creating a new
SafetyModel takes that state over and any older instance refuses further use.
"""
import time
from collections.abc import Callable
from pathlib import Path

from cffi import FFI

LIB_PATH = Path(__file__).resolve().with_name("libsafety.so")
BUILD_CMD = "scons (run .venv/bin/scons in the repository root, or tools/setup.sh)"
ABI_VERSION = 1  # must match LP_ABI_VERSION in safety_shim.c

_ffi = FFI()
_ffi.cdef("""
int lp_abi_version(void);
int lp_set_safety_hooks(uint64_t now_us, uint16_t mode, uint16_t param);
int lp_rx(uint64_t now_us, uint32_t addr, uint8_t bus, const char *data, uint8_t len);
int lp_tx(uint64_t now_us, uint32_t addr, uint8_t bus, const char *data, uint8_t len);
int lp_fwd(int bus_num, int addr);
void lp_tick(uint64_t now_us);
void lp_heartbeat(bool engaged);
bool lp_controls_allowed(void);
bool lp_longitudinal_allowed(void);
bool lp_relay_malfunction(void);
bool lp_rx_checks_invalid(void);
bool lp_heartbeat_lost(void);
int lp_safety_mode(void);
int lp_safety_param(void);
uint32_t lp_tx_blocked(void);
uint32_t lp_rx_invalid(void);
int lp_alternative_experience(void);
void lp_set_alternative_experience(int mode);
void lp_test_set_controls_allowed(bool allowed);
""")
_lib = None
_owner_gen = 0  # generation of the SafetyModel that currently owns the C state


class SafetyLibraryError(RuntimeError):
  """libsafety.so is missing or stale: rebuild it."""


class SafetyModeError(ValueError):
  """opendbc has no hooks for the requested safety mode (or they are not compiled in)."""


def load_library():
  global _lib
  if _lib is None:
    if not LIB_PATH.is_file():
      raise SafetyLibraryError(f"safety library not built: {LIB_PATH} is missing; build it with {BUILD_CMD}")
    lib = _ffi.dlopen(str(LIB_PATH))
    if (abi := lib.lp_abi_version()) != ABI_VERSION:
      raise SafetyLibraryError(f"{LIB_PATH} is stale (ABI {abi}, want {ABI_VERSION}); rebuild with {BUILD_CMD}")
    _lib = lib
  return _lib


class SafetyModel:
  """One process-wide safety state. `clock` returns monotonic nanoseconds (default time.monotonic_ns).

  Starts in SILENT (mode 0): nothing may be sent until set_safety_hooks() picks a car's mode.
  """

  def __init__(self, clock: Callable[[], int] = time.monotonic_ns, testing: bool = False):
    global _owner_gen
    self._lib = load_library()
    self._clock = clock
    self._testing = testing
    _owner_gen += 1
    self._gen = _owner_gen
    self.set_safety_hooks(0, 0)

  def _live(self):
    if self._gen != _owner_gen:
      raise RuntimeError("a newer SafetyModel owns the process-wide safety state; this one is stale")
    return self._lib

  def set_safety_hooks(self, mode: int, param: int) -> None:
    """Select the car's safety mode (CarParams.SafetyModel number) and its safetyParam; resets all state."""
    if not (0 <= mode <= 0xFFFF and 0 <= param <= 0xFFFF):
      raise SafetyModeError(f"safety mode {mode} / param {param} out of range (both are uint16)")
    if self._live().lp_set_safety_hooks(self._clock() // 1000, mode, param) != 0:
      raise SafetyModeError(f"safety mode {mode} (CarParams.SafetyModel) is not in opendbc's safety code; "
                            "fell back to SILENT (mode 0), nothing may be sent")

  def rx(self, address: int, data: bytes, bus: int) -> bool:
    """Feed a received frame to the RX hook. False if it failed opendbc's checksum/counter/quality checks."""
    if type(data) is not bytes:
      data = bytes(data)  # e.g. python-can's bytearray
    r = self._live().lp_rx(self._clock() // 1000, address, bus, data, len(data))
    if r < 0:
      raise ValueError(f"malformed CAN frame: addr={address:#x} bus={bus} len={len(data)}")
    return r == 1

  def tx(self, address: int, data: bytes, bus: int) -> bool:
    """The TX hook: True if the frame may be sent. Blocked frames are counted in tx_blocked."""
    if type(data) is not bytes:
      data = bytes(data)
    r = self._live().lp_tx(self._clock() // 1000, address, bus, data, len(data))
    if r < 0:
      raise ValueError(f"malformed CAN frame: addr={address:#x} bus={bus} len={len(data)}")
    return r == 1

  def fwd(self, bus: int, address: int) -> int:
    """Bus a frame seen on `bus` should be forwarded to, or -1 to drop it (relay-harness installs)."""
    return self._live().lp_fwd(bus, address)

  def tick(self) -> None:
    """Run the 1 Hz ticks that are due by the clock: heartbeat and rx-lag timeouts. Safe to call more often;
    rx()/tx() also run due ticks first, so timeouts apply even if the owner forgets."""
    self._live().lp_tick(self._clock() // 1000)

  def heartbeat(self, engaged: bool) -> None:
    """The host is alive and says whether openpilot is engaged; needed at least every few seconds."""
    self._live().lp_heartbeat(engaged)

  @property
  def controls_allowed(self) -> bool:
    return self._live().lp_controls_allowed()

  @controls_allowed.setter
  def controls_allowed(self, allowed: bool) -> None:
    if not self._testing:
      raise PermissionError("controls_allowed can only be forced on a SafetyModel(testing=True)")
    self._live().lp_test_set_controls_allowed(allowed)

  @property
  def longitudinal_allowed(self) -> bool:
    return self._live().lp_longitudinal_allowed()

  @property
  def relay_malfunction(self) -> bool:
    return self._live().lp_relay_malfunction()

  @property
  def rx_checks_invalid(self) -> bool:
    """A checked message is missing, lagging or invalid (as of the last tick)."""
    return self._live().lp_rx_checks_invalid()

  @property
  def heartbeat_lost(self) -> bool:
    return self._live().lp_heartbeat_lost()

  @property
  def mode(self) -> int:
    return self._live().lp_safety_mode()

  @property
  def param(self) -> int:
    return self._live().lp_safety_param()

  @property
  def tx_blocked(self) -> int:
    """Frames refused by tx() since the mode was last set (pandaState.safetyTxBlocked)."""
    return self._live().lp_tx_blocked()

  @property
  def rx_invalid(self) -> int:
    """Frames that failed rx checks since the mode was last set (pandaState.safetyRxInvalid)."""
    return self._live().lp_rx_invalid()

  @property
  def alternative_experience(self) -> int:
    return self._live().lp_alternative_experience()

  @alternative_experience.setter
  def alternative_experience(self, flags: int) -> None:
    """opendbc.safety.ALTERNATIVE_EXPERIENCE flags, set by the host separately from the mode (as on a panda)."""
    self._live().lp_set_alternative_experience(flags)
