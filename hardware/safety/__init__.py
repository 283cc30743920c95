"""The CAN safety model: opendbc's C safety code built into libsafety.so (`scons`), wrapped for Python."""
from hardware.safety.safety import LIB_PATH, SafetyLibraryError, SafetyModeError, SafetyModel

__all__ = ["LIB_PATH", "SafetyLibraryError", "SafetyModeError", "SafetyModel"]
