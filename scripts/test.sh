#!/usr/bin/env bash
# The test suite (run by `make test` after `make setup`): gr-lgmtsc's ctest QA, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" -k codec.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(bash "$REPO/scripts/setup.sh" --print-venv)"
export GRC_BLOCKS_PATH="$VENV/share/gnuradio/grc/blocks"
export PATH="$VENV/bin:$PATH" QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
status=0
if [ -d "$REPO/build/gr-lgmtsc" ]; then
  echo "== ctest (gr-lgmtsc QA)"
  (cd "$REPO/build/gr-lgmtsc" && ctest --output-on-failure) || status=1
fi
echo "== pytest"
(cd "$REPO" && "$VENV/bin/python" -m pytest "$@") || status=1
exit $status
