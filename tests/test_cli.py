"""The command line as a user meets it: clear errors, no tracebacks, honest doctor."""

from __future__ import annotations

import pytest

from .conftest import run_cli


def test_bad_override_is_one_clear_line():
    r = run_cli("--set", "asr.beam_size=lots", "config", "show")
    assert r.returncode == 2
    assert "lgmtsc: error: asr.beam_size = 'lots' is not a valid int" in r.stderr and "Traceback" not in r.stderr


def test_missing_config_file():
    r = run_cli("--config", "/nonexistent/lgmtsc.toml", "config", "show")
    assert r.returncode == 2 and "configuration file not found" in r.stderr


def test_config_show_prints_every_section():
    r = run_cli("config", "show")
    assert r.returncode == 0
    for section in ("[models]", "[vad]", "[asr]", "[llm]", "[kb]", "[codec]", "[link]", "[publickb]", "[reconstruct]"):
        assert section in r.stdout


@pytest.mark.slow
def test_doctor_reports_a_healthy_setup():
    """After `make setup` every check passes on this machine; no radio is a normal, reported state."""
    r = run_cli("doctor", timeout=120)
    assert "FAIL" not in r.stdout, r.stdout
    assert r.returncode == 0 and "all checks passed" in r.stdout
    assert "USRP devices" in r.stdout


def test_global_options_work_before_and_after_the_command():
    r = run_cli("--set", "link.tx_address=tcp://10.0.0.1:5550", "config", "show",
                "--set", "link.feedback_address=tcp://10.0.0.2:5553")
    assert r.returncode == 0, r.stderr
    assert 'tx_address = "tcp://10.0.0.1:5550"' in r.stdout and 'feedback_address = "tcp://10.0.0.2:5553"' in r.stdout
    r = run_cli("config", "show", "--config", "/nonexistent/lgmtsc.toml")
    assert r.returncode != 0 and "/nonexistent/lgmtsc.toml" in r.stderr and "Traceback" not in r.stderr
