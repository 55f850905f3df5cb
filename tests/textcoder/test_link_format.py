"""The text coder's link format (what the digital mode sends): no header and no CRC, its model named once per link
(``link_model_id``, the association's ``text_model``), its length given by the PHY, its integrity by the tag."""

from __future__ import annotations

import dataclasses

import pytest

from host_pipeline.textcoder.coder import CorruptMessage, TextCoder, TextCoderMismatch
from host_pipeline.textcoder.corpus import transcripts

NON_ASCII = ["你好，世界！今天天气很好。", "Grüße aus Köln 😀👍🏽 — naïve café", ""]


def test_static_link_round_trip_and_saving(static):
    """Every shared transcript back exactly; each message is at least 4 bytes shorter than the self-describing
    one (6 bytes of header and CRC-16, less the end symbol)."""
    saved = []
    for s in transcripts():
        msg = static.encode_link(s.text)
        got = static.decode_link(msg, static.link_model_id)
        assert got.text == s.text and got.coder in ("static", "utf8")
        saved.append(len(static.encode(s.text)) - len(msg))
    assert min(saved) >= 4, saved


@pytest.mark.parametrize("text", NON_ASCII)
def test_link_non_ascii_and_empty(static, text):
    msg = static.encode_link(text)
    assert len(msg) >= 1 and static.decode_link(msg, static.link_model_id).text == text


def test_link_model_id_mismatch_refused(static, small_lm):
    assert 0 < static.link_model_id < 1 << 16 and static.link_model_id != small_lm.link_model_id
    msg = static.encode_link(transcripts()[0].text)
    with pytest.raises(TextCoderMismatch):
        small_lm.decode_link(msg, static.link_model_id)
    forced = dataclasses.replace(static.cfg, shortest=False)
    assert TextCoder(forced).link_model_id == static.link_model_id   # the id names models, not the choice


def test_link_damage_fails_clearly_or_decodes_to_other_text(static):
    """Without a CRC, damage is either caught (the decoder runs past the end, or the bytes are not UTF-8:
    ``CorruptMessage``) or decodes to other text, which the link's tag rejects before the coder sees it. Never
    another exception, never a hang."""
    import numpy as np

    text = transcripts()[2].text
    msg = static.encode_link(text)
    rng = np.random.default_rng(3)
    caught = 0
    for k in range(40):
        bad = msg[: len(msg) // 3] if k == 0 else bytes(rng.integers(0, 256, int(rng.integers(1, 40)), np.uint8))
        try:
            assert static.decode_link(bad).text != text
        except (CorruptMessage, TextCoderMismatch):   # most random first symbols name the LM, which it lacks
            caught += 1
    assert caught >= 5
    with pytest.raises(CorruptMessage):
        static.decode_link(b"")


def test_lm_link_round_trip(small_lm):
    for s in (transcripts()[4], transcripts()[8]):   # the two shortest
        msg = small_lm.encode_link(s.text)
        got = small_lm.decode_link(msg, small_lm.link_model_id)
        assert got.text == s.text
        assert len(msg) < len(small_lm.encode(s.text))
