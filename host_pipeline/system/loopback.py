"""One-machine link: the talking-face input through ASR, the semantic codec and a real GNU Radio loopback
flowgraph (channel model) over ZeroMQ, and back to text, with a per-utterance report.

Each utterance is one message: its PDU carries the sender id, a sequence number, the token count and the
prompt class in the burst header, and a received PDU is matched to its message by (sender id, sequence
number) only, so a lost or late burst can never be decoded as another message.

With the private KB on, the transmitter compresses each utterance to the length class that the ANFIS prompt
encoder picks from the receiver's latest SNR estimate (fed back after every message; the first message,
sent before any feedback, goes uncompressed), and the receiver corrects and restores the text with the class
read from the burst header.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..config import Config
from ..errors import BackendError, InputError
from ..kb.anfis import CLASSES
from .flowgraph import FlowgraphProcess

CHANNELS = ("awgn", "rayleigh", "none")


@dataclass
class UtteranceReport:
    seq: int
    start_s: float
    end_s: float
    transcript: str  # what the ASR heard
    sent_text: str  # what the transmitter encoded (after the private KB, if on)
    prompt_class: int  # index into host_pipeline.kb.anfis.CLASSES (low, medium, high)
    feedback_snr_db: Optional[float]  # the SNR the transmitter's prompt encoder used (None: no feedback yet)
    n_tokens: int
    channel_uses: int  # complex payload symbols sent
    status: str = "pending"  # "ok", "lost" (no burst decoded in time)
    received_text: Optional[str] = None  # after channel and semantic decoding
    restored_text: Optional[str] = None  # after the receiver's private KB (= received_text when it is off)
    snr_db: Optional[float] = None  # the receiver's estimate (Es/N0)
    similarity: Optional[float] = None  # sentence similarity of transcript and restored text
    kb: dict = field(default_factory=dict)  # the KB steps on both sides, when on
    video: Optional[str] = None  # the reconstructed talking-face clip of this utterance
    latency_s: dict[str, float] = field(default_factory=dict)


@dataclass
class LoopbackReport:
    input: str
    channel: str
    esn0_db: float
    mode: str
    kb: bool
    user: Optional[str] = None
    utterances: list[UtteranceReport] = field(default_factory=list)
    duration_s: float = 0.0
    video: Optional[str] = None  # all reconstructed utterances, in order

    def to_dict(self) -> dict:
        d = asdict(self)
        ok = [u for u in self.utterances if u.status == "ok"]
        uses = sum(u.channel_uses for u in self.utterances)
        d["summary"] = {
            "utterances": len(self.utterances), "received": len(ok),
            "mean_similarity": round(float(np.mean([u.similarity for u in ok])), 4) if ok else None,
            "mean_snr_db": round(float(np.mean([u.snr_db for u in ok])), 2) if ok else None,
            "payload_channel_uses": uses,
            "payload_channel_uses_per_s": round(uses / self.duration_s, 1) if self.duration_s else None,
        }
        return d


def flowgraph_args(channel: str, esn0_db: float, cfg: Config, seed: int) -> list[str]:
    return ["--channel", channel, "--esn0-db", str(esn0_db), "--seed", str(seed),
            "--tx-addr", cfg.link.tx_address, "--rx-addr", cfg.link.rx_address, "--snr-addr", cfg.link.snr_address]


def run_loopback(video: str, cfg: Config, channel: str = "awgn", esn0_db: float = 15.0, out_dir: Path | None = None,
                 seed: int = 1, hotwords: list[str] | None = None, use_kb: bool = True, user: str | None = None,
                 reconstruct: bool = True, enroll: bool = False,
                 progress: Callable[[str], None] = print) -> LoopbackReport:
    """Transmit every utterance of ``video`` through the loopback flowgraph, decode it and (with ``reconstruct``)
    render the sender's talking face saying the received text; write report.json (and video.mp4) to out_dir.

    ``reconstruct`` needs ``user`` enrolled in the public KB; ``enroll`` enrolls them from ``video`` first.
    """
    from ..asr import SpeechExtractor
    from ..codec import SemanticCodec
    from ..link import PhyLink
    from ..media import iter_audio, probe

    probe(video)
    if reconstruct and not user:
        raise InputError("reconstructing the talking face needs the sender's user id", hint="add --user ID (and "
                         "--enroll to enroll them from this video), or --no-video for text only")
    out_dir = out_dir or Path("out") / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = LoopbackReport(str(video), channel, esn0_db, "semantic", use_kb, user)
    reconstructor = _reconstructor(cfg, user, video, enroll, progress) if reconstruct else None
    progress("loading models (ASR, semantic codec" + (", private KB LLM)" if use_kb else ")"))
    extractor = SpeechExtractor(cfg.asr, cfg.vad)
    codec = SemanticCodec.load(cfg.codec)
    kb = None
    if use_kb:
        from ..kb import PrivateKnowledgeBase

        kb = PrivateKnowledgeBase.load(cfg.kb, cfg.llm)
    fg = FlowgraphProcess("loopback", flowgraph_args(channel, esn0_db, cfg, seed), cfg.link.tx_address)
    progress(f"starting the GNU Radio loopback flowgraph ({channel}, Es/N0 {esn0_db:g} dB)")
    t_start = time.perf_counter()
    with fg:
        link = PhyLink(cfg.link.tx_address, cfg.link.rx_address, cfg.link.snr_address)
        link.wait_ready()
        try:
            t_asr = time.perf_counter()
            feedback: Optional[float] = None
            for seq, seg in enumerate(extractor.stream(iter_audio(video), hotwords), start=1):
                asr_s = time.perf_counter() - t_asr
                u = _send_one(seq, seg, feedback, codec, kb, user, link, cfg)
                u.latency_s["asr_s"] = round(asr_s, 3)
                _receive_one(u, codec, kb, user, link, fg, cfg)
                if reconstructor is not None and u.status == "ok":
                    t = time.perf_counter()
                    clip = out_dir / f"utterance_{seq:03d}.mp4"
                    reconstructor.to_mp4(user, u.restored_text, clip)
                    u.video = clip.name
                    u.latency_s["reconstruct_s"] = round(time.perf_counter() - t, 3)
                report.utterances.append(u)
                if u.snr_db is not None:
                    feedback = u.snr_db
                cls = CLASSES[u.prompt_class]
                progress(f"[{seq}] {u.status} ({cls} class): {u.transcript!r} -> {u.restored_text!r}"
                         + (f" (SNR {u.snr_db:.1f} dB, similarity {u.similarity:.2f})" if u.status == "ok" else ""))
                t_asr = time.perf_counter()
        finally:
            link.close()
    report.duration_s = round(time.perf_counter() - t_start, 3)
    clips = [out_dir / u.video for u in report.utterances if u.video]
    if clips:
        report.video = _concat(clips, out_dir / "video.mp4").name
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    return report


def _reconstructor(cfg: Config, user: str, video: str, enroll: bool, progress: Callable[[str], None]):
    """The receiver's reconstructor, with ``user`` enrolled in the public KB (from ``video`` if asked)."""
    from ..publickb.store import PublicKb
    from ..reconstruct.pipeline import Reconstructor

    kb = PublicKb(cfg.publickb)
    if enroll:
        from ..publickb.enroll import Enroller

        progress(f"enrolling {user} in the public KB from {video}")
        kb.put(Enroller(cfg.publickb).enroll(user, video=video))
    elif user not in kb.users():
        raise InputError(f"user {user!r} is not enrolled in the public KB",
                         hint=f"run `lgmtsc enroll --user {user} --video FILE`, or add --enroll")
    progress("loading the reconstructor (TTS, face animator)")
    return Reconstructor(cfg.reconstruct, cfg.publickb, kb)


