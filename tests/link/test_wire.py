"""Serialised PDUs are checked before pmt deserialises them: no allocation bombs, no stack-deep nesting."""

from __future__ import annotations

import numpy as np

from host_pipeline.link.zmq_client import wire_ok


def _pdu(payload):
    import pmt
    from gnuradio.lgmtsc import pdu_format as pf

    meta = {"version": 2, "mode": "semantic", "sender_id": 1, "seq": 5, "n_tokens": 3, "prompt_class": 2,
            "auth_tag": 2 ** 32 - 1, "snr_db": 12.5, "noise_var": np.ones(48, np.float32), "crc_ok": True,
            "sample_offset": 2 ** 63 + 5, "modulation": "qpsk", "header_ok": True}
    return pmt.serialize_str(pf.make_pdu(meta, payload))


def test_real_pdus_pass_and_every_truncation_or_extension_fails():
    for payload in (np.ones(48, np.complex64), np.arange(10, dtype=np.uint8), np.zeros(0, np.complex64)):
        b = _pdu(payload)
        assert wire_ok(b)
        assert not any(wire_ok(b[:k]) for k in range(len(b)))
        assert not wire_ok(b + b"\x00")


def test_bombs_are_refused_before_pmt_sees_them():
    import pmt

    huge = bytes.fromhex("0a0a") + (1 << 28).to_bytes(4, "big") + b"\x01\x00" + bytes(16)  # 2 GiB of c32
    deep = bytes([7, 6]) * 200_000 + b"\x06"  # frees with a stack overflow in pmt
    wide = b"\x08" + (1 << 31).to_bytes(4, "big")
    assert not any(wire_ok(b) for b in (huge, deep, wide, b"", b"\x63"))
    rng = np.random.default_rng(0)
    for _ in range(3000):  # whatever random bytes pass the check, pmt parses them without harm
        b = rng.bytes(int(rng.integers(0, 64)))
        if wire_ok(b):
            pmt.deserialize_str(b)
