"""``lgmtsc rx``: the receiver host. Bursts from the gr-lgmtsc flowgraph -> tag check and replay check -> semantic
(or text) decoding -> private KB correction and restoration -> the sender's voice and talking face (only for
messages whose tag verifies for that sender) -> one mp4 per utterance.

A thread takes PDUs off the ZeroMQ socket as they arrive, logs their arrival and sends the SNR estimate back to
the transmitter at once (``link.feedback_address``); the main thread decodes and renders them in order. Every
outcome is appended to the receiver's log (``protocol.RxRecord``), including refused and undecodable messages.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BackendError, LgmtscError
from ..kb.anfis import CLASSES
from ..link.auth import KeyStore, verify_semantic, verify_tag
from ..link.crypto import decrypt_digital, unscramble_symbols
from ..link.feedback import SNR_RANGE_DB, make_report
from .protocol import JsonlLog, RxRecord


class Receiver:
    """Models loaded once; ``run(stop)`` serves bursts until ``stop`` is set, then finishes what arrived."""

    def __init__(self, cfg: Config, out_dir: Path, *, use_kb: bool = True, reconstruct: bool = True,
                 hotwords: list[str] | None = None, log: JsonlLog | None = None, preview_every: int = 0,
                 view=None, progress: Callable[[str], None] = print):
        """``preview_every`` > 0: write every n-th rendered frame to OUT/preview.jpg (atomically) for live viewing;
        ``view``: a ``view.ViewServer`` that gets every message, phrase and frame as it is produced."""
        import zmq

        from ..codec import SemanticCodec

        (self.cfg, self.out_dir, self.hotwords, self.log,
         self.progress) = cfg, Path(out_dir), hotwords or [], log, progress
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.preview_every, self.view = preview_every, view
        self.keys = KeyStore(cfg.link.keystore)
        progress("receiver: loading models (semantic codec" + (", private KB LLM" if use_kb else "")
                 + (", TTS and face animator)" if reconstruct else ")"))
        self.codec = SemanticCodec.load(cfg.codec)
        self._text_coder = None
        from ..textcoder.context import ReceiverConversations

        self.conversations = ReceiverConversations()  # per sender, the texts verified and decoded (text context)
        self._prewarm = None
        if cfg.link.mode == "digital":
            progress("receiver: loading the text coder")
            self.text_coder()  # now, not at the first digital burst
        self.kb = None
        if use_kb:
            from ..kb import PrivateKnowledgeBase

            self.kb = PrivateKnowledgeBase.load(cfg.kb, cfg.llm)
        self.reconstructor = None
        if reconstruct:
            from ..reconstruct.pipeline import Reconstructor

            self.reconstructor = Reconstructor(cfg.reconstruct, cfg.publickb)
            self._warm()
        from ..link.zmq_client import curve_server

        ctx = zmq.Context.instance()
        self.feedback = ctx.socket(zmq.PUB)
        self.feedback.setsockopt(zmq.LINGER, 0)
        self.feedback_auth = None
        try:  # CurveZMQ when the feedback path leaves this machine (docs/link.md, security)
            self.feedback_auth = curve_server(self.feedback, self.keys.curve_for(cfg.link.feedback_address, "server"))
            self.feedback.bind(cfg.link.feedback_address)
        except zmq.ZMQError as e:
            raise BackendError(f"cannot bind the feedback address {cfg.link.feedback_address}: {e}",
                               hint="another receiver running? "
                                    "choose one with --set link.feedback_address=...") from None
        # bounded: a flood of bursts (or a receiver slower than the link) cannot grow it without end; what does not fit
        # is dropped at once and recorded lost, with the reason (``_overloaded``)
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, int(cfg.link.rx_queue_max)))
        self.dropped = 0
        self._done_lock = threading.Lock()  # records are finished by the main thread and the render thread

    WARM_USERS = 4

    def _warm(self) -> None:
        """Voice, TTS and face of the first few enrolled users made ready now, not at their first message."""
        enrolled = set(self.reconstructor.kb.users())
        users = [k.user for k in self.keys.users()[::-1] if k.user in enrolled][: self.WARM_USERS]  # newest keys first
        for user in users:
            try:
                self.reconstructor.warm(user)
            except Exception as e:  # warming only saves time: the message will say what is wrong
                self.progress(f"receiver: could not prepare {user}'s voice and face: {type(e).__name__}: {e}")

    def note(self, message: str) -> None:
        self.progress(f"receiver: {message}")
        if self.log:
            self.log.write("note", {"t": time.time(), "source": "rx", "message": message})

    # ------------------------------------------------------------------------------------------------ loop
    def run(self, stop: threading.Event) -> int:
        """Serve until ``stop`` is set; the number of messages handled."""
        from ..link import PhyLink

        link = PhyLink(None, self.cfg.link.rx_address, None)
        taker = threading.Thread(target=self._take, args=(link, stop), name="rx-take", daemon=True)
        taker.start()
        self.note(f"listening on {self.cfg.link.rx_address}")
        handled = [0]
        renders: queue.Queue = queue.Queue()  # (record, its phrase stream if already synthesising, else None)
        renderer = threading.Thread(target=self._render_loop, args=(renders, handled), name="rx-render", daemon=True)
        renderer.start()
        try:
            while True:
                taker_done = not taker.is_alive()  # before looking at the queue: its last put is then visible
                if taker_done and not stop.is_set():
                    raise BackendError("the receiver's socket thread died; see the log above")
                if taker_done and self.queue.empty():
                    break
                try:
                    meta, payload, t_arrived = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                stream, render = None, False
                try:
                    rec = self.receive(meta, payload, t_arrived)
                    if rec.status == "ok":  # the next to render starts its speech now; a backlog waits, so it
                        stream = self._begin_render(rec, start=renders.empty())  # cannot slow what is shown
                        render = stream is not None
                except Exception as e:  # one bad message must not end the service or lose its record
                    rec = RxRecord(int(meta["seq"]), int(meta["sender_id"]), None, "undecodable",
                                   t_arrived=round(t_arrived, 4))
                    rec.reason = f"receiver error: {type(e).__name__}: {str(e)[:200]}"
                    self.note(f"[{rec.seq}] {rec.reason}")
                if render:
                    renders.put((rec, stream))
                else:
                    self._done(rec, handled)
        finally:
            renders.put(None)
            renderer.join()  # the messages already decoded are rendered and recorded
            stop.set()
            taker.join(2)
            link.close()
            self.close_feedback()
        return handled[0]

    def _render_loop(self, renders: queue.Queue, handled: list[int]) -> None:
        """The receiver's second thread: the frames of each decoded message in turn, while the main thread decodes the
        next one and its first phrase is synthesised (``Reconstructor.begin``)."""
        while (item := renders.get()) is not None:
            rec, stream = item
            self._render_or_note(rec, stream)
            self._done(rec, handled)

    def _done(self, rec: RxRecord, handled: list[int]) -> None:
        with self._done_lock:
            handled[0] += 1
        if self.log:
            self.log.write("done", rec)
        if self.view is not None:
            self.view.message(rec, "done")
        shown = rec.restored_text if rec.status == "ok" else f"{rec.status} ({rec.reason})"
        self.progress(f"receiver: [{rec.seq}] from {rec.user or rec.sender_id}: {shown!r}")

    def close_feedback(self) -> None:
        self.feedback.close()
        if self.feedback_auth is not None:
            self.feedback_auth.stop()
            self.feedback_auth = None

    def _take(self, link, stop: threading.Event) -> None:
        """Take PDUs off the socket as they arrive: log the arrival, queue for decoding."""
        while not stop.is_set():
            try:
                got = link.recv(timeout=0.2)
            except Exception as e:  # a malformed PDU: report it, keep serving
                self.note(f"malformed PDU ignored: {type(e).__name__}: {str(e)[:120]}")
                continue
            if got is None:
                continue
            meta, payload = got
            t = time.time()
            try:  # a fuzzed PDU may carry inf (OverflowError), arrays or out-of-range numbers here
                sid, seq = int(meta["sender_id"]), int(meta["seq"])
                if not (0 <= sid <= 0xFFFF and 0 <= seq <= 0xFFFFFFFF):
                    raise ValueError
            except (KeyError, TypeError, ValueError, OverflowError):
                self.note("PDU without a valid sender id or sequence number ignored")
                continue
            try:  # first: whatever fails below, the message is decoded and recorded
                self.queue.put_nowait((meta, payload, t))
            except queue.Full:
                self._overloaded(sid, seq, t)
                continue
            try:
                if self.log:
                    self.log.write("arrived", {"sender_id": sid, "seq": seq, "t": t})
            except Exception as e:
                self.note(f"[{seq}] arrival not logged: {type(e).__name__}: {str(e)[:120]}")

    def _overloaded(self, sid: int, seq: int, t: float) -> None:
        """The decode queue is full: this message is dropped unread and recorded ``lost`` with the reason (its
        sender and number are the header's, unverified: a genuine copy that arrives later still counts)."""
        self.dropped += 1
        rec = RxRecord(seq, sid, None, "lost", t_arrived=round(t, 4))
        rec.reason = (f"receiver overloaded: {self.queue.maxsize} messages were waiting to be decoded "
                      "(link.rx_queue_max), so this one was dropped unread")
        if self.dropped == 1 or self.dropped % 100 == 0:  # a flood must not flood the log with notes too
            self.note(f"receiver overloaded: {self.dropped} message(s) dropped so far (sender {sid} seq {seq} now)")
        try:
            if self.log:
                self.log.write("done", rec)
        except Exception as e:
            self.note(f"[{seq}] dropped message not logged: {type(e).__name__}: {str(e)[:120]}")

    # ------------------------------------------------------------------------------------------- one PDU
    def handle(self, meta: dict, payload: np.ndarray, t_arrived: float) -> RxRecord:
        """One PDU: decoded, checked, corrected and rendered. (``run`` renders on a thread of its own instead, so
        the next message is decoded, and its first phrase synthesised, while this one's frames are made.)"""
        rec = self.receive(meta, payload, t_arrived)
        if rec.status == "ok":
            self._render_or_note(rec)
        return rec

    def receive(self, meta: dict, payload: np.ndarray, t_arrived: float) -> RxRecord:
        """One PDU decoded, checked and corrected: everything but the voice and face (status "ok": render it)."""
        sid, seq = int(meta["sender_id"]), int(meta["seq"])
        rec = RxRecord(seq, sid, None, "undecodable", t_arrived=round(t_arrived, 4))
        rec.latency_s["queue_s"] = round(max(0.0, time.time() - t_arrived), 4)  # waiting behind earlier messages
        rec.snr_db = round(float(meta["snr_db"]), 2) if meta.get("snr_db") is not None else None
        try:
            rec.prompt_class = CLASSES[int(meta.get("prompt_class", 2))]
        except (IndexError, ValueError):
            rec.reason = "bad prompt class in the header"
            return rec
        sender = self.keys.by_sender_id(sid)
        if sender is None:
            rec.status, rec.reason = "unknown_sender", f"no key for sender id {sid} in {self.keys.path}"
            return rec
        rec.user = sender.user
        if self.keys.is_replay(sid, seq):
            rec.status, rec.reason = "replay", f"sequence number {seq} was already accepted from {sender.user}"
            self.note(f"refused a replayed message: {sender.user} seq {seq}")
            return rec
        t = time.perf_counter()
        try:
            text, words = self._decode(meta, payload, sender.key, rec)
        except LgmtscError as e:
            rec.reason = e.message
            # a digital message whose text this receiver could not decode is reported unverified: its transmitter
            # must not code later messages after it (and restarts its conversation context)
            self._feed_back(sender, meta, rec, held=meta.get("mode") not in ("digital", 1))
            return rec
        rec.latency_s["decode_s"] = round(time.perf_counter() - t, 4)
        rec.received_text = rec.restored_text = text
        if rec.verified and not self.keys.accept(sid, seq):  # a replay that raced us
            rec.status, rec.reason = "replay", f"sequence number {seq} was already accepted"
            return rec
        self._feed_back(sender, meta, rec)
        if self.kb is not None and text.strip():
            t = time.perf_counter()
            try:
                res = self.kb.receive(sender.user, text, length_class=rec.prompt_class, word_confidences=words,
                                      hotwords=self.hotwords)
                rec.restored_text, rec.kb = res.text, res.to_dict()
            except Exception as e:  # the KB only improves the text: go on with the decoded one
                self.note(f"[{seq}] private KB failed, decoded text kept: {type(e).__name__}: {str(e)[:160]}")
            rec.latency_s["kb_rx_s"] = round(time.perf_counter() - t, 3)
        if not rec.verified:
            rec.status = "unverified"
            rec.reason = (f"the tag did not verify for {sender.user} ({rec.candidates_tried} candidates tried): "
                          "forged, or too many channel errors; shown as text only")
            return rec
        rec.status = "ok"
        if self.view is not None:
            self.view.message(rec, "decoded")
        return rec

    def _feed_back(self, sender, meta: dict, rec: RxRecord, held: bool = True) -> None:
        """The SNR of this sender's burst to its transmitter, MAC'd under its key, marked verified or not
        (``link.feedback``: the transmitter takes only verified ones; ``held=False``: reported unverified although
        the tag verified, since the text was not decoded). A value the PHY cannot produce is not sent."""
        snr = rec.snr_db
        if snr is None or not (SNR_RANGE_DB[0] <= snr <= SNR_RANGE_DB[1]):
            return
        try:
            self.feedback.send(make_report(sender.key, sender.sender_id, rec.seq, snr, rec.verified and held))
        except Exception as e:
            self.note(f"[{rec.seq}] SNR not fed back: {type(e).__name__}: {str(e)[:120]}")

    def _decode(self, meta: dict, payload: np.ndarray, key: bytes, rec: RxRecord):
        """Text, per-word confidences for the KB, and the tag verdict written into ``rec``. The payload is
        deciphered (digital, once its tag verified) or unscrambled (semantic) with the sender's key
        (``link.crypto``)."""
        mode = meta.get("mode", "semantic")
        sid, seq = int(meta["sender_id"]), int(meta["seq"])
        if mode in ("digital", 1):
            if meta.get("crc_ok") is False:  # only a link with a payload CRC reports one; ours rely on the tag
                raise LgmtscError("the payload CRC failed (digital mode)")
            if np.asarray(payload).dtype != np.uint8:  # a digital burst carries bytes; anything else is malformed
                raise LgmtscError(f"malformed digital payload: {np.asarray(payload).dtype} items, expected bytes")
            data = np.asarray(payload, dtype=np.uint8).tobytes()
            rec.candidates_tried = 1
            rec.verified = verify_tag(key, meta, data)
            if not rec.verified:  # the ciphertext is not the sender's: nothing to decipher, no text to show
                return "", []
            # link format (no header, no CRC): the association names the sender's text models (``text_model``);
            # with textcoder.context the message may be coded after this sender's earlier messages held here
            # (``ContextMissing``, reported undecodable with the reason, if one of them is not)
            dec = self.text_coder().decode_link(decrypt_digital(key, sid, seq, data), meta.get("text_model"),
                                                self.conversations.context(sid, seq))
            text = dec.text
            self.conversations.add(sid, seq, text)
            self._prewarm_context(sid, seq, dec.context)
            return text, [1.0] * len(text.split())
        n = int(meta["n_tokens"])
        symbols, noise_var = unscramble_symbols(key, sid, seq, payload, meta["noise_var"])
        ids, probs = self.codec.decode_candidates(symbols, noise_var, n, k=4)
        verified_ids, rec.candidates_tried = verify_semantic(key, meta, ids, probs, budget=self.cfg.link.auth_budget)
        rec.verified = verified_ids is not None
        if rec.verified:
            text = self.codec.encoder.detokenize(verified_ids)
            return text, [1.0] * len(text.split())  # exact: the KB must not edit it
        return self.codec.words_with_confidence(ids, probs)

    def _prewarm_context(self, sid: int, seq: int, used: tuple[int, ...]) -> None:
        """A message coded ``lag`` >= 2 messages behind (its transmitter heard the reports late): the next one
        probably is too, so its context (this sender's held messages up to ``seq + 1 - lag``) is evaluated now, on
        the text coder's own thread, not when it arrives (only time: the text never depends on it)."""
        lag = seq - used[-1] if used else 0
        if lag < 2:  # none, or the LM's cache already holds all but the newline the next message adds
            return
        from ..textcoder.coder import LinkContext
        from ..textcoder.context import ContextPrewarmer

        if self._prewarm is None:
            self._prewarm = ContextPrewarmer(self.text_coder())
        held = self.conversations.context(sid, seq + 1).held
        self._prewarm.request(LinkContext(seq + 1, {q: t for q, t in held.items() if q <= seq + 1 - lag}))

    def text_coder(self):
        if self._text_coder is None:
            from ..textcoder.coder import TextCoder

            self._text_coder = TextCoder.load(self.cfg.textcoder)
        return self._text_coder

    def _render_or_note(self, rec: RxRecord, stream=None) -> None:
        try:
            self._render(rec.user, rec, stream)
        except Exception as e:  # authentic text stays "ok"; it is shown without face and voice
            msg = e.message if isinstance(e, LgmtscError) else f"{type(e).__name__}: {str(e)[:160]}"
            rec.reason = f"not rendered: {msg}; text only"
            self.note(f"[{rec.seq}] {rec.reason}")

    def _begin_render(self, rec: RxRecord, start: bool = True):
        """The message's phrase stream (``Reconstructor.begin``: profile and voice looked up in this thread, speech
        synthesised from now on, or from its first use with ``start=False``); None when there is nothing to render
        (no reconstructor, the sender not enrolled, nothing to say: the reason is written into ``rec``)."""
        if self.reconstructor is None:
            return None
        if rec.user not in self.reconstructor.kb.users():
            rec.reason = f"{rec.user} is not enrolled in the public KB: text only"
            return None
        try:
            return self.reconstructor.begin(rec.user, rec.restored_text, start)
        except Exception as e:
            msg = e.message if isinstance(e, LgmtscError) else f"{type(e).__name__}: {str(e)[:160]}"
            rec.reason = f"not rendered: {msg}; text only"
            self.note(f"[{rec.seq}] {rec.reason}")
            return None

    def _render(self, user: str, rec: RxRecord, stream=None) -> None:
        """Streamed phrase by phrase: each phrase's audio and frames go to the live view and the clip as they are
        produced. ``stream``: the message's phrase stream if it was begun earlier. Latencies: ``tts_first_s``
        (from the start of synthesis to the first phrase's speech), ``render_wait_s`` (waiting for the previous
        message's frames, before synthesis started and after the speech was ready), ``first_frame_s`` (from then to
        the first frame) and ``render_all_s`` (from the start of synthesis to the whole clip)."""
        from ..reconstruct.output import Mp4Writer

        if stream is None:
            stream = self._begin_render(rec)
            if stream is None:
                return
        clip = self.out_dir / f"utterance_{rec.sender_id}_{rec.seq:05d}.mp4"
        key = f"{rec.sender_id}_{rec.seq}"
        t_audio: list[float] = []

        def on_frame(i: int, frame: np.ndarray) -> None:
            if i == 0:
                rec.t_first_frame = round(time.time(), 4)
                rec.latency_s["first_frame_s"] = round(time.perf_counter() - t_audio[0], 4)
            if self.view is not None:
                self.view.frame(key, i, frame)
            if self.preview_every and i % self.preview_every == 0:
                self._preview(frame)

        writer = None
        try:
            for ph in stream:
                if writer is None:
                    t_audio.append(time.perf_counter())
                    rec.latency_s["tts_first_s"] = round(ph.ready_s, 3)
                    # waiting for the previous message's frames: before synthesis started (a backlog) and after
                    rec.latency_s["render_wait_s"] = round(stream.t0 - stream.t_created
                                                           + max(0.0, t_audio[0] - stream.t0 - ph.ready_s), 3)
                    writer = Mp4Writer(clip, ph.sample_rate, self.reconstructor.cfg.fps)
                if self.view is not None:
                    self.view.phrase(key, ph.index, writer.n_frames, ph)
                writer.add(ph.audio, ph.frames, on_frame)
            if writer is not None:
                writer.close()
        except BaseException:
            stream.close()
            if writer is not None:
                writer.abort()
            raise
        finally:
            if self.view is not None:
                self.view.end(key, writer.n_frames if writer is not None else 0)
        rec.latency_s["render_all_s"] = round(time.perf_counter() - stream.t0, 3)
        rec.video = clip.name

    def _preview(self, frame: np.ndarray) -> None:
        from PIL import Image

        tmp = self.out_dir / ".preview.jpg"
        Image.fromarray(np.ascontiguousarray(frame[..., :3])).save(tmp, quality=85)
        tmp.replace(self.out_dir / "preview.jpg")


def serve(cfg: Config, out_dir: Path, stop: threading.Event | None = None, **kw) -> int:
    """Run a receiver until SIGINT/SIGTERM (or ``stop``); the number of messages handled."""
    import signal

    stop = stop or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: stop.set())
    return Receiver(cfg, out_dir, **kw).run(stop)
