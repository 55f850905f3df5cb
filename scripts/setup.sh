#!/usr/bin/env bash
# One-command setup of LGM-TSC on Debian 12 / Ubuntu 24.04 (run by `make setup`, `make demo`, `make test`).
#   1. Debian packages: GNU Radio 3.10, UHD, ffmpeg, espeak-ng, festival, build tools (apt, needs root or sudo).
#   2. A venv from Debian's /usr/bin/python3 --system-site-packages (the only interpreter that imports
#      GNU Radio), keyed by a hash of requirements/*.txt, with the pinned packages under numpy<2.
#   3. gr-lgmtsc built with CMake and installed into that venv; the host package installed editable.
#   4. The embedded models assembled into the verified model cache.
# Idempotent: a second run only rebuilds gr-lgmtsc and re-checks the models (well under a minute).
# Options: --print-venv (print the venv path and exit), --no-models (skip step 4).
# Environment: LGMTSC_HOME (default ~/.cache/lgmtsc) holds the venvs, the model cache and databases;
# LGMTSC_EXTRA_APT adds Debian packages to install (e.g. "festival festvox-us-slt-hts").
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LGMTSC_HOME="${LGMTSC_HOME:-$HOME/.cache/lgmtsc}"
REQS=("$REPO/requirements/constraints.txt" "$REPO/requirements/host.txt" "$REPO/requirements/llm.txt")
PYVER="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
HASH="$( (cat "${REQS[@]}"; echo "$PYVER") | sha256sum | cut -c1-12)"
VENV="$LGMTSC_HOME/venv-$HASH"
if [ "${1:-}" = "--print-venv" ]; then echo "$VENV"; exit 0; fi
WITH_MODELS=1
[ "${1:-}" = "--no-models" ] && WITH_MODELS=0

say() { printf '[setup] %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf '  hint: %s\n' "$2" >&2; exit 1; }
quiet_pip() { grep -v -e 'is ignored: it is neither a file nor a directory' -e '^$' || true; }
t0=$SECONDS

# ------------------------------------------------------------------------------------------ 1. Debian packages
[ -r /etc/debian_version ] || die "this setup needs a Debian-based system (Debian 12, Ubuntu 24.04)" \
  "elsewhere, install GNU Radio 3.10 with its Python bindings, then follow the steps in scripts/setup.sh by hand"
APT_PKGS=(gnuradio gnuradio-dev python3-uhd uhd-host python3-venv python3-dev python3-zmq cmake pkg-config
          build-essential git ffmpeg espeak-ng festival festvox-us-slt-hts xvfb x11-apps chromium firefox-esr gir1.2-gtk-3.0
          ${LGMTSC_EXTRA_APT:-})
# npm packs the Kokoro voice tables (kokoro-js); a Node.js that brings its own npm is kept
command -v npm >/dev/null || APT_PKGS+=(npm)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
      die "missing Debian packages: ${missing[*]} (installing them needs root)" \
        "run: sudo apt-get install -y --no-install-recommends ${missing[*]}   then run make setup again"
    fi
  fi
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get could not install: ${missing[*]}" "run the apt-get command by hand to see why"
fi
/usr/bin/python3 -c 'from gnuradio import gr' 2>/dev/null \
  || die "Debian's python3 cannot import GNU Radio" "reinstall: apt-get install --reinstall gnuradio python3-numpy"

# ------------------------------------------------------------------------------------------ 2. the venv
mkdir -p "$LGMTSC_HOME"
if [ ! -f "$VENV/.complete" ]; then
  free_kb=$(df -Pk "$LGMTSC_HOME" | awk 'NR==2 {print $4}')
  [ "$free_kb" -ge $((10 * 1024 * 1024)) ] || die "not enough disk space in $LGMTSC_HOME: $((free_kb / 1024)) MiB free, 10 GiB needed for the first setup" \
    "free space, or set LGMTSC_HOME to a larger disk"
  say "creating $VENV (first run: about 15 min, most of it compiling llama.cpp)"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
  PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q -c "$REPO/requirements/constraints.txt")
  [ -d /opt/wheels ] && PIP+=(--find-links /opt/wheels)
  say "installing pinned Python packages (requirements/host.txt)"
  "${PIP[@]}" -r "$REPO/requirements/host.txt" 2>&1 | quiet_pip
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "pip could not install requirements/host.txt" "see the messages above"
  # Resemblyzer declares the 2016 'typing' backport, which shadows the standard library's typing module
  # (Debian's python3 breaks when the venv's site-packages is on its path): it is never kept.
  "$VENV/bin/python" -m pip uninstall -y -q typing 2>&1 | quiet_pip
  say "installing llama-cpp-python (compiled once, then cached by pip)"
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "${PIP[@]}" -r "$REPO/requirements/llm.txt" 2>&1 | quiet_pip
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "pip could not build llama-cpp-python" "it needs build-essential and cmake"
  touch "$VENV/.complete"
fi
"$VENV/bin/python" - <<'EOF' || die "the venv is broken (see above)" "delete it and run make setup again: rm -rf $VENV"
import sys
import numpy
if int(numpy.__version__.split(".")[0]) >= 2:
    sys.exit(f"numpy {numpy.__version__} is installed: GNU Radio 3.10.5 needs numpy<2")
from gnuradio import gr  # noqa: F401
EOF
ln -sfn "$VENV" "$LGMTSC_HOME/venv"

# ------------------------------------------------------------------------------------------ 3. gr-lgmtsc + host package
BUILD="$REPO/build/gr-lgmtsc"
mkdir -p "$REPO/build"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
say "building gr-lgmtsc into the venv"
{
  cmake -S "$REPO/gr-lgmtsc" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DGR_PYTHON_DIR="$SITE" -DPython_EXECUTABLE="$VENV/bin/python" -DPYTHON_EXECUTABLE="$VENV/bin/python" &&
  cmake --build "$BUILD" -j "$(nproc)" && cmake --install "$BUILD"
} > "$REPO/build/gr-lgmtsc-build.log" 2>&1 || { tail -30 "$REPO/build/gr-lgmtsc-build.log" >&2;
  die "building gr-lgmtsc failed" "full log: build/gr-lgmtsc-build.log"; }
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e "$REPO" 2>&1 | quiet_pip

# ------------------------------------------------------------------------------------------ 4. models
if [ "$WITH_MODELS" = 1 ]; then
  "$VENV/bin/lgmtsc" models install || die "installing the models failed" "see the messages above"
fi
say "ready in $((SECONDS - t0)) s: $VENV (activate: source $LGMTSC_HOME/venv/bin/activate)"
