#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Burst receiver: sample stream in -> PDUs (port 'pdus') and SNR reports (port 'snr')."""

import numpy as np
import pmt
from gnuradio import gr

from . import pdu_format as pf
from .frame import Frame
from .receiver import PreambleReceivers
from .snr_calibration import SnrCalibration
from .waveform import PREAMBLES, TRIGGER_THRESHOLDS


class burst_rx(gr.sync_block):
    """Detects bursts (Schmidl-Cox), corrects timing/CFO/phase, estimates the channel
    (LTF least squares, ``channel_taps`` symbol-spaced taps), MMSE-equalises, tracks
    pilots, decodes the header (tail-biting K=9 r=1/4 + CRC-24; header.py), learns the link association
    from association bursts, and emits a PDU per message burst:
    semantic: c32vector payload; digital: u8vector payload and ``crc_ok``.
    Metadata: header fields, snr_db (calibrated Es/N0), noise_var (f32vector per
    payload symbol), cfo, cfo_hz, sample_offset, rx_time. 'snr' port: PDU whose dict
    holds sender_id, seq, snr_db; 'snr_db' port: pair (snr_db . value) for GUIs;
    'diag' port: PDU of payload symbols before equalisation (matched filter output).
    ``calibration``: JSON path, '' = packaged default, 'none'. Bursts with either preamble
    (``waveform.PREAMBLES``) are received: ``threshold`` is the long preamble's trigger threshold, the short
    one's is ``waveform.TRIGGER_THRESHOLDS``; each PDU says which preamble it came with (``preamble``).
    """

    def __init__(self, sps=4, rolloff=0.35, threshold=0.25, channel_taps=5, calibration='',
                 samp_rate=1e6, span=8):
        gr.sync_block.__init__(self, name="lgmtsc_burst_rx", in_sig=[np.complex64], out_sig=None)
        frames = {kind: Frame(sps=sps, rolloff=rolloff, span=span, channel_taps=channel_taps, **pre)
                  for kind, pre in PREAMBLES.items()}
        self.frame = frames[pf.PREAMBLE_LONG]
        self.rx = PreambleReceivers(frames, {**TRIGGER_THRESHOLDS, pf.PREAMBLE_LONG: threshold},
                                    samp_rate=samp_rate, calibration=SnrCalibration.load(calibration))
        self.message_port_register_out(pmt.intern(pf.PORT_PDUS))
        self.message_port_register_out(pmt.intern(pf.PORT_SNR))
        self.message_port_register_out(pmt.intern("snr_db"))
        self.message_port_register_out(pmt.intern("diag"))

    def work(self, input_items, output_items):
        x = input_items[0]
        no_assoc = self.rx.n_no_association
        try:
            results = self.rx.feed(x)
        except Exception as e:  # never let a corrupt stream kill the flowgraph
            gr.log.warn("lgmtsc burst_rx: %s; resynchronising" % e)
            self.rx.resync()
            results = []
        if self.rx.n_no_association > no_assoc and (no_assoc == 0 or self.rx.n_no_association // 100 > no_assoc // 100):
            gr.log.warn("lgmtsc burst_rx: message dropped: no link association yet (its burst was missed; "
                        "the transmitter repeats it); %d header(s) without one so far" % self.rx.n_no_association)
        for meta, payload in results:
            self.message_port_pub(pmt.intern(pf.PORT_PDUS), pf.make_pdu(meta, payload))
            rep = {pf.KEY_SENDER_ID: meta[pf.KEY_SENDER_ID], pf.KEY_SEQ: meta[pf.KEY_SEQ],
                   pf.KEY_SNR_DB: meta[pf.KEY_SNR_DB], pf.KEY_SAMPLE_OFFSET: meta[pf.KEY_SAMPLE_OFFSET]}
            self.message_port_pub(pmt.intern(pf.PORT_SNR), pf.make_pdu(rep, np.zeros(0, np.float32)))
            self.message_port_pub(pmt.intern("snr_db"),
                                  pmt.cons(pmt.intern("snr_db"), pmt.from_double(meta[pf.KEY_SNR_DB])))
            raw = np.asarray(self.rx.last_raw, np.complex64)
            self.message_port_pub(pmt.intern("diag"), pmt.cons(pmt.PMT_NIL, pmt.init_c32vector(raw.size, raw)))
        return len(x)
