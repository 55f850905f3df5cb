#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""gr-lgmtsc: burst physical layer for LGM-TSC semantic symbols (and a digital baseline)."""

from . import pdu_format
from . import frame
from .snr_calibration import SnrCalibration
from .burst_tx import burst_tx
from .burst_rx import burst_rx
from .awgn_channel import awgn_channel, noise_voltage
from . import sim
from .rayleigh_channel import rayleigh_channel
from .channel import channel
from .phy import phy
