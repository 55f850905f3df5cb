#!/usr/bin/env bash
# The test suite (run by `make test` after `make setup`): gr-lgmtsc's ctest QA, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" -k codec.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(bash "$REPO/scripts/setup.sh" --print-venv)"
export GRC_BLOCKS_PATH="$VENV/share/gnuradio/grc/blocks"
export PATH="$VENV/bin:$PATH" QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
status=0
echo "== ctest (gr-lgmtsc QA)"
if [ -f "$REPO/build/gr-lgmtsc/CTestTestfile.cmake" ]; then
  (cd "$REPO/build/gr-lgmtsc" && ctest --output-on-failure --no-tests=error) || status=1
else
  echo "test: error: build/gr-lgmtsc has no ctest build, so gr-lgmtsc's QA cannot run" >&2
  echo "  hint: make setup (or: bash scripts/setup.sh --no-models) builds it" >&2
  status=1
fi
echo "== pytest"
(cd "$REPO" && "$VENV/bin/python" -m pytest --durations=10 "$@") || status=1
exit $status
