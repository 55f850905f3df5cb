#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""gr-lgmtsc: burst physical layer for LGM-TSC semantic symbols (and a digital baseline)."""

from . import frame, pdu_format, sim
from .awgn_channel import awgn_channel, noise_voltage
from .burst_rx import burst_rx
from .burst_tx import burst_tx
from .channel import channel
from .pdu_pull_source import pdu_pull_source
from .phy import phy
from .rayleigh_channel import rayleigh_channel
from .snr_calibration import SnrCalibration

__all__ = ["frame", "pdu_format", "sim", "awgn_channel", "noise_voltage", "burst_rx", "burst_tx", "channel", "phy",
           "rayleigh_channel", "SnrCalibration", "pdu_pull_source"]
