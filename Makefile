# LGM-TSC on GNU Radio: the one entry point. `make help` lists the targets.
SHELL := /bin/bash
VENV = $(shell bash scripts/setup.sh --print-venv)
LGMTSC = $(VENV)/bin/lgmtsc

.PHONY: help setup test test-fast demo lab grc doctor clean
DEMO_ARGS ?=
LAB_ARGS ?=
GRC_FILES ?=

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## install everything (Debian packages, venv, gr-lgmtsc, models); quick when nothing changed
	@bash scripts/setup.sh

test: setup  ## run the whole test suite (ctest QA of gr-lgmtsc + pytest, slow tests included)
	@bash scripts/test.sh

test-fast: setup  ## the tests without the slow end-to-end ones
	@bash scripts/test.sh -m "not slow"

demo: setup  ## the sample through the whole system and the GNU Radio loopback link -> out/demo, live at http://127.0.0.1:8765/ (DEMO_ARGS="--snr 3" overrides)
	@$(LGMTSC) loopback samples/demo/talking_face_demo.mp4 --user demo-speaker --enroll --hotwords Whittemore Philip \
		--out out/demo --channel awgn --snr 12 --view $(DEMO_ARGS)

lab: setup  ## the PHY lab flowgraph (Qt): constellations, spectrum, SNR (LAB_ARGS="--channel rayleigh --snr 10")
	@$(LGMTSC) lab $(LAB_ARGS)

grc: setup  ## GNU Radio Companion with the gr-lgmtsc blocks (GRC_FILES="grc_flowgraphs/lgmtsc_lab_gui.grc")
	@$(LGMTSC) grc $(GRC_FILES)

doctor: setup  ## check every component on this machine
	@$(LGMTSC) doctor

clean:  ## remove the in-tree build directory (the venv and models under LGMTSC_HOME stay)
	rm -rf build
