"""``lgmtsc eval compression`` (Fig. 8): bit rate and compression ratio against the raw clip, per scheme.

Rows per clip (bit/s over the clip's duration; ratio = raw bit/s / scheme bit/s):
- raw: RGB24 frames at the clip's frame rate + 16-bit PCM at its sample rate and channel count;
- H.264 (libx264, several CRFs, preset medium) and AV1 (libaom-av1, constant quality), each with AAC 16 kbit/s,
  measured as the size of the mp4 ffmpeg writes;
- Codec2 700C speech (libcodec2, 8 kHz mono) plus one JPEG still of the first frame, sent once per clip, and
  Codec 2 450 at its nominal 450 bit/s (Debian's ffmpeg/libcodec2 stops at 700C, so this row is computed);
- a Txt2Vid-style transcript: the UTF-8 bytes of the text (a reference face/video is assumed pre-shared);
- the lossless text coder (``host_pipeline.textcoder``, static order-4 and LM arithmetic coding), if present;
- this system, one burst per utterance: the semantic mode (each checkpoint's ``n_tokens * uses`` complex symbols)
  and the digital mode (the text coder's bytes, as ``lgmtsc tx --mode digital`` sends them, + CRC32, K=7 r=1/2
  code, QPSK); the Txt2Vid-style transcript sent the same way, for a like-for-like comparison. "all-in" rows count
  every channel use on air (``channel_uses_per_s``, gr-lgmtsc's ``Frame.burst_symbols``: preamble, header, tag
  block, pilots, payload, pulse tail and guard, plus 1/ASSOC_EVERY of an association burst per message) and, as
  bytes, every information bit (header 48 + tag 32 + payload + its CRC32 + 1/ASSOC_EVERY of the association's
  112; semantic rows: 2 bits per channel use, the QPSK equivalent); "payload only" rows the payload alone.
  "short burst format" rows: the same messages all-in as ``lgmtsc tx`` sends them on a good link (the receiver's
  reports >= ``link.short_preamble_min_snr_db``: 86-symbol preamble, header and tag in 16-QAM; the association's
  share stays the long format's).
The text is the ASR transcript of the clip (one message per utterance) unless ``transcript`` is given.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BackendError, InputError

AAC_BITRATE = "16k"


def probe_clip(path: Path) -> dict:
    """Duration, frame size/rate and audio format of a clip (ffprobe); InputError if unusable."""
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    out = _run(["ffprobe", "-v", "error", "-show_entries",
                "stream=codec_type,width,height,avg_frame_rate,sample_rate,channels:format=duration",
                "-of", "json", str(path)], f"ffprobe cannot read {path}")
    info = json.loads(out)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float(info.get("format", {}).get("duration") or 0)
    if video is None or audio is None or duration <= 0:
        raise InputError(f"{path}: needs a video and an audio track", hint="a talking-face clip with its speech")
    num, _, den = video.get("avg_frame_rate", "0/0").partition("/")
    if not float(num or 0) or not float(den or 1):
        raise InputError(f"{path}: its video track has no frame rate (a still image or a broken stream?)")
    return {"duration_s": duration, "width": int(video["width"]), "height": int(video["height"]),
            "fps": float(num) / float(den or 1), "sample_rate": int(audio["sample_rate"]),
            "channels": int(audio.get("channels", 1))}


def _run(cmd: list[str], what: str) -> str:
    if shutil.which(cmd[0]) is None:
        raise BackendError(f"{cmd[0]} not found", hint="install ffmpeg (make setup)")
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        raise BackendError(f"{what}: {last}")
    return res.stdout


def _encoded_size(src: Path, out: Path, args: list[str]) -> int:
    _run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(out)], f"ffmpeg ({' '.join(args[:2])})")
    return out.stat().st_size


def media_rows(clip: Path, info: dict, tmp: Path, crfs: list[int], av1_crf: int) -> list[dict]:
    """Raw, H.264, AV1 and Codec2 700C + still rows (bytes for the whole clip)."""
    raw_bytes = info["duration_s"] * (info["width"] * info["height"] * 3 * info["fps"]
                                      + info["sample_rate"] * 2 * info["channels"])
    rows = [{"scheme": "raw (RGB24 + PCM16)", "family": "raw", "bytes": raw_bytes}]
    aac = ["-c:a", "aac", "-b:a", AAC_BITRATE]
    for crf in crfs:
        n = _encoded_size(clip, tmp / f"h264_{crf}.mp4", ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf),
                                                           *aac])
        rows.append({"scheme": f"H.264 CRF {crf} + AAC {AAC_BITRATE}", "family": "video", "bytes": n})
    n = _encoded_size(clip, tmp / "av1.mp4", ["-c:v", "libaom-av1", "-crf", str(av1_crf), "-b:v", "0", "-cpu-used", "8",
                                              "-row-mt", "1", *aac])
    rows.append({"scheme": f"AV1 (libaom) CRF {av1_crf} + AAC {AAC_BITRATE}", "family": "video", "bytes": n})
    speech = _encoded_size(clip, tmp / "speech.c2", ["-vn", "-ac", "1", "-ar", "8000", "-c:a", "libcodec2",
                                                     "-mode", "700C", "-f", "codec2"])
    still = _encoded_size(clip, tmp / "still.jpg", ["-frames:v", "1", "-q:v", "5"])
    rows.append({"scheme": "Codec2 700C + one JPEG still", "family": "speech", "bytes": speech + still,
                 "note": f"speech {speech} B, still {still} B"})
    rows.append({"scheme": "Codec2 700C speech only", "family": "speech", "bytes": speech})
    rows.append({"scheme": "Codec 2 450 speech only (nominal rate)", "family": "speech",
                 "bytes": 450 / 8 * info["duration_s"], "note": "450 bit/s; not in this ffmpeg's libcodec2"})
    return rows


def transcript_messages(clip: Path, transcript: str | None) -> list[str]:
    """One message per utterance: the ASR segments of the clip, or the given transcript (one message)."""
    if transcript is not None:
        if not transcript.strip():
            raise InputError("the transcript is empty")
        return [transcript.strip()]
    from ..asr.extractor import SpeechExtractor
    from ..config import load_config

    cfg = load_config()
    segs = SpeechExtractor(cfg.asr, cfg.vad).transcribe_file(clip).segments
    msgs = [s.text.strip() for s in segs if s.text.strip()]
    if not msgs:
        raise InputError(f"{clip}: no speech recognised", hint="give the text with --transcript")
    return msgs


def system_rows(messages: list[str], checkpoints: tuple[str, ...] = ("minilm-l6-u16", "minilm-l6-u8")) -> list[dict]:
    """This system's semantic and digital modes: bits = channel uses x bits per use of each part's modulation."""
    from gnuradio.lgmtsc import frame as phy_frame
    from gnuradio.lgmtsc.pdu_format import PREAMBLE_LONG
    from gnuradio.lgmtsc.waveform import PREAMBLES

    from ..codec import CodecConfig, SemanticCodec
    from ..config import load_config

    frames = {kind: phy_frame.Frame(**pre) for kind, pre in PREAMBLES.items()}
    frame = frames[PREAMBLE_LONG]
    rows = []
    for name in checkpoints:
        codec = SemanticCodec.load(CodecConfig(checkpoint=name, unknown_chars="replace"))
        payload = [codec.encode(m).symbols.size for m in messages]
        rows += _burst_rows(frames, f"this system, semantic {name.split('-')[-1]}", payload, "this system",
                            payload_bits=[2 * p for p in payload])
    from ..textcoder.coder import LinkContext, TextCoder

    coder = TextCoder.load(load_config().textcoder)  # what the live link's digital mode sends
    # the link format: no framing or CRC of its own (the burst header has the length, the message tag the integrity);
    # the clip's utterances are one conversation: each coded after the earlier ones (textcoder.context, as the link
    # does once their verified reports are back)
    data = [len(coder.encode_link(m, LinkContext(i, dict(enumerate(messages[:i]))))) for i, m in enumerate(messages)]
    rows += _burst_rows(frames, "this system, digital QPSK+cc",
                        [frame.digital_n_symbols(d, "qpsk", "cc", False) for d in data], "this system",
                        f"text coder {sum(data)} B", payload_bits=[8 * d for d in data])
    # The peer's transcript on the same PHY: like for like with the rows above (Txt2Vid's own bit/s count text only)
    utf8 = [len(m.encode("utf-8")) for m in messages]
    rows += _burst_rows(frames, "Txt2Vid-style UTF-8 over this PHY, QPSK+cc",
                        [frame.digital_n_symbols(d, "qpsk", "cc", False) for d in utf8], "text", f"UTF-8 {sum(utf8)} B",
                        payload_bits=[8 * d for d in utf8])
    return rows


def _burst_rows(frames: dict, label: str, payload_uses: list[int], family: str, note: str = "",
                payload_bits: list[int] | None = None) -> list[dict]:
    """One burst per message. All-in, per burst format (``frames``: {preamble: Frame}, the long one first): every
    channel use on air and every information bit (header, tag, payload, association share; the association always
    goes in the long format); payload only: the payload's channel uses and bits."""
    from gnuradio.lgmtsc import header as H
    from gnuradio.lgmtsc.pdu_format import PREAMBLE_LONG

    n = len(payload_uses)
    bits = payload_bits if payload_bits is not None else [2 * p for p in payload_uses]
    assoc_uses = n * frames[PREAMBLE_LONG].association_symbols() / H.ASSOC_EVERY
    assoc_bits = n * (H.HEADER_BITS + H.ASSOC_BITS) / H.ASSOC_EVERY
    rows = []
    for kind, frame in frames.items():
        rows.append({"scheme": label + ("" if kind == PREAMBLE_LONG else f", {kind} burst format") + " (all-in)",
                     "family": family, "bytes": (sum(bits) + n * (H.HEADER_BITS + H.TAG_BITS) + assoc_bits) / 8,
                     "channel_uses": sum(frame.burst_symbols(p) for p in payload_uses) + assoc_uses,
                     "note": (note + "; " if note else "") + f"{n} burst(s), association 1/{H.ASSOC_EVERY} per message"
                     + ("" if kind == PREAMBLE_LONG else "; a link whose SNR reports are high")})
    rows.append({"scheme": label + " (payload only)", "family": family, "bytes": sum(bits) / 8,
                 "channel_uses": sum(payload_uses), "note": note})
    return rows


