#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""PDU contract of gr-lgmtsc: key names, ports and ZeroMQ defaults.

Defined once here; the blocks, the tests and the host side (host_pipeline/link) import these names. The air
format behind the keys (bit layouts, enumerations, ranges, the MAC input) is ``header.py``: a message header
per burst (seq, length, prompt class, kind) and a link association (version, sender, modulation, FEC, codec
uses per token and checkpoint) that burst_tx sends before the first message, when it changes, every
``header.ASSOC_EVERY`` messages and before a message whose metadata sets ``associate``. This file imports
nothing from GNU Radio (nor the package) at module level so a host can load it by path; the pmt helpers import
``pmt`` lazily.
"""

import numpy as np

FORMAT_VERSION = 3   # = header.FORMAT_VERSION (this file is loadable on its own)

# --- TX-in / RX-out metadata keys -------------------------------------------
KEY_VERSION = "version"            # format version (association)
KEY_MODE = "mode"                  # "semantic" / "digital" (or 0 / 1)                        (header: kind)
KEY_SENDER_ID = "sender_id"        # u16                                                      (association)
KEY_SEQ = "seq"                    # u32; 9 low bits on air, extended by the receiver         (header)
KEY_N_TOKENS = "n_tokens"          # tokens (semantic) / payload bytes (digital), <= 1023    (header: length)
KEY_PROMPT_CLASS = "prompt_class"  # 0..2 (low / medium / high SNR class)                     (header)
KEY_AUTH_TAG = "auth_tag"          # u32, the sender's MAC, opaque to the PHY                 (tag block)
# optional on TX (association; defaults: the burst_tx parameters, payload size / n_tokens, 0)
KEY_MODULATION = "modulation"      # "bpsk" / "qpsk" / "16qam" (digital payload)
KEY_FEC = "fec"                    # "none" / "cc" / "ldpc" (digital payload)
KEY_USES_PER_TOKEN = "uses_per_token"  # semantic payload symbols per token (1..255)
KEY_CHECKPOINT = "checkpoint"      # u16 id of the semantic codec checkpoint (header.checkpoint_id)
KEY_TEXT_MODEL = "text_model"      # u16 id of the text coder's models (digital payload; 0 unspecified)
KEY_PAYLOAD_CRC = "payload_crc"    # bool, default True: the digital payload carries a CRC32
KEY_ASSOCIATE = "associate"        # bool, default False: send the link association before this message (the
# transmitter host asks when the receiver has not reported on an earlier message: its association may be lost)
KEY_PREAMBLE = "preamble"          # "long" (default) / "short": the short burst format (86-symbol preamble, header
# and tag block in 16-QAM) for a link whose recent authenticated SNR reports are high (waveform.PREAMBLES; detection
# measured from Es/N0 8 dB, header and tag decoding >= 99.9 % from 10 dB, docs/phy.md)
PREAMBLE_LONG = "long"
PREAMBLE_SHORT = "short"
# RX-out only
KEY_PAYLOAD_LEN = "payload_len"    # symbols (semantic) or bytes (digital)
KEY_SNR_DB = "snr_db"              # float, Es/N0 estimate in dB (calibrated)
KEY_SNR_DB_RAW = "snr_db_raw"      # float, before calibration
KEY_NOISE_VAR = "noise_var"        # f32vector, one per payload symbol
KEY_CFO = "cfo"                    # float, cycles per sample
KEY_CFO_HZ = "cfo_hz"              # float, cfo * samp_rate
KEY_SAMPLE_OFFSET = "sample_offset"  # u64, absolute index of the burst start
KEY_RX_TIME = "rx_time"            # float seconds = sample_offset / samp_rate
KEY_CRC_OK = "crc_ok"              # bool (digital mode with payload_crc; absent without)
KEY_HEADER_OK = "header_ok"        # bool (always True on emitted PDUs)

REQUIRED_TX_KEYS = (KEY_VERSION, KEY_MODE, KEY_SENDER_ID, KEY_SEQ,
                    KEY_N_TOKENS, KEY_PROMPT_CLASS, KEY_AUTH_TAG)

MODE_SEMANTIC = 0
MODE_DIGITAL = 1
MODE_NAMES = {MODE_SEMANTIC: "semantic", MODE_DIGITAL: "digital"}
MODE_IDS = {v: k for k, v in MODE_NAMES.items()}

MODULATIONS = ("bpsk", "qpsk", "16qam")   # index = association code (= header.MODULATIONS)
FECS = ("none", "cc", "ldpc")             # index = association code (= header.FECS)

# --- message ports ------------------------------------------------------------
PORT_IN = "in"        # burst_tx input
PORT_PDUS = "pdus"    # burst_rx output
PORT_SNR = "snr"      # burst_rx SNR reports

# --- ZeroMQ contract (flowgraph binds, host connects) ---------------------------
ZMQ_TX_IN = "tcp://127.0.0.1:5550"    # host PUSH -> flowgraph pdu_pull_source
ZMQ_RX_OUT = "tcp://127.0.0.1:5551"   # flowgraph pub_msg_sink -> host SUB
ZMQ_SNR_OUT = "tcp://127.0.0.1:5552"  # flowgraph pub_msg_sink -> host SUB


def message_meta(hdr, assoc, tag, n_payload_symbols):
    """RX metadata of a decoded message: header + association fields (``header.Header``, ``LinkAssociation``)."""
    digital = int(hdr.kind) == MODE_DIGITAL
    return {KEY_VERSION: assoc.version, KEY_MODE: MODE_NAMES[int(hdr.kind)], KEY_SENDER_ID: assoc.sender_id,
            KEY_SEQ: int(hdr.seq), KEY_N_TOKENS: int(hdr.length), KEY_PROMPT_CLASS: int(hdr.prompt_class),
            KEY_AUTH_TAG: int(tag), KEY_MODULATION: assoc.modulation, KEY_FEC: assoc.fec,
            KEY_USES_PER_TOKEN: assoc.uses_per_token, KEY_CHECKPOINT: assoc.checkpoint,
            KEY_TEXT_MODEL: assoc.text_model, KEY_PAYLOAD_CRC: bool(assoc.payload_crc),
            KEY_PAYLOAD_LEN: int(hdr.length) if digital else int(n_payload_symbols)}


def make_pdu(meta, payload):
    """Python dict + numpy array -> pmt PDU (c32vector, u8vector or f32vector)."""
    import pmt
    d = pmt.make_dict()
    for k, v in meta.items():
        d = pmt.dict_add(d, pmt.intern(k), to_pmt(v))
    a = np.asarray(payload)
    if a.dtype == np.uint8:
        vec = pmt.init_u8vector(a.size, a.tolist())
    elif np.iscomplexobj(a):
        vec = pmt.init_c32vector(a.size, a.astype(np.complex64))
    else:
        vec = pmt.init_f32vector(a.size, a.astype(np.float32))
    return pmt.cons(d, vec)


def to_pmt(v):
    import pmt
    if isinstance(v, (bool, np.bool_)):
        return pmt.from_bool(bool(v))
    if isinstance(v, (int, np.integer)):
        v = int(v)
        if 0 <= v < 2 ** 64 and v >= 2 ** 63:
            return pmt.from_uint64(v)
        return pmt.from_long(v)
    if isinstance(v, np.ndarray):
        if np.iscomplexobj(v):
            return pmt.init_c32vector(v.size, v.astype(np.complex64))
        return pmt.init_f32vector(v.size, v.astype(np.float32))
    return pmt.to_pmt(v)


def from_pmt(v):
    import pmt
    if pmt.is_uint64(v):
        return int(pmt.to_uint64(v))
    if pmt.is_bool(v):
        return bool(pmt.to_bool(v))
    if pmt.is_f32vector(v):
        return np.asarray(pmt.f32vector_elements(v), dtype=np.float32)
    if pmt.is_c32vector(v):
        return np.asarray(pmt.c32vector_elements(v), dtype=np.complex64)
    if pmt.is_u8vector(v):
        return np.asarray(pmt.u8vector_elements(v), dtype=np.uint8)
    return pmt.to_python(v)


def parse_pdu(pdu):
    """pmt PDU -> (dict, numpy payload). Raises ValueError if not a PDU."""
    import pmt
    if not pmt.is_pair(pdu):
        raise ValueError("not a PDU (pmt pair)")
    meta, vec = pmt.car(pdu), pmt.cdr(pdu)
    out = {}
    if pmt.is_dict(meta):
        items = pmt.dict_items(meta)
        for i in range(pmt.length(items)):
            kv = pmt.nth(i, items)
            out[pmt.symbol_to_string(pmt.car(kv))] = from_pmt(pmt.cdr(kv))
    elif not pmt.is_null(meta):
        raise ValueError("PDU metadata is not a dict")
    if not pmt.is_uniform_vector(vec):
        raise ValueError("PDU payload is not a uniform vector")
    return out, from_pmt(vec)
