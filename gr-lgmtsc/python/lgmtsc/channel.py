#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Selectable simulation channel: 'none', 'awgn', 'rayleigh' (flat) or 'selective'."""

from gnuradio import blocks, gr

from .awgn_channel import awgn_channel
from .rayleigh_channel import rayleigh_channel

KINDS = ("none", "awgn", "rayleigh", "selective")


class channel(gr.hier_block2):
    """One of the dB-set channel blocks chosen by ``kind`` (for loopback flowgraphs)."""

    def __init__(self, kind="awgn", esn0_db=20.0, sps=4, cfo=0.0, fd_ts=1e-5, seed=0):
        gr.hier_block2.__init__(self, "lgmtsc_channel",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        if kind not in KINDS:
            raise ValueError("channel kind must be one of %s" % (KINDS,))
        self.kind = kind
        if kind == "none":
            self.ch = blocks.copy(gr.sizeof_gr_complex)
        elif kind == "awgn":
            self.ch = awgn_channel(esn0_db=esn0_db, sps=sps, cfo=cfo, seed=seed)
        else:
            self.ch = rayleigh_channel(esn0_db=esn0_db, sps=sps, fd_ts=fd_ts, cfo=cfo, seed=seed,
                                       selective=(kind == "selective"))
        self.connect(self, self.ch, self)

    def set_esn0_db(self, esn0_db):
        if self.kind != "none":
            self.ch.set_esn0_db(esn0_db)
