"""TTS: phoneme mapping, Kokoro synthesis (round-trip WER on real transcripts), festival (BERT-VITS2: its own file)."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from host_pipeline.errors import BackendError, ConfigError, InputError
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.phonemes import phonemize
from host_pipeline.reconstruct.tts import FestivalTts, Voice


def test_phonemes_use_only_kokoro_symbols(kokoro):
    ph = phonemize("Lord, but I'm glad to see you again, Phil. The button is little; it's 1990!")
    assert ph.count(",") >= 2 and "." in ph and ";" in ph
    assert all(c in kokoro.vocab for c in ph), [c for c in ph if c not in kokoro.vocab]
    assert "I" in ph and "ˈ" in ph  # the diphthong of "I'm" and stress marks survive


def test_a_language_without_a_phonemiser_is_a_clear_error():
    with pytest.raises(ConfigError, match="language"):
        phonemize("bonjour", "fr")
    assert phonemize("你好", "zh") == "ni↓xau↓"  # Mandarin has one (tests/reconstruct/test_voice.py)


def test_speech_has_ordered_timings_within_the_audio(speech):
    assert speech.sample_rate == 24000 and 2.5 < speech.duration_s < 6.0
    t = speech.phoneme_timings
    assert len(t) > 30
    starts = np.array([p.start for p in t])
    ends = np.array([p.end for p in t])
    assert (np.diff(starts) >= -1e-9).all() and (ends >= starts).all() and ends[-1] <= speech.duration_s + 1e-6
    # the first vowel starts after the leading silence and the audio there is louder than the silence
    sr = speech.sample_rate
    lead = np.abs(speech.audio[: int(t[0].start * sr)]).mean() if t[0].start > 0.02 else 0.0
    body = np.abs(speech.audio[int(t[0].start * sr): int(t[-1].end * sr)]).mean()
    assert body > 3 * lead


@pytest.mark.slow
def test_pitch_factor_shifts_f0_and_keeps_duration(kokoro):
    from host_pipeline.publickb.voice import f0_track

    text = "Lord, but I'm glad to see you again."
    a = kokoro.synthesize(text, Voice({"jm_kumo": 1.0}))
    b = kokoro.synthesize(text, Voice({"jm_kumo": 1.0}, pitch=1.25))
    fa, fb = f0_track(a.audio, a.sample_rate), f0_track(b.audio, b.sample_rate)
    ratio = np.median(fb[fb > 0]) / np.median(fa[fa > 0])
    assert 1.12 < ratio < 1.4
    assert abs(b.duration_s - a.duration_s) < 0.25 * a.duration_s


@pytest.mark.slow
def test_round_trip_wer_of_real_transcripts(kokoro, real_data):
    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig
    from host_pipeline.reconstruct.tts import _resample
    from host_pipeline.textnorm import word_errors

    rows = list(csv.DictReader(open(real_data / "speech" / "transcripts.tsv", encoding="utf-8"), delimiter="\t"))
    texts = [r["transcript"] for r in rows if r["speaker"].startswith("arctic")][1:4]
    asr = load_asr(AsrConfig())
    errs = refs = 0
    for text in texts:
        s = kokoro.synthesize(text, kokoro.default_voice())
        hyp = asr.recognize(_resample(s.audio, 16000 / s.sample_rate), [], "en").text
        e, n = word_errors(text, hyp)
        errs, refs = errs + e, refs + n
    # these hold a rare name ("Whittemore") and a British/American spelling pair: one or two errors each at most
    assert errs / refs <= 0.20, f"round-trip WER {errs / refs:.1%}"


@pytest.mark.skipif(not shutil.which("festival"),
                    reason="festival is not installed (apt-get install festival festvox-us-slt-hts)")
@pytest.mark.slow
def test_matched_voice_stays_intelligible(kokoro, obama, real_data):
    """The voice matched to a real enrolled speaker keeps round-trip WER within the 5 % target on real text."""
    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig
    from host_pipeline.reconstruct.tts import _resample
    from host_pipeline.reconstruct.voicematch import match_voice
    from host_pipeline.textnorm import word_errors

    voice, report = match_voice(kokoro, obama.voice)
    assert report["harvard_wer"] <= ReconstructConfig().voice_max_wer
    rows = list(csv.DictReader(open(real_data / "speech" / "transcripts.tsv", encoding="utf-8"), delimiter="\t"))
    plain = {"LJ001-0009.wav", "LJ001-0011.wav", "LJ001-0016.wav"}  # no names, numbers or spelling variants
    texts = [r["transcript"] for r in rows if r["file"] in plain]
    asr = load_asr(AsrConfig())
    errs = refs = 0
    for text in texts:
        s = kokoro.synthesize(text, voice)
        e, n = word_errors(text, asr.recognize(_resample(s.audio, 16000 / s.sample_rate), [], "en").text)
        errs, refs = errs + e, refs + n
    assert errs / refs <= 0.05, f"round-trip WER {errs / refs:.1%} with {voice.to_dict()}"


def test_festival_speaks_with_segment_times():
    s = FestivalTts().synthesize("Hello there, my friend.")
    assert s.duration_s > 0.8 and len(s.phoneme_timings) > 8
    assert np.abs(s.audio).max() > 0.05
    assert s.phoneme_timings[-1].end == pytest.approx(s.duration_s, abs=0.3)


def test_festival_missing_is_a_backend_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BackendError, match="festival"):
        FestivalTts()


def test_empty_text_is_an_input_error(kokoro):
    with pytest.raises(InputError):
        kokoro.synthesize("   ")


def test_float_convolutions_give_the_same_speech_in_less_cpu_time(kokoro, tmp_path):
    """The ConvInteger -> float Conv rewrite is exact (same integer results) and at least 1.5x cheaper in CPU."""
    import time

    import onnx
    import onnxruntime as ort

    from host_pipeline.models import ModelCache
    from host_pipeline.reconstruct.onnx_rewrite import fast_kokoro_model

    src = ModelCache().path("kokoro-82m") / "model.onnx"
    fast = fast_kokoro_model(src, cache_dir=tmp_path)
    assert fast != src and fast_kokoro_model(src, cache_dir=tmp_path) == fast  # built once, then reused
    ids = [kokoro.vocab[c] for c in "ðə bˈɑks wʌz θɹˈOn bɪsˈId ðə pˈɑɹkt tɹˈʌk." if c in kokoro.vocab]
    feeds = {"tokens": np.array([[0, *ids, 0]], np.int64), "style": kokoro._style(kokoro.default_voice(), len(ids)),
             "speed": np.array([1.0], np.float32)}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    audio, cpu = [], []
    for path in (src, fast):
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        assert ("ConvInteger" in {n.op_type for n in onnx.load(str(path)).graph.node}) == (path == src)
        sess.run(None, feeds)
        c0 = time.process_time()
        audio.append(sess.run(None, feeds)[0].reshape(-1))
        cpu.append(time.process_time() - c0)
    assert audio[0].size == audio[1].size and audio[0].size > 24000
    assert np.linalg.norm(audio[1] - audio[0]) <= 1e-3 * np.linalg.norm(audio[0])
    assert cpu[1] < cpu[0] / 1.5, f"CPU s: int8 {cpu[0]:.2f}, float convs {cpu[1]:.2f}"


def test_text_starting_with_a_dash_is_spoken_not_taken_for_an_option():
    assert len(phonemize("-5 degrees outside, stay warm")) > len(phonemize("outside, stay warm")) + 5


def test_phoneme_runs_without_spaces_are_cut_to_the_model_limit(kokoro):
    run = "hˈɛloʊ-wˈɜːld-ɐɡˈɛn-" * 60  # one clause, no space to cut at
    chunks = kokoro._chunks(run)
    assert all(len(c) <= kokoro.MAX_TOKENS for c in chunks) and "".join(chunks) == run.strip()


def test_durations_output_leaves_the_audio_bit_identical(kokoro, tmp_path):
    """The rewrite of the shipped graph (no float convolutions) only adds the ``durations`` output: same audio
    bits, and the frame counts account for every sample (600 samples a frame at 24 kHz)."""
    import onnxruntime as ort

    from host_pipeline.models import ModelCache
    from host_pipeline.reconstruct.onnx_rewrite import DURATIONS, KOKORO_SAMPLES_PER_FRAME, kokoro_model

    src = ModelCache().path("kokoro-82m") / "model.onnx"
    dur = kokoro_model(src, float_conv=False, cache_dir=tmp_path)
    ids = [kokoro.vocab[c] for c in "bˈɪn nˈW." if c in kokoro.vocab]
    feeds = {"tokens": np.array([[0, *ids, 0]], np.int64), "style": kokoro._style(kokoro.default_voice(), len(ids)),
             "speed": np.array([1.0], np.float32)}
    a0 = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)
    sess = ort.InferenceSession(str(dur), providers=["CPUExecutionProvider"])
    a1, d = sess.run(["audio", DURATIONS], feeds)
    assert len(a0) == 1 and np.array_equal(a0[0], a1)
    assert d.shape == (1, len(ids) + 2) and (d >= 1).all()
    assert d.sum() * KOKORO_SAMPLES_PER_FRAME == a1.size


def test_kokoro_timings_come_from_its_own_durations(kokoro, speech):
    """The timings of ``KokoroTts.synthesize`` are the model's frame counts (lead removed, sounds before a pause
    ended at the silence): rebuilt here from the duration output, monotonic, one per symbol, inside the audio."""
    from host_pipeline.reconstruct.onnx_rewrite import KOKORO_SAMPLES_PER_FRAME
    from host_pipeline.reconstruct.phonemes import STRESS, end_at_silence, timings_from_durations
    from host_pipeline.reconstruct.tts import KOKORO_LEAD_S

    syms = [c for c in phonemize(speech.text) if c in kokoro.vocab]
    a, d = kokoro.session.run(["audio", "durations"], {
        "tokens": np.array([[0, *[kokoro.vocab[c] for c in syms], 0]], np.int64),
        "style": kokoro._style(Voice({"jm_kumo": 1.0}), len(syms)), "speed": np.array([1.0], np.float32)})
    assert abs(int(d.sum()) * KOKORO_SAMPLES_PER_FRAME - speech.audio.size) < KOKORO_SAMPLES_PER_FRAME
    frame_s = KOKORO_SAMPLES_PER_FRAME / kokoro.SAMPLE_RATE
    want = end_at_silence(timings_from_durations(syms, d, frame_s, KOKORO_LEAD_S), a.reshape(-1), 24000)
    got = speech.phoneme_timings
    assert [(p.symbol, round(p.start, 6), round(p.end, 6)) for p in got] == \
        [(p.symbol, round(p.start, 6), round(p.end, 6)) for p in want]
    assert [p.symbol for p in got] == [c for c in syms if c not in STRESS]  # every phoneme, spaces, punctuation
    s, e = np.array([p.start for p in got]), np.array([p.end for p in got])
    assert (np.diff(s) >= 0).all() and (e >= s).all() and np.allclose(s[1:], e[:-1])  # contiguous, in order
    assert 0 < s[0] < 0.6 and e[-1] <= speech.duration_s


def test_timings_from_durations_hand_stress_and_spaces_to_neighbours():
    from host_pipeline.reconstruct.phonemes import timings_from_durations

    # pad 4 | b 2 | ˈ 2 | ɪ 2 | n 2 | ' ' 2 | b 2 | ˈ 1 | u 3 | . 4 | pad 1   (frames of 0.025 s)
    t = timings_from_durations("bˈɪn bˈu.", [4, 2, 2, 2, 2, 2, 2, 1, 3, 4, 1], 0.025)
    got = [(p.symbol, round(p.start / 0.025, 3), round(p.end / 0.025, 3)) for p in t]
    assert got == [("b", 4, 6), ("ɪ", 6, 10), ("n", 10, 13), (" ", 13, 13), ("b", 13, 16), ("u", 16, 20),
                   (".", 20, 24)]
    shifted = timings_from_durations("bˈɪn bˈu.", [4, 2, 2, 2, 2, 2, 2, 1, 3, 4, 1], 0.025, lead_s=0.05)
    assert shifted[0].start == pytest.approx(0.05) and shifted[-1].end == pytest.approx(0.55)
    with pytest.raises(ValueError):
        timings_from_durations("ab", [1, 2, 3], 0.025)
    zh = timings_from_durations("ni↓", [2, 1, 3, 2, 1], 0.025)  # the tone mark's frames go to its nucleus
    assert [(p.symbol, round(p.start / 0.025, 3), round(p.end / 0.025, 3)) for p in zh] == [("n", 2, 3), ("i", 3, 8)]
