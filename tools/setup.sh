#!/usr/bin/env bash
# Sets up localpilot on a Debian/Ubuntu machine that has Python 3.11 or 3.12 and git: the system packages the
# stack needs, a virtual environment at .venv/ with the project installed in it, and the native builds.
# Idempotent: when nothing changed it only checks, in a few seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# clang: tinygrad's CPU backend compiles kernels with it. libgl1, libglib2.0-0: OpenCV's windows (the UI).
SYSTEM_PACKAGES=(clang libgl1 libglib2.0-0)

log() { printf 'setup: %s\n' "$*"; }

pick_python() {
  for py in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
PY=$(pick_python) || { log "error: localpilot needs Python 3.11 or 3.12 (set PYTHON=/path/to/python)"; exit 1; }
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=("python$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv")
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi

stamp=.venv/.localpilot-installed
want=$(cat pyproject.toml tools/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing localpilot and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi

.venv/bin/scons -Q -j"$(nproc)" 2>&1 | grep -v "is up to date" || true
[ "${PIPESTATUS[0]}" -eq 0 ] || { log "error: native build failed (run .venv/bin/scons to see why)"; exit 1; }
log "ready: .venv/bin/localpilot --help"
