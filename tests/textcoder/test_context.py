"""Conversation context of the LM coder's link format: messages coded after the earlier messages the receiver
holds, named by sequence numbers; a lost message or a receiver that lost its history never leaves later messages
undecodable, and a receiver without the named context refuses instead of decoding other text."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from host_pipeline.paths import real_data_dir
from host_pipeline.textcoder.arith import ArithmeticDecoder, ArithmeticEncoder, cumulative
from host_pipeline.textcoder.coder import ContextMissing, LinkContext, TextCoder, TextCoderMismatch
from host_pipeline.textcoder.context import ContextPrewarmer, ReceiverConversations, SenderConversation
from host_pipeline.textcoder.corpus import transcripts

LJ = [s.text for s in transcripts() if s.id.startswith("LJ") and len(s.text) < 90]  # 11 consecutive-ish, short
GRID = [ln.split("\t")[2] for ln in (real_data_dir() / "video" / "grid" / "transcripts.tsv").read_text()
        .splitlines()[1:] if ln.strip()]  # 10 short sentences of one grammar


def _send(coder, tx: SenderConversation, seq: int, text: str) -> tuple[bytes, tuple[int, ...]]:
    msg, used = coder.encode_link_info(text, tx.context(seq))
    tx.sent(seq, text)
    return msg, used


def _receive(coder, rx: ReceiverConversations, seq: int, msg: bytes, sid: int = 1) -> str:
    text = coder.decode_link(msg, coder.link_model_id, rx.context(sid, seq)).text
    rx.add(sid, seq, text)
    return text


def test_context_round_trip_and_gain(small_lm):
    """Four LJ sentences, every report back before the next message: each decodes exactly after the
    same earlier messages the sender named, and the conversation is shorter than the messages coded alone."""
    assert small_lm.uses_context
    tx, rx = SenderConversation(), ReceiverConversations()
    alone = with_ctx = 0
    for seq, text in enumerate(LJ[:4], 10):
        msg, used = _send(small_lm, tx, seq, text)
        assert used == tuple(range(10, seq))  # all earlier ones, within the block 0-15
        got = small_lm.decode_link(msg, small_lm.link_model_id, rx.context(1, seq))
        assert got.text == text and got.context == used
        rx.add(1, seq, got.text)
        tx.report(seq, True)
        with_ctx += len(msg)
        alone += len(small_lm.encode_link(text))  # no held messages: no context
    assert with_ctx < alone


def test_lost_message_does_not_break_the_next(small_lm):
    """Message 2 never arrives (no report): message 3 is coded after message 1 only, and decodes; a message whose
    report is late (3's) is simply left out of 4's context, which then starts after the gap."""
    tx, rx = SenderConversation(), ReceiverConversations()
    m1, _ = _send(small_lm, tx, 1, GRID[4])
    assert _receive(small_lm, rx, 1, m1) == GRID[4]
    tx.report(1, True)
    _send(small_lm, tx, 2, GRID[5])  # lost on the air
    m3, used3 = _send(small_lm, tx, 3, GRID[6])
    assert used3 == (1,)
    assert _receive(small_lm, rx, 3, m3) == GRID[6]
    m4, used4 = _send(small_lm, tx, 4, GRID[7])  # 3's report not back yet
    assert used4 == (1,) and _receive(small_lm, rx, 4, m4) == GRID[7]
    tx.report(3, True)
    tx.report(4, True)
    m5, used5 = _send(small_lm, tx, 5, GRID[8])
    assert used5 == (3, 4) and _receive(small_lm, rx, 5, m5) == GRID[8]  # a run after the gap: offset coded


def test_receiver_without_context_refuses_and_the_link_recovers(small_lm):
    """A receiver that lost its history (restarted) refuses the next message with ``ContextMissing`` naming what it
    lacks, never decodes it to other text; its unverified report makes the sender forget, and the next message
    decodes."""
    tx, rx = SenderConversation(), ReceiverConversations()
    for seq in (1, 2):
        m, _ = _send(small_lm, tx, seq, GRID[seq])
        _receive(small_lm, rx, seq, m)
        tx.report(seq, True)
    m3, used = _send(small_lm, tx, 3, GRID[3])
    assert used == (1, 2)
    fresh = ReceiverConversations()
    with pytest.raises(ContextMissing) as e:
        _receive(small_lm, fresh, 3, m3)
    assert e.value.missing == [1, 2] and "1-2" in e.value.message
    with pytest.raises(ContextMissing):  # no conversation given at all
        small_lm.decode_link(m3, small_lm.link_model_id)
    tx.report(3, False)  # the receiver reports it unverified
    assert tx.resets == 1
    m4, used4 = _send(small_lm, tx, 4, GRID[0])
    assert used4 == () and _receive(small_lm, fresh, 4, m4) == GRID[0]


def test_block_restart_and_context_setting_in_the_model_id(small_lm):
    """The context restarts at each block of ``context_messages`` seqs; two ends that disagree on the context
    settings refuse each other's LM messages (the association's ``text_model`` differs)."""
    held = {q: LJ[q % len(LJ)] for q in range(20, 36)}
    assert small_lm.choose_context(LinkContext(36, held))[2] == list(range(32, 36))
    d, offset, seqs = small_lm.choose_context(LinkContext(34, {q: t for q, t in held.items() if q != 31}))
    assert (d, offset, seqs) == (1, 0, [32, 33])
    assert small_lm.choose_context(LinkContext(40, {})) == (0, 0, [])
    off = TextCoder(dataclasses.replace(small_lm.cfg, context=False))
    assert not off.uses_context and off.link_model_id != small_lm.link_model_id
    msg = small_lm.encode_link(LJ[0])
    with pytest.raises(TextCoderMismatch):
        off.decode_link(msg, small_lm.link_model_id)


def test_kv_cache_history_does_not_change_the_code(small_lm):
    """The same message and context code to the same bytes whatever the LM's cache held before (another
    context, no context, a longer one)."""
    ctx = LinkContext(5, {3: LJ[0], 4: LJ[1]})
    ref = small_lm.encode_link(LJ[3], ctx)
    small_lm.encode_link(LJ[5])  # cache: the prefix and another message
    assert small_lm.encode_link(LJ[3], ctx) == ref
    small_lm.encode_link(LJ[5], LinkContext(6, {3: LJ[0], 4: LJ[1], 5: LJ[3]}))  # a longer sequence cached
    assert small_lm.decode_link(ref, None, ctx).text == LJ[3]
    warm = ContextPrewarmer(small_lm)  # the context evaluated ahead, on another thread
    warm.request(ctx)
    deadline = time.monotonic() + 5
    while warm.done < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert warm.done == 1 and small_lm.encode_link(LJ[3], ctx) == ref
    assert small_lm.prepare_link(LinkContext(5, {})) == 0


def test_arithmetic_ending_is_shortest_and_exact():
    """The encoder ends with the fewest bits that the decoder's zeros complete; every symbol comes back, with
    all trailing zero bytes dropped."""
    rng = np.random.default_rng(7)
    for trial in range(400):
        n = int(rng.integers(2, 200))
        freq = rng.integers(1, 500, n)
        freq[int(rng.integers(0, n))] += int(rng.integers(0, 10 ** 6))
        cum = cumulative(freq)
        syms = rng.choice(n, int(rng.integers(0, 30)), p=freq / freq.sum())
        enc = ArithmeticEncoder()
        for x in syms:
            enc.encode(cum, int(x))
        data = enc.finish().rstrip(b"\0")
        dec = ArithmeticDecoder(data)
        assert [dec.decode(cum) for _ in syms] == list(syms), trial
