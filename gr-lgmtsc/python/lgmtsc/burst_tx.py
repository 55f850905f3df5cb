#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Burst transmitter: PDU in (message port 'in') -> pulse-shaped burst samples out."""

from collections import deque

import numpy as np
import pmt
from gnuradio import gr

from . import header as H
from . import pdu_format as pf
from .frame import Frame
from .waveform import PREAMBLES, bool_field


class burst_tx(gr.basic_block):
    """PDU -> one burst (STF, LTF, header, tag, pilots, payload), RRC shaped, unit power.

    Semantic mode: payload c32vector (n_tokens x uses_per_token unit-energy symbols). Digital mode: payload
    u8vector; CRC32, FEC (``fec``: none/cc/ldpc) and ``modulation`` (bpsk/qpsk/16qam) apply unless the PDU
    metadata names others. Before the first message, whenever the link's association (sender, version,
    modulation, FEC, uses per token, checkpoint) changes, after ``header.ASSOC_EVERY`` messages, when the
    sequence number jumps out of the receiver's 9-bit extension range, or when the PDU sets ``associate`` (the
    host has heard nothing back on an earlier message: a receiver that missed the association, or restarted,
    drops every message until it has one), an association burst goes first.
    Each burst is tagged tx_sob / tx_eob (and followed by a zero guard). ``idle_fill``: emit zeros between
    bursts (continuous stream for simulation; needs a throttle); otherwise the block only produces samples
    when a burst is queued (USRP burst mode). Malformed PDUs are dropped with a logged warning.

    Backlog: messages that are queued when a burst starts (PDUs that came while the previous burst was still
    going out, or before the flowgraph ran) share one burst, up to ``max_messages`` of them and
    ``max_burst_symbols`` body data symbols: one preamble and guard for all, the messages' headers (``more`` set
    on all but the last), then their tag blocks and payloads. ``max_messages=1``: one burst per message.

    Preamble: a PDU may ask for the short burst format (``preamble``: "short"; ``waveform.PREAMBLES``: an 86-symbol
    preamble, the header and tag block in 16-QAM), which the host sets while the link's authenticated SNR reports
    are high; only messages with the same preamble share a burst, and association bursts always use the long one.
    A malformed value is a malformed PDU.
    """

    IDLE_BUFFER = 8192

    def __init__(self, sps=4, rolloff=0.35, modulation='qpsk', fec='cc', idle_fill=False,
                 span=8, amplitude=1.0, max_messages=8, max_burst_symbols=8192):
        gr.basic_block.__init__(self, name="lgmtsc_burst_tx", in_sig=None, out_sig=[np.complex64])
        self.frames = {kind: Frame(sps=sps, rolloff=rolloff, span=span, amplitude=amplitude, **pre)
                       for kind, pre in PREAMBLES.items()}
        self.frame = self.frames[pf.PREAMBLE_LONG]
        if modulation not in pf.MODULATIONS or fec not in pf.FECS:
            raise ValueError("modulation must be one of %s, fec one of %s" % (pf.MODULATIONS, pf.FECS))
        self.modulation, self.fec, self.idle_fill = modulation, fec, bool(idle_fill)
        if not 1 <= int(max_messages) <= H.MAX_MESSAGES:
            raise ValueError("max_messages must be 1..%d" % H.MAX_MESSAGES)
        self.max_messages, self.max_burst_symbols = int(max_messages), int(max_burst_symbols)
        self.n_messages = 0
        self.queue = deque()
        self.cur, self.pos = None, 0
        self.n_sent = self.n_dropped = self.n_associations = 0
        self.assoc, self.since_assoc, self.last_seq = None, 0, 0
        if self.idle_fill:  # a simulated stream: the idle zeros queued in this buffer delay the next burst, so
            self.set_max_output_buffer(self.IDLE_BUFFER)  # keep it short (8192 samples: 41 ms at 200 kS/s)
        else:  # burst mode: samples only while a burst is queued, in long runs
            self.set_min_output_buffer(1 << 16)
        self.message_port_register_in(pmt.intern(pf.PORT_IN))
        self.set_msg_handler(pmt.intern(pf.PORT_IN), self.handle_pdu)

    def bursts_from_pdu(self, msg):
        """PDU -> list of queue items: the association burst (samples) if due, then the message as
        (Header, tag, payload symbols, preamble), which ``take_burst`` joins with the messages queued after it
        (ValueError on a malformed PDU)."""
        meta, payload = pf.parse_pdu(msg)
        mode = meta.get(pf.KEY_MODE)
        digital = mode in ("digital", pf.MODE_DIGITAL)
        if digital:
            if payload.dtype != np.uint8:
                raise ValueError("digital mode needs a u8vector payload")
            meta.setdefault(pf.KEY_MODULATION, self.modulation)
            meta.setdefault(pf.KEY_FEC, self.fec)
        elif not np.iscomplexobj(payload):
            raise ValueError("semantic mode needs a c32vector payload")
        assoc, hdr, tag, sym = self.frame.parse_tx(meta, payload, self.modulation, self.fec)
        asked = bool_field(meta, pf.KEY_ASSOCIATE, False)
        preamble = meta.get(pf.KEY_PREAMBLE, pf.PREAMBLE_LONG)
        if preamble not in self.frames:
            raise ValueError("preamble must be one of %s, not %r" % (", ".join(self.frames), preamble))
        out = []
        jump = abs((hdr.seq - self.last_seq + (1 << 31)) % (1 << 32) - (1 << 31))
        out_of_range = jump >= (1 << (H.SEQ_BITS - 1)) - 2   # outside the receiver's 9-bit extension range
        if not assoc.same_link(self.assoc) or self.since_assoc >= H.ASSOC_EVERY or out_of_range or asked:
            out.append(self.frame.association_burst(assoc))
            self.assoc, self.since_assoc = assoc, 0
            self.n_associations += 1
        out.append((hdr, tag, sym, preamble))
        self.since_assoc += 1
        self.last_seq = hdr.seq
        return out

    def handle_pdu(self, msg):
        try:
            xs = self.bursts_from_pdu(msg)
        except Exception as e:  # a malformed PDU must never stop the flowgraph
            self.n_dropped += 1
            gr.log.warn("lgmtsc burst_tx: dropping malformed PDU: %s" % e)
            return
        self.queue.extend(xs)

    def take_burst(self):
        """The next burst's samples: an association burst, or the queued messages at the head of the queue
        that share its preamble (up to ``max_messages`` and ``max_burst_symbols``) in one burst."""
        item = self.queue.popleft()
        if isinstance(item, np.ndarray):
            return item
        preamble = item[3]
        frame = self.frames[preamble]
        msgs, n = [item[:3]], frame.n_hdr + frame.n_tag + item[2].size
        while (self.queue and len(msgs) < self.max_messages and isinstance(self.queue[0], tuple)
               and self.queue[0][3] == preamble):
            n2 = n + frame.n_hdr + frame.n_tag + self.queue[0][2].size
            if n2 > self.max_burst_symbols:
                break
            msgs.append(self.queue.popleft()[:3])
            n = n2
        self.n_messages += len(msgs)
        return frame.messages_burst(msgs)

    def general_work(self, input_items, output_items):
        out = output_items[0]
        n, k = len(out), 0
        base = self.nitems_written(0)
        while k < n and (self.cur is not None or self.queue):
            if self.cur is None:
                self.cur, self.pos = self.take_burst(), 0
                self.add_item_tag(0, base + k, pmt.intern("tx_sob"), pmt.PMT_T)
            m = min(n - k, self.cur.size - self.pos)
            out[k:k + m] = self.cur[self.pos:self.pos + m]
            k += m
            self.pos += m
            if self.pos == self.cur.size:
                self.add_item_tag(0, base + k - 1, pmt.intern("tx_eob"), pmt.PMT_T)
                self.cur = None
                self.n_sent += 1
        if k == 0 and self.idle_fill:
            out[:] = 0
            return n
        return k
