"""The lossless text coder: exact round trips on real sentences, damaged messages caught, foreign models refused.

LM tests use the small SmolLM2-135M GGUF for the code paths and the embedded Qwen2.5-Coder-1.5B on two real
sentences (each costs a few seconds on a loaded 2-core machine)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from host_pipeline.errors import InputError, ModelError
from host_pipeline.textcoder.arith import ArithmeticDecoder, ArithmeticEncoder, cumulative
from host_pipeline.textcoder.coder import CorruptMessage, TextCoder, TextCoderMismatch
from host_pipeline.textcoder.config import TextCoderConfig
from host_pipeline.textcoder.corpus import evaluation_sentences, imdb_reviews, transcripts
from host_pipeline.textcoder.static_model import count_ngrams, save_table

NON_ASCII = ["你好，世界！今天天气很好。", "Grüße aus Köln 😀👍🏽 — naïve café", "emoji only: 🎉🎉🎉"]


def _flip(msg: bytes, bit: int) -> bytes:
    b = bytearray(msg)
    b[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(b)


def _assert_never_wrong(coder: TextCoder, msg: bytes, text: str, bits) -> int:
    """Flip each bit in ``bits``: the decoder must raise a clear error (or, impossible here, return ``text``)."""
    caught = 0
    for bit in bits:
        try:
            got = coder.decode(_flip(msg, bit))
        except (CorruptMessage, TextCoderMismatch):
            caught += 1
            continue
        assert got == text, f"bit {bit}: wrong text returned silently: {got!r}"
    return caught


# ------------------------------------------------------------------------------------------- arithmetic coder
def test_arithmetic_coder_round_trip_near_entropy():
    rng = np.random.default_rng(0)
    tables = [cumulative(rng.integers(1, 5000, size=rng.integers(2, 300))) for _ in range(40)]
    picks = rng.integers(0, len(tables), 3000)
    symbols = [(int(t), int(np.searchsorted(tables[t], rng.integers(0, tables[t][-1]), side="right")))
               for t in picks]
    enc = ArithmeticEncoder()
    for t, s in symbols:
        enc.encode(tables[t], s)
    data = enc.finish()
    dec = ArithmeticDecoder(data)
    assert [dec.decode(tables[t]) for t, _ in symbols] == [s for _, s in symbols]
    ideal = sum(-np.log2((tables[t][s] - (tables[t][s - 1] if s else 0)) / tables[t][-1]) for t, s in symbols)
    assert 8 * len(data) <= ideal + 16


def test_frequency_table_rejects_zero_frequency():
    with pytest.raises(ValueError):
        cumulative(np.array([3, 0, 2]))


# ------------------------------------------------------------------------------------------- static coder
def test_static_round_trip_on_real_sentences(static):
    sentences = evaluation_sentences()[:160]  # 39 transcripts, then SMS and IMDB alternately
    assert {s.source for s in sentences} == {"transcripts", "sms", "imdb"}
    bits = chars = 0
    for s in sentences:
        msg = static.encode(s.text, coder="static")
        assert static.decode_info(msg).coder == "static"
        assert static.decode(msg) == s.text
        bits, chars = bits + 8 * len(msg), chars + len(s.text)
    assert bits / chars < 3.5  # whole messages, header and CRC included


def test_static_meets_the_bits_per_char_target_on_transcripts(static):
    texts = [s.text for s in transcripts()]
    bits = sum(8 * len(static.encode(t, coder="static")) for t in texts)
    assert bits / sum(map(len, texts)) <= 3.5


@pytest.mark.parametrize("text", ["", *NON_ASCII])
def test_empty_and_non_ascii_round_trip(static, text):
    for coder in ("static", "utf8"):
        assert static.decode(static.encode(text, coder=coder)) == text
    assert static.decode(static.encode(text)) == text  # shortest-of choice


def test_very_long_text_round_trip(static):
    text = " ".join(t for _, t in imdb_reviews("eval")[:6])[:6000] + " " + NON_ASCII[0]
    msg = static.encode(text)
    assert static.decode(msg) == text
    assert len(msg) < len(text.encode()) / 2


def test_shortest_choice_never_worse_than_utf8(static):
    for text in ["ok", "Ok lar... Joking wif u oni...", "zqxj vvkw 7#@!"]:
        msg = static.encode(text)
        assert len(msg) <= len(static.encode(text, coder="utf8"))
        assert static.decode(msg) == text


def test_every_flipped_bit_is_caught_static(static):
    for s in (transcripts()[4], transcripts()[8]):
        msg = static.encode(s.text, coder="static")
        assert _assert_never_wrong(static, msg, s.text, range(8 * len(msg))) == 8 * len(msg)


def test_damaged_or_bad_messages_fail_clearly(static):
    msg = static.encode("Hello there, how are you?", coder="static")
    for bad in (b"", msg[:3], msg[:-1], b"\xff" + msg[1:]):
        with pytest.raises(CorruptMessage):
            static.decode(bad)
    with pytest.raises(InputError):
        static.decode("not bytes")
    with pytest.raises(InputError):
        static.encode(b"bytes")


def test_static_table_mismatch_refused(static, tmp_path):
    path = tmp_path / "other.npz"
    save_table(path, count_ngrams("\n".join(s.text for s in transcripts()).encode(), 2), {"corpus": "test"})
    other = TextCoder(TextCoderConfig(coder="static", static_table=str(path)))
    msg = static.encode("The two men shook hands.", coder="static")
    with pytest.raises(TextCoderMismatch, match="fingerprint"):
        other.decode(msg)


def test_corrupt_static_table_is_a_model_error(tmp_path):
    path = tmp_path / "t.npz"
    save_table(path, count_ngrams(b"abc abd abe\n", 2), {})
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelError):
        TextCoder(TextCoderConfig(coder="static", static_table=str(path)))


def test_crc32_option(static):
    coder = TextCoder(TextCoderConfig(coder="static", crc_bits=32))
    msg = coder.encode("Lord, but I'm glad to see you again, Phil.", coder="static")
    assert len(msg) == len(static.encode("Lord, but I'm glad to see you again, Phil.", coder="static")) + 2
    assert static.decode(msg) == "Lord, but I'm glad to see you again, Phil."  # the flag travels in the header


# ------------------------------------------------------------------------------------------- LM coder
def test_lm_round_trip_embedded_model_two_sentences():
    coder = TextCoder.load(TextCoderConfig(coder="lm", fallback_static=False))
    static_coder = TextCoder.load(TextCoderConfig(coder="static"))
    lm_bytes = static_bytes = 0
    for s in (transcripts()[4], transcripts()[8]):  # the two shortest (23 and 30 characters)
        msg = coder.encode(s.text, coder="lm")
        assert coder.decode_info(msg).coder == "lm"
        assert coder.decode(msg) == s.text
        lm_bytes += len(msg)
        static_bytes += len(static_coder.encode(s.text, coder="static"))
    assert lm_bytes < static_bytes


def test_lm_round_trip_across_thread_counts(small_lm):
    two = TextCoder(dataclasses.replace(small_lm.cfg, lm_threads=2))
    assert two.fingerprint == small_lm.fingerprint
    for s in evaluation_sentences()[39:42] + [transcripts()[0]]:
        assert two.decode(small_lm.encode(s.text, coder="lm")) == s.text


@pytest.mark.parametrize("text", ["", *NON_ASCII])
def test_lm_empty_and_non_ascii(small_lm, text):
    assert small_lm.decode(small_lm.encode(text, coder="lm")) == text


def test_lm_long_text_restarts_context_identically(small_lm):
    coder = TextCoder(dataclasses.replace(small_lm.cfg, lm_window=16))
    text = imdb_reviews("eval")[3][1][:400]
    msg = coder.encode(text, coder="lm")
    assert coder.decode(msg) == text
    with pytest.raises(TextCoderMismatch):  # the window is part of the model: another setting refuses
        small_lm.decode(msg)


def test_lm_flipped_bits_caught(small_lm):
    text = transcripts()[1].text
    msg = small_lm.encode(text, coder="lm")
    bits = np.random.default_rng(1).choice(8 * len(msg), size=12, replace=False)
    assert _assert_never_wrong(small_lm, msg, text, bits.tolist()) == 12


def test_lm_fingerprint_mismatch_refused_and_sender_falls_back(small_lm, static):
    msg = small_lm.encode("For the twentieth time that evening the two men shook hands.", coder="lm")
    with pytest.raises(TextCoderMismatch):
        TextCoder.load(TextCoderConfig(coder="lm", fallback_static=False)).decode(msg)  # Qwen receiver
    text = "The receiver holds no language model."
    sent = small_lm.encode(text, peer=static.fingerprints())
    assert static.decode_info(sent).coder == "static" and static.decode(sent) == text


def test_missing_lm_falls_back_to_static_or_fails_clearly(tmp_path):
    cfg = TextCoderConfig(coder="lm", lm_model=str(tmp_path / "absent.gguf"))
    coder = TextCoder(cfg)
    assert coder.coder == "static"
    assert coder.decode(coder.encode("still works")) == "still works"
    with pytest.raises(ModelError):
        TextCoder(dataclasses.replace(cfg, fallback_static=False))


# ------------------------------------------------------------------------------------------- evaluation
def test_eval_entropy_writes_csv_and_png(tmp_path, capsys):
    from host_pipeline.evaluation.entropy import run_entropy

    rc = run_entropy([], ["utf8", "gzip", "static"], TextCoderConfig(coder="static"), str(tmp_path), limit=12)
    assert rc == 0
    out = capsys.readouterr().out
    assert "bit/s" in out and "static" in out
    rows = (tmp_path / "entropy_summary.csv").read_text().splitlines()
    assert len(rows) == 4 and (tmp_path / "entropy.png").stat().st_size > 1000
    utf8, static_row = rows[1].split(","), rows[3].split(",")
    assert float(utf8[3]) == 8.0 and float(static_row[3]) < 4.0
