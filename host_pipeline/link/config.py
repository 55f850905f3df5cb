"""Typed settings of the link (light module: no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class LinkConfig:
    """The link: ZeroMQ addresses of the gr-lgmtsc flowgraph (it binds, hosts connect), the receiver-to-transmitter
    feedback path, the transmission mode and message authentication (docs/link.md)."""

    tx_address: str = "tcp://127.0.0.1:5550"  # transmitter host PUSHes TX PDUs to the flowgraph
    rx_address: str = "tcp://127.0.0.1:5551"  # receiver host SUBscribes to RX PDUs
    snr_address: str = "tcp://127.0.0.1:5552"  # the flowgraph's SNR reports (lab use)
    feedback_address: str = "tcp://127.0.0.1:5553"  # receiver host binds (PUB), transmitter connects: SNR feedback
    mode: Literal["semantic", "digital"] = "semantic"  # digital: text coder -> CRC -> FEC -> modulation
    modulation: Literal["bpsk", "qpsk", "16qam"] = "qpsk"  # digital mode
    fec: Literal["none", "cc", "ldpc"] = "cc"  # digital mode
    keystore: str | None = None  # senders' keys and sequence state; default $LGMTSC_DATA/keys.sqlite
    auth_budget: int = 4096  # tags the receiver computes per semantic message when searching runner-up tokens
    timeout_s: float = 10.0  # a message not received this long after it was sent is reported lost
    loopback_samp_rate: float = 200e3  # the loopback flowgraph's throttle (S/s): its idle search costs CPU in
    # proportion; 200 kS/s moves a 15-token burst in about 30 ms and leaves the host models the cores
    rx_queue_max: int = 128  # messages waiting to be decoded at the receiver; beyond it they are dropped and reported
    # lost ("receiver overloaded"): a flood cannot grow the receiver's memory, a backlog this long is already late
    feedback_stale_s: float = 30.0  # the transmitter ignores SNR feedback older than this (then sends class high)
    reassociate_after_s: float = 2.0  # no report on a message this long after it was sent: the next one carries the
    # link association again (a receiver that missed it, or restarted, drops every message until it has one)
    # the short burst format (86-symbol preamble instead of 222, header and tag in 40 16-QAM uses instead of 128)
    # while the newest fresh, authenticated report says at least this Es/N0 (dB) and every earlier message was heard;
    # detection 4999/5000 at 8 dB, header and tag >= 99.9 % from 10 dB (docs/phy.md); inf: never
    short_preamble_min_snr_db: float = 11.0
    feedback_wait_s: float = 5.0  # a file sent as fast as it is transcribed: wait up to this long for the report on
    # the previous message before the next (a speaker in real time leaves that time); 0: never wait
