"""``lgmtsc tx``: the transmitter host. Talking-face video (file or live) -> VAD -> ASR -> private KB (disambiguation,
compression to the class the receiver's SNR feedback selects) -> semantic codec (or the text coder in digital mode)
-> an authenticated PDU per utterance to the gr-lgmtsc flowgraph over ZeroMQ.

Utterances are pipelined: the ASR runs in its own thread and transcribes the next utterance while the current one
is compressed, encoded and sent. Every sent message is appended to the transmitter's log (``protocol.TxRecord``).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..config import Config
from ..errors import BackendError, ConfigError, InputError
from ..kb.anfis import CLASSES
from ..link.auth import KeyStore, compute_tag, token_bytes
from ..link.crypto import encrypt_digital, scramble_symbols
from .protocol import QPSK_BITS_PER_USE, JsonlLog, TxRecord


class FeedbackListener:
    """Collects the receiver's SNR reports (``link.feedback_address``) in a background thread; only authenticated,
    fresh, in-range reports on verified bursts this transmitter sent count (``link.feedback.FeedbackGate``)."""

    def __init__(self, address: str, key, stale_s: float, curve=None,
                 on_report: Callable[[int, bool], None] | None = None):
        """``on_report(seq, verified)``: called for every authentic report on a burst this session sent (the text
        coder's conversation context learns from it which messages the receiver holds)."""
        import zmq

        from ..link.feedback import FeedbackGate
        from ..link.zmq_client import curve_client

        self.gate = FeedbackGate(key.key, key.sender_id, stale_s)
        self.on_report = on_report
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, 4096)  # reports are < 512 bytes: a peer sending more is dropped
        try:
            curve_client(self.sock, address, curve)
            self.sock.connect(address)
        except zmq.ZMQError as e:
            self.sock.close()
            raise ConfigError(f"bad feedback address {address}: {e}", hint="e.g. tcp://127.0.0.1:5553") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from ..link.feedback import NOT_ON_SENT_BURSTS

        while not self._stop.is_set():
            if self.sock.poll(200):
                reason, msg = self.gate.offer_report(self.sock.recv())
                if self.on_report is not None and reason not in NOT_ON_SENT_BURSTS:  # it says what the receiver holds
                    self.on_report(msg["seq"], msg["verified"])

    def sent(self, seq: int) -> None:
        self.gate.sent(seq)

    def unconfirmed(self, after_s: float) -> bool:
        return self.gate.unconfirmed(after_s)

    def snr_db(self) -> float | None:
        """The latest SNR the receiver measured on this sender's verified bursts, if fresh."""
        return self.gate.snr_db()

    def wait_for(self, seq: int, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for an authentic report on burst ``seq`` (or a later one); whether it came."""
        deadline = time.monotonic() + timeout_s
        while self.gate.heard < seq and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.gate.heard >= seq

    def ignored(self) -> dict[str, int]:
        return {k: v for k, v in self.gate.counts.items() if k not in ("accepted", "other_sender")}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


class LinkMonitor:
    """Watches the PUSH socket to the flowgraph and reports when the flowgraph goes away or comes back."""

    def __init__(self, sock, note: Callable[[str], None]):
        import zmq
        from zmq.utils.monitor import recv_monitor_message

        self._recv, self._zmq = recv_monitor_message, zmq
        self.mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        self.note, self.up = note, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="link-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.mon.poll(200):
                ev = self._recv(self.mon)["event"]
                if ev == self._zmq.EVENT_CONNECTED and self.up is not True:
                    if self.up is False:
                        self.note("the flowgraph is back: queued messages are being delivered")
                    self.up = True
                elif ev == self._zmq.EVENT_DISCONNECTED and self.up:
                    self.up = False
                    self.note("the flowgraph went away: messages are queued until it is back")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.mon.close()


class Transmitter:
    """Models loaded once; ``run(source)`` sends every utterance of a file or live source."""

    def __init__(self, cfg: Config, user: str, *, use_kb: bool = True, hotwords: list[str] | None = None,
                 log: JsonlLog | None = None, progress: Callable[[str], None] = print):
        from ..asr import SpeechExtractor

        self.cfg, self.user, self.hotwords, self.log, self.progress = cfg, user, hotwords or [], log, progress
        self.mode = cfg.link.mode
        self.keys = KeyStore(cfg.link.keystore)
        self.key = self.keys.provision(user)
        self.curve = self.keys.curve_peer(cfg.link.feedback_address)  # CurveZMQ beyond this machine (docs/link.md)
        from gnuradio.lgmtsc import frame, pdu_format, waveform

        self.frame_mod, self.pdu_format, self.format_version = frame, pdu_format, pdu_format.FORMAT_VERSION
        self.frames = {kind: frame.Frame(**pre) for kind, pre in waveform.PREAMBLES.items()}  # sizes per preamble
        self.frame = self.frames[pdu_format.PREAMBLE_LONG]
        progress("transmitter: loading models (ASR, " + ("semantic codec" if self.mode == "semantic" else "text coder")
                 + (", private KB LLM)" if use_kb else ")"))
        self.extractor = SpeechExtractor(cfg.asr, cfg.vad)
        if self.mode == "semantic":
            from ..codec import SemanticCodec

            self.codec = SemanticCodec.load(cfg.codec)
        else:
            from ..textcoder.coder import TextCoder
            from ..textcoder.context import ContextPrewarmer, SenderConversation

            self.text_coder = TextCoder.load(cfg.textcoder)
            self.conversation = SenderConversation()  # which sent texts the receiver holds (verified reports)
            # the next message's context evaluated while the speaker talks (only time: docs/textcoder.md)
            self._prewarm = ContextPrewarmer(self.text_coder) if self.text_coder.uses_context else None
            self._last_seq: int | None = None
        self.kb = None
        if use_kb:
            from ..kb import PrivateKnowledgeBase

            self.kb = PrivateKnowledgeBase.load(cfg.kb, cfg.llm)

    def _on_report(self, seq: int, verified: bool) -> None:
        """An authentic report (feedback thread): the conversation learns what the receiver holds, and the next
        message's context is evaluated now rather than when it is coded."""
        self.conversation.report(seq, verified)
        if verified and self._prewarm is not None and self._last_seq is not None:
            self._prewarm.request(self.conversation.context(self._last_seq + 1))

    def note(self, message: str) -> None:
        self.progress(f"transmitter: {message}")
        if self.log:
            self.log.write("note", {"t": time.time(), "source": "tx", "message": message})

    def run(self, source: str, *, realtime: bool = False, start_after_s: float | None = None) -> int:
        """Send every utterance of ``source`` (after ``start_after_s`` of it, when resuming); the count sent."""
        from ..link import PhyLink
        from ..media import is_live_source

        segments = self._segments(source, realtime, start_after_s)
        link = PhyLink(self.cfg.link.tx_address, None, None)
        monitor = LinkMonitor(link.tx, self.note)
        feedback = FeedbackListener(self.cfg.link.feedback_address, self.key, self.cfg.link.feedback_stale_s,
                                    self.curve, self._on_report if self.mode == "digital" else None)
        sent, warned_feedback, last_seq = 0, False, None
        wait_s = 0.0 if realtime or is_live_source(source) else self.cfg.link.feedback_wait_s
        try:
            for seg, t_speech_end, lat in segments:
                if start_after_s is not None and seg.end <= start_after_s:
                    continue
                if not seg.intelligible:  # a loop or a hallucination never goes on the air (docs/asr.md)
                    self.note(f"utterance at {seg.start:.2f}-{seg.end:.2f} s not sent: {seg.outcome} ({seg.reason})")
                    continue
                if last_seq is not None and wait_s > 0:  # a file: leave the receiver a speaker's time to report
                    feedback.wait_for(last_seq, wait_s)
                lat["wait_tx_s"] = round(max(0.0, time.time() - lat.pop("t_transcript")), 3)
                snr = feedback.snr_db()
                if snr is None and sent >= 2 and not warned_feedback:
                    self.note("no fresh SNR feedback from the receiver: sending uncompressed (class high)")
                    warned_feedback = True
                try:
                    rec, meta, payload = self._prepare(seg, snr, t_speech_end)
                except InputError as e:  # this utterance cannot be sent; the next ones can
                    self.note(f"utterance at {seg.start:.2f}-{seg.end:.2f} s not sent: {e.message}")
                    continue
                rec.latency_s = {**lat, **rec.latency_s}
                if feedback.unconfirmed(self.cfg.link.reassociate_after_s):  # the receiver may lack the association
                    meta[self.pdu_format.KEY_ASSOCIATE] = rec.reassociated = True
                    rec.burst_channel_uses += int(self.frame.association_symbols())
                elif snr is not None and snr >= self.cfg.link.short_preamble_min_snr_db:  # a good, confirmed link
                    meta[self.pdu_format.KEY_PREAMBLE] = self.pdu_format.PREAMBLE_SHORT
                    rec = dataclasses.replace(rec, **self._burst_fields(self.pdu_format.PREAMBLE_SHORT,
                                                                        rec.channel_uses))
                if self.log:  # logged before it leaves: a crash in between is a lost message, never an unknown one
                    self.log.write("sent", rec)
                link.send(meta, payload)
                feedback.sent(rec.seq)
                sent, last_seq = sent + 1, rec.seq
                self.progress(f"transmitter: [{rec.seq}] sent ({rec.prompt_class}, "
                              f"{rec.channel_uses} channel uses): {rec.sent_text!r}")
            if monitor.up is False:  # queued while the flowgraph is away: give it time to come back
                self.note(f"waiting up to {self.cfg.link.timeout_s:g} s for the flowgraph to take queued messages")
                deadline = time.monotonic() + self.cfg.link.timeout_s
                while monitor.up is False and time.monotonic() < deadline:
                    time.sleep(0.2)
            if monitor.up is False:
                raise BackendError("the flowgraph was unreachable at the end: the messages queued for it are lost",
                                   hint=f"is the flowgraph running at {self.cfg.link.tx_address}?")
        finally:
            time.sleep(0.2)  # let ZeroMQ hand over the last PDU
            if feedback.ignored():
                self.note(f"SNR feedback ignored: {feedback.ignored()} (docs/link.md, security)")
            feedback.close()
            monitor.close()
            link.close()
        return sent

    def _segments(self, source: str, realtime: bool, start_after_s: float | None = None) -> Iterator[tuple]:
        """(segment, wall time of the end of speech, latencies) from a thread that transcribes ahead.

        Latencies, live or ``realtime``: ``endpoint_s``, the audio after the end of speech the VAD needed to close
        the utterance, and ``asr_s``, from then to the transcript; a file read as fast as possible: ``asr_s``, the
        ASR's time for this utterance. ``t_transcript``: when the transcript was ready (wall clock).

        Resuming a file (``start_after_s``): the audio before that point, already sent, is fed as silence and not
        paced, so neither the ASR nor the clock spends time on it; segment times stay those of the file."""
        from ..media import SAMPLE_RATE, is_live_source, iter_audio, iter_live_audio, probe

        live = is_live_source(source)
        if not live:
            probe(source)
        chunk_s = min(0.5, self.cfg.vad.chunk_ms / 1000) if (live or realtime) else 30.0
        skip_s = 0.0 if live or start_after_s is None else max(0.0, start_after_s)
        t0 = time.time() - skip_s  # the file's time 0 on the wall clock, as if it had been playing

        def audio() -> Iterator[np.ndarray]:
            it = iter_live_audio(source, chunk_s=chunk_s) if live else iter_audio(source, chunk_s=chunk_s)
            fed = 0.0
            for c in it:
                if fed < skip_s:
                    c = c.copy()
                    c[: int(round((skip_s - fed) * SAMPLE_RATE))] = 0.0
                fed += c.size / SAMPLE_RATE
                if realtime and not live:  # pace a file like a live source: a chunk exists once its audio ended
                    time.sleep(max(0.0, t0 + fed - time.time()))
                yield c

        q: queue.Queue = queue.Queue(maxsize=8)
        done = object()

        def produce() -> None:
            try:
                last = time.perf_counter()
                for seg in self.extractor.stream(audio(), self.hotwords):
                    now, wall = time.perf_counter(), time.time()
                    endpoint = max(0.0, self.extractor.vad.last_endpoint - seg.end)
                    if live or realtime:  # from the end of speech: the VAD's endpoint, then the ASR
                        t_end = t0 + seg.end
                        lat = {"endpoint_s": round(endpoint, 3), "asr_s": round(max(0.0, wall - t_end - endpoint), 3)}
                    else:  # a file read as fast as possible: the ASR's time for this utterance
                        t_end = wall
                        lat = {"asr_s": round(now - last, 3)}
                    q.put((seg, t_end, {**lat, "t_transcript": wall}))
                    last = now
                q.put(done)
            except BaseException as e:  # handed to the consumer, which raises it
                q.put(e)

        threading.Thread(target=produce, name="asr", daemon=True).start()
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _prepare(self, seg, snr: float | None, t_speech_end: float) -> tuple[TxRecord, dict, np.ndarray]:
        """The record, header fields (tag included) and payload of one utterance; its sequence number is used."""
        text, cls, kb_info, lat = seg.text, "high", {}, {}
        if self.kb is not None:
            t = time.perf_counter()
            res = (self.kb.transmit(self.user, seg.text, snr_db=snr, hotwords=self.hotwords) if snr is not None else
                   self.kb.transmit(self.user, seg.text, length_class="high", hotwords=self.hotwords))
            lat["kb_tx_s"] = round(time.perf_counter() - t, 3)
            text, cls, kb_info = res.text, res.length_class, res.to_dict()
        t = time.perf_counter()
        meta = {"version": self.format_version, "mode": self.mode, "sender_id": self.key.sender_id,
                "prompt_class": CLASSES.index(cls), "flags": 0}
        if self.mode == "semantic":
            enc = self.codec.encode(text)
            payload, content, n_items = enc.symbols, token_bytes(enc.token_ids), enc.n_tokens
            uses = int(payload.size)
            bits = uses * QPSK_BITS_PER_USE
        else:
            # the text coder's link format: its models named once per link (association), no CRC (the tag checks);
            # with textcoder.context, coded after the earlier messages the receiver holds, named relative to this
            # message's sequence number (taken now: a message that then fails to go out leaves a gap, no harm)
            meta["seq"] = self._last_seq = self.keys.next_seq(self.key.sender_id)
            data = self.text_coder.encode_link(text, self.conversation.context(meta["seq"]))
            self.conversation.sent(meta["seq"], text)
            payload, content, n_items = np.frombuffer(data, dtype=np.uint8), data, len(data)
            meta.update(modulation=self.cfg.link.modulation, fec=self.cfg.link.fec, payload_crc=False,
                        text_model=self.text_coder.link_model_id)
            uses = self.frame.digital_n_symbols(len(data), self.cfg.link.modulation, self.cfg.link.fec, False)
            bits = uses * self.frame_mod.BITS_PER_SYMBOL[self.cfg.link.modulation]
        if n_items > 0xFFFF:
            raise InputError(f"too long for one message ({n_items} tokens or bytes)",
                             hint="lower vad.max_segment_s so utterances are split")
        seq = meta["seq"] = meta["seq"] if "seq" in meta else self.keys.next_seq(self.key.sender_id)
        meta["n_tokens"] = n_items
        # confidentiality (link.crypto): digital bytes encrypted, tag over the ciphertext; semantic symbols scrambled
        if self.mode == "semantic":
            payload = scramble_symbols(self.key.key, self.key.sender_id, seq, payload)
        else:
            content = encrypt_digital(self.key.key, self.key.sender_id, seq, content)
            payload = np.frombuffer(content, dtype=np.uint8)
        meta["auth_tag"] = compute_tag(self.key.key, meta, content)
        lat["encode_s"] = round(time.perf_counter() - t, 4)
        rec = TxRecord(seq, self.key.sender_id, self.mode, seg.start, seg.end, seg.text, text, cls, snr, n_items,
                       uses, payload_bits=bits, **self._burst_fields(self.pdu_format.PREAMBLE_LONG, uses),
                       t_speech_end=round(t_speech_end, 4), t_sent=round(time.time(), 4), latency_s=lat, kb=kb_info)
        return rec, meta, payload

    def _burst_fields(self, preamble: str, uses: int) -> dict:
        """A message's air accounting in one burst format: its preamble, every channel use of its burst, and the
        header's and tag block's channel bits (``header.BodyCoding``)."""
        frame = self.frames[preamble]
        return dict(preamble=preamble, burst_channel_uses=int(frame.burst_symbols(uses)),
                    header_bits=frame.coding.header_coded_bits, tag_bits=frame.coding.tag_coded_bits)
