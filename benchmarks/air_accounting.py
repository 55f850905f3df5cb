#!/usr/bin/env python3
"""All-in rate of this system on the demo sample and the 10 GRID clips: every channel use on air and every
information bit, per second of speech, and whether every utterance verifies at Es/N0 6 dB.

Per message (one burst per utterance, as ``lgmtsc tx`` sends them): gr-lgmtsc's ``Frame.burst_symbols`` (preamble,
header, tag block, pilots, payload, pulse tail, guard) plus 1/ASSOC_EVERY of an association burst. With a backlog
(``*_backlog`` columns): a clip's messages queued together share one burst (burst_tx's ``max_messages``), as when
a file's utterances are transcribed before the flowgraph takes them: ``Frame.messages_symbols``; a GRID clip is
one utterance, so the same as one burst per utterance. Information
bits (digital mode, as ``lgmtsc tx`` sends it): header 48 + tag 32 + the text coder's link-format message (no
header, no CRC: ``TextCoder.encode_link``; no payload CRC32 on air, ``payload_crc=False``) + 1/ASSOC_EVERY of the
association (header 48 + 136). Conversation context (``textcoder.context``, the default): the demo's utterances are one
conversation, each coded after the earlier ones (as ``lgmtsc tx`` does with a file: each verified report is back
before the next message); a GRID clip is a first message with no history (``digital QPSK+cc``), and, as a second,
hypothetical row (``digital, GRID session``), coded after the GRID clips before it in the file, as if one talker had
said them in a row (they are 10 talkers'; GRID's talkers each recorded 1,000 such sentences). Verification: each
semantic message through the burst receiver (numpy AWGN
channel at ``--esn0`` dB, CFO up to +-0.5 % of fs) and the host's tag search (``auth.verify_semantic``, budget
4096); each digital message: its tag, then the text decoded (``decode_link``) equal to the transcript.
Transcripts: samples/demo/transcript.tsv (3 utterances) and
data/video/grid/transcripts.tsv (one each). ``--preamble short``: the message bursts start with the short preamble
(``waveform.PREAMBLES``; the transmitter host uses it while the receiver's fresh reports say at least
``link.short_preamble_min_snr_db``, 11 dB: the short burst format, whose header and tag block are 16-QAM), received
with its own trigger threshold; the association's share stays the long preamble's.

    python benchmarks/air_accounting.py --out out/bench/air_accounting
    python benchmarks/air_accounting.py --preamble short --esn0 12 --out out/bench/air_accounting_short12
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gnuradio.lgmtsc import frame, sim
from gnuradio.lgmtsc import header as H
from gnuradio.lgmtsc import pdu_format as pf
from gnuradio.lgmtsc.waveform import PREAMBLES, TRIGGER_THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from host_pipeline.link.auth import compute_tag, token_bytes, verify_semantic, verify_tag  # noqa: E402


def clips() -> list[tuple[str, float, list[str]]]:
    out = []
    demo = ROOT / "samples" / "demo"
    rows = [ln.split("\t") for ln in (demo / "transcript.tsv").read_text().splitlines()[1:] if ln.strip()]
    out.append(("talking_face_demo.mp4", _duration(demo / "talking_face_demo.mp4"), [r[2] for r in rows]))
    grid = ROOT / "data" / "video" / "grid"
    for ln in (grid / "transcripts.tsv").read_text().splitlines()[1:]:
        name, _, text = ln.split("\t")
        out.append((name, _duration(grid / name), [text]))
    return out


def _duration(path: Path) -> float:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                       capture_output=True, text=True, check=True)
    return float(r.stdout)


def through_phy(f, rng, sent, esn0, threshold=TRIGGER_THRESHOLDS[pf.PREAMBLE_LONG]):
    """[(meta, payload, ...), ...] in one burst through AWGN + CFO and the receiver -> the received message (or
    None) for each."""
    parsed = [f.parse_tx(s[0], s[1]) for s in sent]
    x = f.messages_burst([p[1:] for p in parsed])
    y = sim.channel(x, rng, esn0, cfo_=rng.uniform(-0.005, 0.005), delay_=rng.uniform(0, 4),
                    lead=int(rng.integers(100, 2000)))
    y = np.concatenate([y, sim.awgn(np.zeros(2000), esn0, f.sps, rng).astype(np.complex64)])
    rx = frame.Receiver(f, threshold=threshold, association=parsed[0][0])
    got = {m[pf.KEY_SEQ]: (m, p) for m, p in rx.feed(y)}
    return [got.get(s[0][pf.KEY_SEQ]) for s in sent]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/air_accounting")
    ap.add_argument("--esn0", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--checkpoints", default="minilm-l6-u16,minilm-l6-u8")
    ap.add_argument("--preamble", choices=sorted(PREAMBLES), default=pf.PREAMBLE_LONG,
                    help="the message bursts' preamble (association bursts: always the long one)")
    ap.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                    help="send every message through the receiver at --esn0 and check its tag")
    a = ap.parse_args()
    from host_pipeline.codec import CodecConfig, SemanticCodec
    from host_pipeline.config import load_config
    from host_pipeline.textcoder.coder import LinkContext, TextCoder

    os.makedirs(a.out, exist_ok=True)
    f = frame.Frame(**PREAMBLES[a.preamble])
    rng = np.random.default_rng(a.seed)
    key = bytes(range(32))
    assoc_uses = frame.Frame().association_symbols() / H.ASSOC_EVERY
    assoc_bits = (H.HEADER_BITS + H.ASSOC_BITS) / H.ASSOC_EVERY
    coder = TextCoder.load(load_config().textcoder)
    codecs = {c: SemanticCodec.load(CodecConfig(checkpoint=c, unknown_chars="replace"))
              for c in a.checkpoints.split(",")}
    rows, t0, seq = [], time.time(), 0
    session: dict[int, str] = {}  # the GRID clips' sentences so far, as one hypothetical talker's conversation
    # the digital rows' own noise, and the GRID-session rows': a change in the text coder's sizes (burst lengths)
    # does not change the semantic rows' noise
    digital_rng, session_rng = np.random.default_rng(a.seed + 2), np.random.default_rng(a.seed + 1)

    def check(sent, one, rng=rng):
        """Messages verified at --esn0: each in its own burst, and all in one burst (the backlog)."""
        if not a.verify:
            return "-", "-"
        thr = TRIGGER_THRESHOLDS[a.preamble]
        singles = [through_phy(f, rng, [s], a.esn0, thr)[0] for s in sent]
        joint = through_phy(f, rng, sent, a.esn0, thr) if len(sent) > 1 else singles
        return (f"{sum(one(s, g) for s, g in zip(sent, singles))}/{len(sent)}",
                f"{sum(one(s, g) for s, g in zip(sent, joint))}/{len(sent)}")

    for clip, dur, msgs in clips():
        for c, codec in codecs.items():
            sent, encs = [], []
            for m in msgs:
                enc = codec.encode(m)
                seq += 1
                meta = dict(version=H.FORMAT_VERSION, mode="semantic", sender_id=1, seq=seq, n_tokens=enc.n_tokens,
                            prompt_class=2)
                meta["auth_tag"] = compute_tag(key, meta, token_bytes(enc.token_ids))
                sent.append((meta, enc.symbols))
                encs.append(enc)
            sizes = [enc.symbols.size for enc in encs]
            uses = sum(f.burst_symbols(n) for n in sizes) + len(msgs) * assoc_uses
            uses_b = f.messages_symbols(sizes) + len(msgs) * assoc_uses

            def sem_ok(s, got, codec=codec):
                if got is None:
                    return False
                ids, probs = codec.decode_candidates(got[1], got[0][pf.KEY_NOISE_VAR], s[0]["n_tokens"], k=4)
                return verify_semantic(key, got[0], ids, probs, budget=4096)[0] is not None

            v1, vb = check(sent, sem_ok)
            rows.append(dict(clip=clip, mode=f"semantic {c.split('-')[-1]}", preamble=a.preamble,
                             duration_s=round(dur, 2),
                             messages=len(msgs), channel_uses_per_s=round(uses / dur, 1),
                             channel_uses_per_s_backlog=round(uses_b / dur, 1), info_bit_per_s="",
                             verified=v1, verified_backlog=vb))
        grid = clip != "talking_face_demo.mp4"
        n_rows = len(codecs)
        for mode, sid, earlier in [("digital QPSK+cc", 2, {})] + ([("digital, GRID session", 3, session)] if grid
                                                                   else []):
            sent, sizes, bits, held = [], [], 0, dict(earlier)
            dseq = max(held, default=0)  # this sender's sequence numbers: one conversation, consecutive
            for m in msgs:
                dseq += 1
                data = coder.encode_link(m, LinkContext(dseq, dict(held)))
                meta = dict(version=H.FORMAT_VERSION, mode="digital", sender_id=sid, seq=dseq, n_tokens=len(data),
                            prompt_class=2, modulation="qpsk", fec="cc", payload_crc=False,
                            text_model=coder.link_model_id)
                meta["auth_tag"] = compute_tag(key, meta, data)
                sent.append((meta, np.frombuffer(data, np.uint8), m, dict(held)))
                sizes.append(f.digital_n_symbols(len(data), "qpsk", "cc", False))
                bits += H.HEADER_BITS + H.TAG_BITS + 8 * len(data) + assoc_bits
                held[dseq] = m  # its verified report is back before the next message is coded
            if grid and sid == 3:
                session.update(held)
            uses = sum(f.burst_symbols(n) for n in sizes) + len(msgs) * assoc_uses
            uses_b = f.messages_symbols(sizes) + len(msgs) * assoc_uses

            def dig_ok(s, got):
                if got is None or pf.KEY_CRC_OK in got[0] or not verify_tag(key, got[0], bytes(got[1])):
                    return False
                ctx = LinkContext(int(got[0][pf.KEY_SEQ]), s[3])  # the receiver holds the earlier messages
                return coder.decode_link(bytes(got[1]), got[0][pf.KEY_TEXT_MODEL], ctx).text == s[2]

            v1, vb = check(sent, dig_ok, session_rng if sid == 3 else digital_rng)
            rows.append(dict(clip=clip, mode=mode, preamble=a.preamble, duration_s=round(dur, 2), messages=len(msgs),
                             channel_uses_per_s=round(uses / dur, 1),
                             channel_uses_per_s_backlog=round(uses_b / dur, 1), info_bit_per_s=round(bits / dur, 1),
                             verified=v1, verified_backlog=vb))
            n_rows += 1
        for r in rows[-n_rows:]:
            print(f"{r['clip']:<24}{r['mode']:<18}{r['channel_uses_per_s']:>8} uses/s "
                  f"(backlog {r['channel_uses_per_s_backlog']:>6}) {r['info_bit_per_s']:>7} bit/s"
                  f"  verified {r['verified']} (backlog {r['verified_backlog']}) at {a.esn0:g} dB", flush=True)
    for mode in dict.fromkeys(r["mode"] for r in rows):
        rs = [r for r in rows if r["mode"] == mode]
        print(f"{mode}: mean {np.mean([r['channel_uses_per_s'] for r in rs]):.1f} uses/s, max "
              f"{max(r['channel_uses_per_s'] for r in rs):.1f} (backlog: mean "
              f"{np.mean([r['channel_uses_per_s_backlog'] for r in rs]):.1f})"
              + (f"; {np.mean([r['info_bit_per_s'] for r in rs]):.1f} info bit/s"
                 if rs[0]["info_bit_per_s"] != "" else ""))
    with open(os.path.join(a.out, "air_accounting.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
