"""PDU helpers shared with the host: round trip through PMT serialisation."""
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)


def test_roundtrip_serialised():
    import pmt
    from gnuradio.lgmtsc import pdu_format as pf
    meta = {pf.KEY_VERSION: pf.FORMAT_VERSION, pf.KEY_MODE: "semantic", pf.KEY_SENDER_ID: 65535,
            pf.KEY_SEQ: 2 ** 32 - 1, pf.KEY_N_TOKENS: 3, pf.KEY_PROMPT_CLASS: 2, pf.KEY_AUTH_TAG: 2 ** 32 - 1,
            pf.KEY_CHECKPOINT: 65535,
            pf.KEY_CRC_OK: False, pf.KEY_SNR_DB: 12.5,
            pf.KEY_NOISE_VAR: np.array([0.1, 0.2], np.float32)}
    sym = (np.arange(5) + 1j).astype(np.complex64)
    wire = pmt.serialize_str(pf.make_pdu(meta, sym))
    m, p = pf.parse_pdu(pmt.deserialize_str(wire))
    np.testing.assert_array_equal(p, sym)
    for k, v in meta.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(m[k], v)
        else:
            assert m[k] == v and type(m[k]) is type(v), k
    m, p = pf.parse_pdu(pf.make_pdu({"a": 1}, np.arange(4, dtype=np.uint8)))
    assert p.dtype == np.uint8 and list(p) == [0, 1, 2, 3]


def test_contract_constants():
    from gnuradio.lgmtsc import pdu_format as pf
    assert pf.ZMQ_TX_IN.endswith(":5550") and pf.ZMQ_RX_OUT.endswith(":5551") and pf.ZMQ_SNR_OUT.endswith(":5552")
    assert set(pf.REQUIRED_TX_KEYS) == {"version", "mode", "sender_id", "seq", "n_tokens", "prompt_class",
                                        "auth_tag"}


def test_one_contract():
    """pdu_format (loadable alone) and header agree; the enums name what the hosts send."""
    from gnuradio.lgmtsc import header as H
    from gnuradio.lgmtsc import pdu_format as pf
    assert pf.FORMAT_VERSION == H.FORMAT_VERSION and pf.MODULATIONS == H.MODULATIONS and pf.FECS == H.FECS
    assert [m.label for m in H.Mode] == [pf.MODE_NAMES[i] for i in range(2)]
    assert [c.label for c in H.PromptClass] == ["low", "medium", "high"]
    assert H.HEADER_BITS <= 48 and H.HEADER_USES <= 96
    h = H.Header(H.Kind.DIGITAL, 123456, 200, H.PromptClass.MEDIUM)
    a = H.LinkAssociation(7, "16qam", "ldpc", 1, 0, 123400)
    meta = pf.message_meta(h, a, 5, 0)
    assert meta["seq"] == 123456 and meta["mode"] == "digital" and meta["payload_len"] == 200
    assert H.mac_input(meta) == H.mac_input(dict(meta, snr_db=3.0))
