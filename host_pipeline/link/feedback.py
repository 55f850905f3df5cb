"""Authenticated SNR feedback (receiver -> transmitter): a MAC and a sequence number on every report, and the
transmitter's gate that ignores unauthenticated, replayed, stale, out-of-range and unverified reports.

A report is one JSON object (version 2) on the receiver's feedback PUB socket (``link.feedback_address``)::

    {"v": 2, "type": "snr", "sender_id": 1, "seq": 7, "snr_db": 11.8, "verified": true, "t": 1764040000.12,
     "mac": "<32 hex digits>"}

``seq`` is the sequence number of the burst the SNR was measured on (the sender's own, authenticated by the
burst's tag when ``verified``); ``mac`` is HMAC-SHA256 truncated to 128 bits, under a subkey of the sender's key
(``crypto.subkey(key, "feedback-mac")``: never the key that tags or encrypts bursts), over a fixed binary layout
of all the other fields (``report_mac_input``). The transmitter (``FeedbackGate``) takes a report's SNR only if

- it parses, is version 2, names this sender and its MAC verifies under this sender's key (else *unauthenticated*);
- ``snr_db`` is finite and within ``SNR_RANGE_DB`` (else *out of range*: the PHY's estimator does not go beyond);
- the receiver verified the burst's tag, or the report can only make the transmitter more careful: an unverified
  burst's SNR (its header checked, its tag did not) is taken only when no SNR is assumed yet or it is lower than
  the one assumed (else *unverified*). A forger on the air can thus push the transmitter towards more compression,
  never towards less: no more than jamming the channel does. Without this, at low SNR, where tags fail, the
  transmitter would never learn the SNR, keep sending uncompressed and never get through (the prompt codec's point);
- ``seq`` is one this transmitter sent in this session (else *unknown*: a report from an earlier session or for a
  message it never sent) and newer than every report it accepted (else *replay*: reports are one per burst, in
  order);
- that burst was sent at most ``stale_s`` ago by the transmitter's own clock (else *stale*).

So neither a forger on the network nor one on the air (without the key) can steer the transmitter's compression,
and a recorded report cannot be played back to it. The clocks of the two machines need not agree (``t`` is
informative only, though covered by the MAC).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import struct
import time
from collections import Counter, OrderedDict

from .crypto import LABEL_FEEDBACK, subkey

FEEDBACK_VERSION = 2
MAC_BYTES = 16
MAC_DOMAIN = b"LGMTSC-FB2"
SNR_RANGE_DB = (-30.0, 60.0)  # what the burst receiver's calibrated estimator can report (docs/phy.md)
MAX_REPORT_BYTES = 512
REASONS = ("accepted", "malformed", "other_sender", "unauthenticated", "out_of_range", "unverified", "unknown",
           "replay", "stale")
NOT_AUTHENTIC = ("malformed", "other_sender", "unauthenticated")  # says nothing about this sender's bursts
NOT_ON_SENT_BURSTS = NOT_AUTHENTIC + ("out_of_range", "unknown")  # nor about a burst this session sent


def report_mac_input(sender_id: int, seq: int, snr_db: float, verified: bool, t: float) -> bytes:
    return MAC_DOMAIN + struct.pack(">BHIdBd", FEEDBACK_VERSION, sender_id, seq, snr_db, bool(verified), t)


def report_mac(key: bytes, sender_id: int, seq: int, snr_db: float, verified: bool, t: float) -> str:
    mac = hmac.new(subkey(key, LABEL_FEEDBACK), report_mac_input(sender_id, seq, snr_db, verified, t),
                   hashlib.sha256)
    return mac.digest()[:MAC_BYTES].hex()


def make_report(key: bytes, sender_id: int, seq: int, snr_db: float, verified: bool, t: float | None = None) -> bytes:
    """The receiver's report on one burst of ``sender_id`` (its tag verified or not)."""
    snr_db, t = round(float(snr_db), 2), round(time.time() if t is None else float(t), 3)
    mac = report_mac(key, int(sender_id), int(seq), snr_db, verified, t)
    return json.dumps({"v": FEEDBACK_VERSION, "type": "snr", "sender_id": int(sender_id), "seq": int(seq),
                       "snr_db": snr_db, "verified": bool(verified), "t": t, "mac": mac}).encode()


