"""The typed configuration: defaults, TOML file, command-line overrides and their errors."""

from __future__ import annotations

import pytest

from host_pipeline.config import Config, load_config, to_toml
from host_pipeline.errors import ConfigError


def test_defaults_are_the_embedded_models(tmp_path, monkeypatch):
    monkeypatch.setenv("LGMTSC_CONFIG", str(tmp_path / "absent.toml"))
    cfg = load_config()
    assert cfg == Config()
    assert cfg.asr.backend == "whisper" and cfg.asr.model == "whisper-base" and cfg.vad.model == "fsmn-vad"


def test_file_then_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[asr]\nlanguage = "zh"\nbeam_size = 2\nhotwords = ["Whittemore"]\n[link]\nauth_budget = 7\n')
    cfg = load_config(f, ["asr.beam_size=4", "link.timeout_s=2.5", "asr.hotwords=Obama, Biden", "asr.language=none"])
    assert cfg.asr.beam_size == 4 and cfg.link.auth_budget == 7 and cfg.link.timeout_s == 2.5
    assert cfg.asr.hotwords == ["Obama", "Biden"] and cfg.asr.language is None


def test_toml_round_trip(tmp_path):
    cfg = load_config(None, ["asr.hotwords=a,b", "vad.merge_gap_ms=120", "link.auth_budget=3"])
    f = tmp_path / "out.toml"
    f.write_text(to_toml(cfg))
    assert load_config(f) == cfg


@pytest.mark.parametrize("override, message", [
    ("asr.beam_size=many", "not a valid int"),
    ("asr.backend=kaldi", "is not one of"),
    ("asr.nonsense=1", "unknown setting asr.nonsense"),
    ("nosection.key=1", "unknown setting nosection"),
    ("asr.beam_size", "bad override"),
])
def test_bad_overrides_are_clear(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_bad_file_types_are_clear(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[asr]\nbeam_size = \"five\"\n")
    with pytest.raises(ConfigError, match="asr.beam_size"):
        load_config(f)
    f.write_text("[asr\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(f)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
