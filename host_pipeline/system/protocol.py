"""What the hosts exchange besides the radio PDUs: SNR feedback (receiver -> transmitter) and the per-message logs
that the loopback and ``lgmtsc report`` merge into a run report. Versioned; documented in docs/link.md.

Radio PDUs (host <-> flowgraph) follow gr-lgmtsc's contract (``gnuradio.lgmtsc.pdu_format``). Feedback messages
are authenticated JSON objects on a ZeroMQ PUB socket that the receiver host binds (``link.feedback_address``);
their format and the transmitter's checks are ``host_pipeline/link/feedback.py`` (version 2).

Logs are JSON lines, one object per event, written and flushed as events happen so a killed host loses nothing
it had finished: the transmitter writes ``{"event": "sent", ...TxRecord}``; the receiver writes
``{"event": "arrived", "sender_id", "seq", "t"}`` when a burst arrives and ``{"event": "done", ...RxRecord}``
when it has decoded (and rendered) it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gnuradio.lgmtsc import header as contract  # the air-interface contract (the robust tag block's bits)

LOG_VERSION = 1
# Rate accounting, as in Fig. 8 (docs/eval/compression.md): channel bits = channel uses x bits per use of the part's
# modulation. Per message the burst carries a 48-bit header (with the long preamble at rate 1/4 in 96 QPSK uses: 192
# channel bits; with the short one at rate 1/2 in 24 16-QAM uses: 96) and the 32-bit tag block (rate 1/2, 64 channel
# bits: 32 QPSK or 16 16-QAM uses; ``header.BodyCoding``); a report's ``bits_sent`` is payload + header + tag bits;
# ``burst_channel_uses`` counts everything on air (gr-lgmtsc ``Frame.burst_symbols``: preamble, header, tag, pilots,
# payload, pulse tail, guard) and, when the transmitter asked for one (``reassociated``), the association burst
# before it; the flowgraph's own association bursts (``header.LinkAssociation``: at the start and every 32 messages)
# are not counted.
QPSK_BITS_PER_USE = 2  # a semantic channel use is counted as the QPSK symbol it occupies
TAG_CHANNEL_BITS = contract.ROBUST.tag_coded_bits


@dataclass
class TxRecord:
    seq: int
    sender_id: int
    mode: str  # "semantic" or "digital"
    start_s: float  # utterance start/end in the input's time
    end_s: float
    transcript: str  # what the ASR heard
    sent_text: str  # what was encoded (after the private KB)
    prompt_class: str  # low / medium / high
    feedback_snr_db: float | None  # the receiver's SNR the prompt encoder used (None: none fresh)
    n_tokens: int  # semantic tokens, or payload bytes in digital mode
    channel_uses: int  # payload channel uses (complex symbols) of the burst
    burst_channel_uses: int  # the whole burst: preamble, header, tag block, pilots, payload, pulse tail and guard
    payload_bits: int  # channel bits: uses x bits per use (semantic: 2, the QPSK equivalent; digital: modulation)
    header_bits: int  # the header's channel bits: 192 (48 information bits at rate 1/4), 96 on the short preamble
    tag_bits: int = TAG_CHANNEL_BITS  # the tag block's channel bits: 64 (the 32-bit tag at rate 1/2)
    reassociated: bool = False  # the link association went first: no report had come on an earlier message
    preamble: str = "long"  # the burst's preamble: "short" while the receiver's fresh reports are high
    t_speech_end: float = 0.0  # wall clock: the end of speech (live or --realtime) or the ASR's result
    t_sent: float = 0.0  # wall clock: the PDU handed to the flowgraph
    latency_s: dict = field(default_factory=dict)
    kb: dict = field(default_factory=dict)


@dataclass
class RxRecord:
    seq: int
    sender_id: int
    user: str | None  # the sender the tag verified for (None: unknown sender id)
    status: str  # ok | unverified | replay | unknown_sender | undecodable | lost (receiver overloaded: not decoded)
    reason: str = ""  # why it was not rendered, in words
    verified: bool = False
    candidates_tried: int = 0
    received_text: str | None = None
    restored_text: str | None = None
    snr_db: float | None = None
    prompt_class: str | None = None
    video: str | None = None  # the reconstructed clip, relative to the receiver's output directory
    t_arrived: float = 0.0
    t_first_frame: float | None = None
    latency_s: dict = field(default_factory=dict)
    kb: dict = field(default_factory=dict)


class JsonlLog:
    """Append-only JSON-lines log, flushed per line, safe to write from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")
        if self._f.tell():
            with open(self.path, "rb") as f:
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    self._f.write("\n")  # a writer killed mid-line: end its torn line so ours stays whole
        self._lock = threading.Lock()

    def write(self, event: str, obj) -> None:
        d = asdict(obj) if hasattr(obj, "__dataclass_fields__") else dict(obj)
        line = json.dumps({"event": event, "v": LOG_VERSION, **d}, ensure_ascii=False)
        with self._lock:
            self._f.write(line + "\n")
            self._f.flush()

    def close(self) -> None:
        self._f.close()


class FileTail:
    """The complete lines appended to a file since the last call (a line still being written waits)."""

    def __init__(self, path: Path | None = None):
        self.path, self.offset = path, 0

    def lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except (OSError, TypeError):  # not written yet (or no path yet)
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    def events(self) -> list[dict]:
        """New lines of a JSON-lines log, parsed; a line garbled by a killed writer is skipped."""
        out = []
        for line in self.lines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def read_log(path: Path) -> list[dict]:
    """The events of a log (none if it does not exist yet); a line cut short by a killed writer is skipped."""
    return FileTail(Path(path)).events()
