#!/usr/bin/env python3
"""All-in rate of this system on the demo sample and the 10 GRID clips: every channel use on air and every
information bit, per second of speech, and whether every utterance verifies at Es/N0 6 dB.

Per message (one burst per utterance, as ``lgmtsc tx`` sends them): gr-lgmtsc's ``Frame.burst_symbols`` (preamble,
header, tag block, pilots, payload, pulse tail, guard) plus 1/ASSOC_EVERY of an association burst. Information
bits (digital mode): header 48 + tag 32 + payload bytes and CRC32 + 1/ASSOC_EVERY of the association (header 48
+ 112). Verification: each semantic message through the burst receiver (numpy AWGN channel at ``--esn0`` dB,
CFO up to +-0.5 % of fs) and the host's tag search (``auth.verify_semantic``, budget 4096); each digital
message: its CRC and tag. Transcripts: samples/demo/transcript.tsv (3 utterances) and
data/video/grid/transcripts.tsv (one each).

    python benchmarks/air_accounting.py --out benchmarks/phy_results
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


def through_phy(f, rng, meta, payload, esn0):
    x, assoc = f.build_burst(meta, payload)
    y = sim.channel(x, rng, esn0, cfo_=rng.uniform(-0.005, 0.005), delay_=rng.uniform(0, 4),
                    lead=int(rng.integers(100, 2000)))
    y = np.concatenate([y, sim.awgn(np.zeros(2000), esn0, f.sps, rng).astype(np.complex64)])
    out = frame.Receiver(f, association=assoc).feed(y)
    return out[0] if len(out) == 1 and out[0][0][pf.KEY_SEQ] == meta[pf.KEY_SEQ] else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/air_accounting")
    ap.add_argument("--esn0", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--checkpoints", default="minilm-l6-u16,minilm-l6-u8")
    ap.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                    help="send every message through the receiver at --esn0 and check its tag")
    a = ap.parse_args()
    from host_pipeline.codec import CodecConfig, SemanticCodec
    from host_pipeline.config import load_config
    from host_pipeline.textcoder.coder import TextCoder

    os.makedirs(a.out, exist_ok=True)
    f = frame.Frame()
    rng = np.random.default_rng(a.seed)
    key = bytes(range(32))
    assoc_uses = f.association_symbols() / H.ASSOC_EVERY
    assoc_bits = (H.HEADER_BITS + H.ASSOC_BITS) / H.ASSOC_EVERY
    coder = TextCoder.load(load_config().textcoder)
    codecs = {c: SemanticCodec.load(CodecConfig(checkpoint=c, unknown_chars="replace"))
              for c in a.checkpoints.split(",")}
    rows, t0, seq = [], time.time(), 0
    for clip, dur, msgs in clips():
        for c, codec in codecs.items():
            uses = verified = 0
            for m in msgs:
                enc = codec.encode(m)
                seq += 1
                meta = dict(version=H.FORMAT_VERSION, mode="semantic", sender_id=1, seq=seq, n_tokens=enc.n_tokens,
                            prompt_class=2)
                meta["auth_tag"] = compute_tag(key, meta, token_bytes(enc.token_ids))
                uses += f.burst_symbols(enc.symbols.size) + assoc_uses
                got = through_phy(f, rng, meta, enc.symbols, a.esn0) if a.verify else None
                if got is not None:
                    ids, probs = codec.decode_candidates(got[1], got[0][pf.KEY_NOISE_VAR], enc.n_tokens, k=4)
                    verified += verify_semantic(key, got[0], ids, probs, budget=4096)[0] is not None
            rows.append(dict(clip=clip, mode=f"semantic {c.split('-')[-1]}", duration_s=round(dur, 2),
                             messages=len(msgs), channel_uses_per_s=round(uses / dur, 1), info_bit_per_s="",
                             verified=f"{verified}/{len(msgs)}" if a.verify else "-"))
        uses = bits = verified = 0
        for m in msgs:
            data = coder.encode(m)
            seq += 1
            meta = dict(version=H.FORMAT_VERSION, mode="digital", sender_id=1, seq=seq, n_tokens=len(data),
                        prompt_class=2, modulation="qpsk", fec="cc")
            meta["auth_tag"] = compute_tag(key, meta, data)
            uses += f.burst_symbols(f.digital_n_symbols(len(data), "qpsk", "cc")) + assoc_uses
            bits += H.HEADER_BITS + H.TAG_BITS + 8 * (len(data) + 4) + assoc_bits
            got = through_phy(f, rng, meta, np.frombuffer(data, np.uint8), a.esn0) if a.verify else None
            verified += got is not None and bool(got[0][pf.KEY_CRC_OK]) and verify_tag(key, got[0], bytes(got[1]))
        rows.append(dict(clip=clip, mode="digital QPSK+cc", duration_s=round(dur, 2), messages=len(msgs),
                         channel_uses_per_s=round(uses / dur, 1), info_bit_per_s=round(bits / dur, 1),
                         verified=f"{verified}/{len(msgs)}" if a.verify else "-"))
        for r in rows[-len(codecs) - 1:]:
            print(f"{r['clip']:<24}{r['mode']:<18}{r['channel_uses_per_s']:>8} uses/s {r['info_bit_per_s']:>7} bit/s"
                  f"  verified {r['verified']} at {a.esn0:g} dB", flush=True)
    for mode in dict.fromkeys(r["mode"] for r in rows):
        rs = [r for r in rows if r["mode"] == mode]
        print(f"{mode}: mean {np.mean([r['channel_uses_per_s'] for r in rs]):.1f} uses/s, max "
              f"{max(r['channel_uses_per_s'] for r in rs):.1f}"
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
