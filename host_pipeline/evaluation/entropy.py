"""``lgmtsc eval entropy``: how many bits each text coder needs per character and per second of speech."""

from __future__ import annotations

import csv
import gzip
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..textcoder.corpus import Sentence, transcripts


@dataclass
class Measured:
    sentence: Sentence
    coder: str
    bits: int  # whole message
    payload_bits: int  # without the coder's header and CRC (equal to bits for the baselines)
    encode_s: float
    decode_s: float
    exact: bool


def read_messages(files: list[str]) -> list[Sentence]:
    """Messages from text files (one per line) or TSVs with a ``transcript`` column; default the shared transcripts
    (with their speech durations)."""
    if not files:
        return transcripts()
    known = {s.id: s for s in transcripts()}
    out = []
    for name in files:
        p = Path(name)
        if not p.is_file():
            raise InputError(f"no such file: {p}")
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise InputError(f"{p} is not UTF-8 text") from None
        if p.suffix == ".tsv" and lines and "transcript" in lines[0].split("\t"):
            rows = list(csv.DictReader(lines, delimiter="\t"))
            for i, row in enumerate(rows):
                fid = Path(row.get("file") or f"{p.name}:{i}").name
                dur = known[fid].duration_s if fid in known else None
                out.append(Sentence(p.name, fid, row["transcript"].strip(), dur))
        else:
            out += [Sentence(p.name, f"{p.name}:{i}", t.strip()) for i, t in enumerate(lines) if t.strip()]
    if not out:
        raise InputError("no messages in the given files")
    return out


def _zstd(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-19", "--no-check", "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout


def _unzstd(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-d", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def _baseline(coder: str):
    if coder == "utf8":
        return (lambda b: b), (lambda b: b)
    if coder == "gzip":
        return (lambda b: gzip.compress(b, 9, mtime=0)), gzip.decompress
    return _zstd, _unzstd


def measure(sentences: list[Sentence], coder_name: str, textcoder) -> list[Measured]:
    out = []
    if coder_name in ("utf8", "gzip", "zstd"):
        enc, dec = _baseline(coder_name)
        for s in sentences:
            data = s.text.encode("utf-8")
            t0 = time.perf_counter()
            msg = enc(data)
            t1 = time.perf_counter()
            back = dec(msg)
            t2 = time.perf_counter()
            out.append(Measured(s, coder_name, 8 * len(msg), 8 * len(msg), t1 - t0, t2 - t1, back == data))
        return out
    for s in sentences:
        t0 = time.perf_counter()
        msg = textcoder.encode(s.text, coder=coder_name)
        t1 = time.perf_counter()
        back = textcoder.decode(msg)
        t2 = time.perf_counter()
        payload = 8 * textcoder.payload_size(msg)
        out.append(Measured(s, coder_name, 8 * len(msg), payload, t1 - t0, t2 - t1, back == s.text))
    return out


def summarise(rows: list[Measured]) -> dict:
    chars = sum(len(r.sentence.text) for r in rows)
    timed = [r for r in rows if r.sentence.duration_s]
    seconds = sum(r.sentence.duration_s for r in timed)
    return {"coder": rows[0].coder, "messages": len(rows), "chars": chars,
            "bits_per_char": sum(r.bits for r in rows) / max(1, chars),
            "payload_bits_per_char": sum(r.payload_bits for r in rows) / max(1, chars),
            "bit_per_s": sum(r.bits for r in timed) / seconds if seconds else None,
            "payload_bit_per_s": sum(r.payload_bits for r in timed) / seconds if seconds else None,
            "encode_ms_median": 1e3 * statistics.median(r.encode_s for r in rows),
            "decode_ms_median": 1e3 * statistics.median(r.decode_s for r in rows),
            "exact": sum(r.exact for r in rows)}


def run_entropy(files: list[str], coders: list[str], cfg, out: str, limit: int | None = None) -> int:
    from ..textcoder.coder import TextCoder

    unknown = sorted(set(coders) - {"utf8", "gzip", "zstd", "static", "lm"})
    if unknown:
        raise InputError(f"unknown coder {unknown[0]!r}", hint="choose from utf8,gzip,zstd,static,lm")
    sentences = read_messages(files)[:limit]
    if "zstd" in coders and shutil.which("zstd") is None:
        print("zstd: not available (no `zstd` program on PATH); skipped")
        coders = [c for c in coders if c != "zstd"]
    textcoder = TextCoder.load(cfg) if ({"static", "lm"} & set(coders)) else None
    results = {c: measure(sentences, c, textcoder) for c in coders}
    summaries = [summarise(rows) for rows in results.values()]

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "entropy.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["coder", "source", "id", "chars", "duration_s", "bits", "payload_bits", "encode_s", "decode_s",
                    "exact"])
        for rows in results.values():
            for r in rows:
                w.writerow([r.coder, r.sentence.source, r.sentence.id, len(r.sentence.text), r.sentence.duration_s,
                            r.bits, r.payload_bits, f"{r.encode_s:.4f}", f"{r.decode_s:.4f}", r.exact])
    with open(out_dir / "entropy_summary.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(summaries[0]))
        w.writeheader()
        w.writerows(summaries)
    _plot(summaries, out_dir / "entropy.png")

    n_timed = sum(1 for s in sentences if s.duration_s)
    print(f"{len(sentences)} messages, {sum(len(s.text) for s in sentences)} characters; bit/s over the "
          f"{n_timed} with a known speech duration")
    print(f"{'coder':<8}{'bits/char':>10}{'(payload)':>10}{'bit/s':>8}{'(payload)':>10}{'enc ms':>9}{'dec ms':>9}"
          f"{'exact':>9}")
    for s in summaries:
        bps = f"{s['bit_per_s']:.1f}" if s["bit_per_s"] is not None else "-"
        pbps = f"{s['payload_bit_per_s']:.1f}" if s["payload_bit_per_s"] is not None else "-"
        print(f"{s['coder']:<8}{s['bits_per_char']:>10.3f}{s['payload_bits_per_char']:>10.3f}{bps:>8}{pbps:>10}"
              f"{s['encode_ms_median']:>9.1f}{s['decode_ms_median']:>9.1f}{s['exact']:>5}/{s['messages']}")
    print(f"(static/lm: whole message incl. header and CRC; payload: the arithmetic code alone; times: median per "
          f"message)\nwrote {out_dir}/entropy.csv, entropy_summary.csv, entropy.png")
    return 0 if all(s["exact"] == s["messages"] for s in summaries) else 1


def _plot(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["coder"] for s in summaries]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(names, [s["bits_per_char"] for s in summaries], color="tab:blue", label="whole message")
    ax.bar(names, [s["payload_bits_per_char"] for s in summaries], color="tab:orange", alpha=0.8,
           label="payload (static/lm without header and CRC)")
    for i, s in enumerate(summaries):
        ax.text(i, s["bits_per_char"], f"{s['bits_per_char']:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("bits per character")
    ax.legend(fontsize=7)
    ax.set_title(f"Text coders on {summaries[0]['messages']} messages ({summaries[0]['chars']} characters)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
