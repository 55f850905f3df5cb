"""The receiver host with the text coder's conversation context (digital mode): messages coded after earlier ones
decode; a receiver that lost its history (a restart) records the message undecodable with the reason and reports it
unverified, so the transmitter restarts its context and the next message decodes. Small LM (SmolLM2-135M)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from host_pipeline.link.auth import compute_tag, contract
from host_pipeline.link.crypto import encrypt_digital
from host_pipeline.link.feedback import parse_report
from host_pipeline.textcoder.context import ReceiverConversations, SenderConversation

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
TEXTS = ["Lord, but I'm glad to see you again, Phil.", "Will we ever forget it.",
         "I'm playing a single hand in what looks like a losing game.", "Not at this particular case, Tom."]


@pytest.fixture
def receiver(make_receiver):
    return make_receiver("link.mode=digital", "textcoder.lm_model=smollm2-135m", "textcoder.fallback_static=false")


def _digital(coder, conv: SenderConversation, key, seq: int, text: str):
    """As the transmitter sends it: coded after what the receiver holds, enciphered, tagged."""
    data = coder.encode_link(text, conv.context(seq))
    conv.sent(seq, text)
    meta = {"version": contract.FORMAT_VERSION, "mode": "digital", "sender_id": key.sender_id, "seq": seq,
            "n_tokens": len(data), "prompt_class": contract.PromptClass.HIGH, "flags": 0, "modulation": "qpsk",
            "fec": "cc", "payload_crc": False, "text_model": coder.link_model_id}
    content = encrypt_digital(key.key, key.sender_id, seq, data)
    meta["auth_tag"] = compute_tag(key.key, meta, content)
    meta["snr_db"] = 12.0
    return meta, np.frombuffer(content, dtype=np.uint8)


def _feed(sub, conv: SenderConversation) -> list[tuple[int, bool]]:
    got = []
    while sub.poll(300):
        r = parse_report(sub.recv())
        conv.report(r["seq"], r["verified"])
        got.append((r["seq"], r["verified"]))
    return got


def test_context_through_the_receiver_host_and_recovery_after_it_lost_its_history(receiver):
    rx, alice, sub = receiver
    coder = rx.text_coder()
    assert coder.uses_context
    conv = SenderConversation()
    for seq in (1, 2):
        rec = rx.handle(*_digital(coder, conv, alice, seq, TEXTS[seq - 1]), 0.0)
        assert rec.status == "ok" and rec.received_text == TEXTS[seq - 1]
        assert _feed(sub, conv) == [(seq, True)]
    rx.conversations = ReceiverConversations()  # the receiver restarted: its history is gone
    rec = rx.handle(*_digital(coder, conv, alice, 3, TEXTS[2]), 0.0)
    assert rec.status == "undecodable" and "does not hold 2 of them (1, 2)" in rec.reason and not rec.received_text
    assert _feed(sub, conv) == [(3, False)]  # the tag verified, the text was not decoded: reported unverified
    rec = rx.handle(*_digital(coder, conv, alice, 4, TEXTS[3]), 0.0)
    assert rec.status == "ok" and rec.received_text == TEXTS[3]