def _concat(clips: list[Path], out: Path) -> Path:
    """Join per-utterance mp4 clips (same encoder settings) without re-encoding."""
    import subprocess

    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{c.name}'\n" for c in clips))
    r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                        str(listing), "-c", "copy", "-movflags", "+faststart", str(out)], capture_output=True, text=True)
    listing.unlink(missing_ok=True)
    if r.returncode != 0:
        raise BackendError(f"ffmpeg could not join the utterance videos: {r.stderr.strip()[-300:]}")
    return out


def _send_one(seq: int, seg, feedback: Optional[float], codec, kb, user, link, cfg: Config) -> UtteranceReport:
    text, cls, kb_tx, kb_s = seg.text, "high", None, 0.0
    if kb is not None:
        t = time.perf_counter()
        res = kb.transmit(user, seg.text, snr_db=feedback) if feedback is not None else \
            kb.transmit(user, seg.text, length_class="high")
        kb_s = time.perf_counter() - t
        text, cls, kb_tx = res.text, res.length_class, res.to_dict()
    t = time.perf_counter()
    enc = codec.encode(text)
    encode_s = time.perf_counter() - t
    prompt_class = CLASSES.index(cls)
    u = UtteranceReport(seq, seg.start, seg.end, seg.text, text, prompt_class, feedback, enc.n_tokens,
                        int(enc.symbols.size))
    if kb_tx is not None:
        u.kb["tx"] = kb_tx
        u.latency_s["kb_tx_s"] = round(kb_s, 3)
    meta = {"version": 1, "mode": "semantic", "sender_id": cfg.link.sender_id, "seq": seq, "n_tokens": enc.n_tokens,
            "prompt_class": prompt_class, "flags": 0, "auth_tag": 0}
    link.send(meta, enc.symbols)
    u.latency_s["encode_s"] = round(encode_s, 4)
    u.latency_s["_sent_at"] = time.perf_counter()
    return u


def _receive_one(u: UtteranceReport, codec, kb, user, link, fg: FlowgraphProcess, cfg: Config) -> None:
    sent_at = u.latency_s.pop("_sent_at")
    deadline = sent_at + cfg.link.timeout_s
    while time.perf_counter() < deadline:
        if not fg.alive():
            raise BackendError(f"the loopback flowgraph stopped: {fg.last_error()}", hint=f"log: {fg.log_path}")
        got = link.recv(timeout=min(0.5, max(0.01, deadline - time.perf_counter())))
        if got is None:
            continue
        meta, payload = got
        if meta.get("sender_id") != cfg.link.sender_id or meta.get("seq") != u.seq:
            continue  # a burst of another message (late or foreign): never decoded as this one
        u.latency_s["link_s"] = round(time.perf_counter() - sent_at, 4)
        t = time.perf_counter()
        u.received_text = codec.decode(payload, meta["noise_var"], int(meta["n_tokens"]))
        u.latency_s["decode_s"] = round(time.perf_counter() - t, 4)
        u.snr_db = round(float(meta["snr_db"]), 2)
        u.restored_text = u.received_text
        if kb is not None:
            t = time.perf_counter()
            res = kb.receive(user, u.received_text, length_class=CLASSES[int(meta["prompt_class"])])
            u.latency_s["kb_rx_s"] = round(time.perf_counter() - t, 3)
            u.restored_text, u.kb["rx"] = res.text, res.to_dict()
        emb = codec.encoder.sentence_embeddings([u.transcript, u.restored_text]).numpy()
        u.similarity = round(float(emb[0] @ emb[1] / (np.linalg.norm(emb[0]) * np.linalg.norm(emb[1]) + 1e-12)), 4)
        u.status = "ok"
        return
    u.status = "lost"
