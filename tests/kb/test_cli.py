"""``lgmtsc kb``: facts managed from the command line, as a user would (subprocess, own data directory)."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_add_list_remove_classify(tmp_path):
    env = {"LGMTSC_DATA": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    r = run_cli("kb", "add-fact", "--user", "alice", "Alice has a young child.", "Alice is a nurse.", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "kb.sqlite").exists()
    r = run_cli("kb", "list", "--user", "alice", env=env)
    assert r.stdout.splitlines() == ["1\talice\tAlice has a young child.", "2\talice\tAlice is a nurse."]
    assert run_cli("kb", "remove", "--user", "alice", "--id", "1", env=env).returncode == 0
    assert run_cli("kb", "list", env=env).stdout.splitlines() == ["2\talice\tAlice is a nurse."]
    r = run_cli("kb", "remove", "--user", "alice", env=env)
    assert r.returncode == 4 and "--all" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("kb", "classify", "-5", "25", env=env)
    assert r.returncode == 0 and r.stdout.count("SNR") == 2 and "25 dB -> high" in r.stdout
