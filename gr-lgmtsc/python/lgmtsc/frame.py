#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""``Frame``: one burst format = the waveform (``waveform.py``, TX construction and sizes) plus the receiver's
synchronisation and equalisation steps (``sync.py``); ``Receiver`` (``receiver.py``) runs them on a stream.

The pieces live in one module each: ``waveform`` (pulse, preamble, pilots, body layout, burst construction),
``modulation`` (symbol mapping, LLRs, digital payload coding), ``header`` (the per-message header, the link
association, the tag block, their codes and the MAC input), ``sync`` (detection, timing, CFO, channel,
equaliser, tracking, noise) and ``receiver`` (the streaming receiver). This module keeps the names the blocks,
benchmarks and the host use.
"""

from . import header  # noqa: F401
from .modulation import BITS_PER_SYMBOL, bits_to_bytes, bytes_to_bits, demod_llr, modulate  # noqa: F401
from .receiver import Receiver, limit_blas_threads  # noqa: F401
from .sync import Synchroniser
from .waveform import MAX_PAYLOAD_SYMBOLS, PILOT_BLOCK, PILOT_SEQ, Waveform, body_layout, rrc_taps, zadoff_chu  # noqa: F401


class Frame(Waveform, Synchroniser):
    """Burst parameters, TX construction (``build_burst``, ``association_burst``) and the RX steps."""

    def __init__(self, sps=4, rolloff=0.35, span=8, channel_taps=5, amplitude=1.0, **preamble):
        """``preamble``: ``stf_reps``, ``sc_window_segs``, ``ltf_n``, ``ltf_root`` (defaults in waveform.py)."""
        Waveform.__init__(self, sps=sps, rolloff=rolloff, span=span, amplitude=amplitude, **preamble)
        self._init_sync(channel_taps)
