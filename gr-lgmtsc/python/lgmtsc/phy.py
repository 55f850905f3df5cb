#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The LGM-TSC burst PHY as one hierarchical block (as gr-ieee802-11's wifi_phy_hier), reused by every flowgraph."""

from gnuradio import blocks, gr

from . import pdu_format as pf
from .burst_rx import burst_rx
from .burst_tx import burst_tx
from .channel import KINDS
from .channel import channel as channel_block

LINKS = ("loopback", "tx", "rx")
RX_PORTS = (pf.PORT_PDUS, pf.PORT_SNR, "snr_db", "diag")


class phy(gr.hier_block2):
    """PDUs -> burst_tx -> [throttle -> channel] -> burst_rx -> PDUs, or one half of it for a radio.

    ``link``:
      'loopback': message port 'in' -> burst_tx (zeros between bursts) -> throttle at ``samp_rate`` -> the channel
                  ``channel`` (none/awgn/rayleigh/selective at ``esn0_db``, ``cfo``, ``fd_ts``, ``seed``) ->
                  burst_rx -> message ports 'pdus', 'snr', 'snr_db', 'diag'. The stream output is the channel's
                  output (what the receiver sees), for scopes; it may stay unconnected.
      'tx':       'in' -> burst_tx in burst mode (tx_sob/tx_eob tags, samples only while a burst is queued) ->
                  stream output, for a radio sink.
      'rx':       stream input from a radio source -> burst_rx -> the message ports.
    The TX parameters (``modulation``/``fec`` for digital PDUs that name none, ``amplitude``, ``max_messages``
    queued messages per burst) and RX parameters
    (``threshold``, ``channel_taps``, ``calibration``) are those of burst_tx and burst_rx.
    """

    def __init__(self, link="loopback", samp_rate=1e6, sps=4, rolloff=0.35, span=8, modulation="qpsk", fec="cc",
                 amplitude=1.0, threshold=0.25, channel_taps=5, calibration="", channel="awgn", esn0_db=20.0,
                 cfo=0.0, fd_ts=1e-5, seed=1, max_messages=8):
        if link not in LINKS:
            raise ValueError("phy link must be one of %s, not %r" % (LINKS, link))
        if link == "loopback" and channel not in KINDS:
            raise ValueError("phy channel must be one of %s, not %r" % (KINDS, channel))
        has_tx, has_rx = link in ("loopback", "tx"), link in ("loopback", "rx")
        gr.hier_block2.__init__(self, "lgmtsc_phy",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex) if link == "rx"
                                else gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex) if has_tx
                                else gr.io_signature(0, 0, 0))
        self.link = link
        self.tx = self.rx = self.throttle = self.channel = None
        if has_tx:
            self.tx = burst_tx(sps=sps, rolloff=rolloff, modulation=modulation, fec=fec,
                               idle_fill=(link == "loopback"), span=span, amplitude=amplitude,
                               max_messages=max_messages)
            self.message_port_register_hier_in(pf.PORT_IN)
            self.msg_connect(self, pf.PORT_IN, self.tx, pf.PORT_IN)
        if has_rx:
            self.rx = burst_rx(sps=sps, rolloff=rolloff, threshold=threshold, channel_taps=channel_taps,
                               calibration=calibration, samp_rate=samp_rate, span=span)
            for port in RX_PORTS:
                self.message_port_register_hier_out(port)
                self.msg_connect(self.rx, port, self, port)
        if link == "loopback":
            self.throttle = blocks.throttle(gr.sizeof_gr_complex, samp_rate, True)
            self.channel = channel_block(kind=channel, esn0_db=esn0_db, sps=sps, cfo=cfo, fd_ts=fd_ts, seed=seed)
            self.connect(self.tx, self.throttle, self.channel, self.rx)
            self.connect(self.channel, self)
        elif link == "tx":
            self.connect(self.tx, self)
        else:
            self.connect(self, self.rx)

    def set_esn0_db(self, esn0_db):
        """The loopback channel's Es/N0 in dB (a no-op for a radio link)."""
        if self.channel is not None:
            self.channel.set_esn0_db(esn0_db)