def parse_report(raw: bytes) -> dict | None:
    """The fields of a version-2 report (MAC not checked yet), or None if it is not one."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) > MAX_REPORT_BYTES:
        return None
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(msg, dict) or msg.get("v") != FEEDBACK_VERSION or msg.get("type") != "snr":
        return None
    try:
        out = {"sender_id": msg["sender_id"], "seq": msg["seq"], "snr_db": msg["snr_db"], "verified": msg["verified"],
               "t": msg["t"], "mac": msg["mac"]}
    except KeyError:
        return None
    ints_ok = all(type(out[k]) is int for k in ("sender_id", "seq"))
    if (not ints_ok or not 0 <= out["sender_id"] <= 0xFFFF or not 0 <= out["seq"] <= 0xFFFFFFFF
            or type(out["verified"]) is not bool or not isinstance(out["mac"], str) or len(out["mac"]) != 2 * MAC_BYTES
            or not all(isinstance(out[k], (int, float)) and not isinstance(out[k], bool) for k in ("snr_db", "t"))):
        return None
    out["snr_db"], out["t"] = float(out["snr_db"]), float(out["t"])
    if not (math.isfinite(out["t"]) and abs(out["t"]) < 1e12):  # packable; its value is informative only
        return None
    return out


class FeedbackGate:
    """The transmitter's view of the feedback: which reports it takes (``offer``) and the SNR it uses (``snr_db``).

    Not thread-safe by itself: ``sent`` and ``offer``/``snr_db`` may be called from different threads because each
    only replaces references or takes the GIL-atomic dict operations it needs."""

    def __init__(self, key: bytes, sender_id: int, stale_s: float, remember: int = 4096):
        self.key, self.sender_id, self.stale_s, self.remember = key, int(sender_id), float(stale_s), int(remember)
        self._sent: OrderedDict[int, float] = OrderedDict()  # seq -> when it was sent (this host's monotonic clock)
        self.high = -1  # the newest seq a report was accepted for
        self.heard = -1  # the newest seq an authentic report arrived for, taken or not
        self.latest: dict | None = None
        self.counts: Counter = Counter()

    def sent(self, seq: int, t: float | None = None) -> None:
        """Record that burst ``seq`` was handed to the flowgraph (reports on it become acceptable)."""
        self._sent[int(seq)] = time.monotonic() if t is None else t
        while len(self._sent) > self.remember:
            self._sent.popitem(last=False)

    def check(self, raw: bytes, now: float | None = None) -> tuple[str, dict | None]:
        """(reason, report): ``reason`` is one of ``REASONS``; the report is returned once it parsed."""
        msg = parse_report(raw)
        if msg is None:
            return "malformed", None
        if msg["sender_id"] != self.sender_id:
            return "other_sender", msg
        want = report_mac(self.key, msg["sender_id"], msg["seq"], msg["snr_db"], msg["verified"], msg["t"])
        if not hmac.compare_digest(want, msg["mac"].lower()):
            return "unauthenticated", msg
        if not (math.isfinite(msg["snr_db"]) and SNR_RANGE_DB[0] <= msg["snr_db"] <= SNR_RANGE_DB[1]):
            return "out_of_range", msg
        if not msg["verified"] and self.latest is not None and msg["snr_db"] >= self.latest["snr_db"]:
            return "unverified", msg  # an unverified burst may lower the assumed SNR, never raise it
        t_sent = self._sent.get(msg["seq"])
        if t_sent is None:
            return "unknown", msg
        if msg["seq"] <= self.high:
            return "replay", msg
        now = time.monotonic() if now is None else now
        if now - t_sent > self.stale_s:
            return "stale", msg
        return "accepted", msg

    def offer(self, raw: bytes, now: float | None = None) -> str:
        """Take a report if it passes ``check``; the reason either way (counted in ``counts``)."""
        return self.offer_report(raw, now)[0]

    def offer_report(self, raw: bytes, now: float | None = None) -> tuple[str, dict | None]:
        """``offer``, also returning the parsed report (None if it did not parse)."""
        reason, msg = self.check(raw, now)
        self.counts[reason] += 1
        if reason not in NOT_AUTHENTIC:
            self.heard = max(self.heard, msg["seq"])
        if reason == "accepted":
            self.high = msg["seq"]
            msg["t_received"] = time.monotonic() if now is None else now
            self.latest = msg
        return reason, msg

    def unconfirmed(self, after_s: float, now: float | None = None) -> bool:
        """Whether a burst sent at least ``after_s`` ago has had no authentic report, nor has any later one: the
        receiver may have missed the link association (its PHY then drops every message until it gets one), so the
        next message carries it again (``associate`` in the PDU)."""
        now = time.monotonic() if now is None else now
        return any(seq > self.heard and now - t >= after_s for seq, t in reversed(self._sent.items()))

    def snr_db(self, now: float | None = None) -> float | None:
        """The SNR of the newest accepted report, if it is younger than ``stale_s`` (this host's clock)."""
        m = self.latest
        now = time.monotonic() if now is None else now
        if m is None or now - m["t_received"] > self.stale_s:
            return None
        return m["snr_db"]