def text_rows(messages: list[str]) -> list[dict]:
    """The Txt2Vid-style UTF-8 transcript and the lossless text coder's messages (issue 10), if installed."""
    text = " ".join(messages)
    rows = [{"scheme": "Txt2Vid-style UTF-8 transcript", "family": "text", "bytes": len(text.encode("utf-8"))}]
    try:
        from ..textcoder.coder import TextCoder
    except ImportError:
        return rows
    from ..errors import LgmtscError

    coder = TextCoder.load()
    for name, label in (("static", "text coder, static order-4 model"), ("lm", "text coder, LM arithmetic coding")):
        try:
            n = sum(len(coder.encode(m, coder=name)) for m in messages)
        except LgmtscError as e:
            print(f"  ({label}: not available: {e.message})")
            continue
        rows.append({"scheme": f"{label} (header + CRC-16)", "family": "text", "bytes": n})
    return rows


def run_compression(clips: list[Path], out_dir: Path, crfs: list[int], av1_crf: int,
                    transcript: str | None = None, command: str = "") -> list[dict]:
    """All rows for every clip -> ``compression.csv`` + ``compression.png`` in ``out_dir``."""
    if transcript is not None and len(clips) > 1:
        raise InputError("--transcript applies to one clip; give one video")
    infos = [probe_clip(c) for c in clips]  # fail on a bad clip before any encoding
    rows = []
    for clip, info in zip(clips, infos):
        messages = transcript_messages(clip, transcript)
        with tempfile.TemporaryDirectory(prefix="lgmtsc-compression-") as tmp:
            clip_rows = media_rows(clip, info, Path(tmp), crfs, av1_crf)
        clip_rows += text_rows(messages) + system_rows(messages)
        raw = clip_rows[0]["bytes"]
        for r in clip_rows:
            r.update({"clip": clip.name, "duration_s": round(info["duration_s"], 3), "messages": len(messages),
                      "bit_per_s": round(8 * r["bytes"] / info["duration_s"], 2),
                      "compression_ratio": round(raw / r["bytes"], 1), "bytes": round(r["bytes"], 1)})
            if "channel_uses" in r:
                r["channel_uses_per_s"] = round(r.pop("channel_uses") / info["duration_s"], 1)
        rows += clip_rows
        _print(clip, messages, clip_rows)
    fields = ["clip", "scheme", "family", "bytes", "duration_s", "bit_per_s", "compression_ratio", "messages",
              "channel_uses_per_s", "note"]
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "compression.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    (out_dir / "compression.json").write_text(json.dumps({"command": command, "clips": [str(c) for c in clips],
                                                          "text": transcript or "ASR"}, indent=1) + "\n")
    plot(rows, out_dir / "compression.png")
    print(f"wrote {out_dir / 'compression.csv'} and {out_dir / 'compression.png'}")
    return rows


def _print(clip: Path, messages: list[str], rows: list[dict]) -> None:
    print(f"{clip.name}: {rows[0]['duration_s']} s, {len(messages)} message(s): {' | '.join(messages)}")
    width = max(len(r["scheme"]) for r in rows) + 2
    for r in rows:
        uses = f"{r['channel_uses_per_s']:>10,.1f} uses/s" if r.get("channel_uses_per_s") not in (None, "") else ""
        print(f"  {r['scheme']:<{width}}{r['bit_per_s']:>14,.1f} bit/s{r['compression_ratio']:>14,.1f} x{uses}")


COLOURS = {"raw": "0.5", "video": "C0", "speech": "C2", "text": "C1", "this system": "C3"}


def plot(rows: list[dict], png: Path) -> Path:
    """Horizontal bars of bit/s per scheme (log scale), one panel per clip; this system's rows also name their
    channel uses per second (the short burst format's rows carry the same bits in fewer of them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = list(dict.fromkeys(r["clip"] for r in rows))
    n = max(len([r for r in rows if r["clip"] == c]) for c in clips)
    fig, axes = plt.subplots(len(clips), 1, figsize=(8.5, 0.32 * n * len(clips) + 1.2), squeeze=False)
    for ax, clip in zip(axes[:, 0], clips):
        rs = [r for r in rows if r["clip"] == clip]
        y = np.arange(len(rs))[::-1]
        ax.barh(y, [r["bit_per_s"] for r in rs], color=[COLOURS[r["family"]] for r in rs])
        for yi, r in zip(y, rs):
            uses = r.get("channel_uses_per_s")
            ax.text(r["bit_per_s"] * 1.15, yi, f"{r['bit_per_s']:,.0f} bit/s  ({r['compression_ratio']:,.0f}x)"
                    + (f";  {uses:,.0f} channel uses/s" if uses not in (None, "") else ""), va="center", fontsize=7)
        ax.set_yticks(y, [r["scheme"] for r in rs], fontsize=7)
        ax.set_xscale("log")
        ax.set_xlim(10, max(r["bit_per_s"] for r in rs) * 200)
        ax.set_xlabel("bit/s (log scale)")
        ax.set_title(f"{clip}: rate per scheme (ratio = raw / scheme)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png
