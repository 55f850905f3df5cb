"""Exact round trip of the text coder on real sentences, encoded in one process and decoded in another.

    nice -n 10 python benchmarks/textcoder_roundtrip.py --coder static --n 2000
    nice -n 10 python benchmarks/textcoder_roundtrip.py --coder lm --n 2000 --budget-min 40

An encoder process (``--enc-threads``) appends each message to ``<out>/roundtrip_<coder>.enc.jsonl``; a decoder
process with another thread count (``--dec-threads``) follows that file and appends one CSV row per sentence to
``<out>/roundtrip_<coder>.csv`` (exact match, sizes, times). Both skip what is already done, so a stopped run
resumes where it stopped. Sentences: the 39 speech transcripts, then SMS and IMDB evaluation sentences
alternately (host_pipeline/textcoder/corpus.py; none were used to train the static table).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIELDS = ["index", "source", "id", "chars", "message_bytes", "coder_used", "exact", "error", "encode_s", "decode_s",
          "enc_threads", "dec_threads", "enc_pid", "dec_pid"]


def _coder(coder: str, threads: int):
    from host_pipeline.textcoder.coder import TextCoder
    from host_pipeline.textcoder.config import TextCoderConfig

    return TextCoder.load(TextCoderConfig(coder=coder, lm_threads=threads, fallback_static=False))


def _done_ids(path: Path, key: str) -> set:
    if not path.is_file():
        return set()
    with open(path, newline="", encoding="utf-8") as f:
        if path.suffix == ".csv":
            return {row[key] for row in csv.DictReader(f)}
        return {json.loads(line)[key] for line in f if line.strip()}


def encode_worker(args) -> int:
    from host_pipeline.textcoder.corpus import evaluation_sentences

    enc_path = Path(args.out) / f"roundtrip_{args.coder}.enc.jsonl"
    done = _done_ids(enc_path, "id")
    coder = _coder(args.coder, args.enc_threads)
    deadline = time.monotonic() + args.budget_min * 60
    with open(enc_path, "a", encoding="utf-8") as f:
        for i, s in enumerate(evaluation_sentences()[: args.n]):
            if s.id in done:
                continue
            if time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            msg = coder.encode(s.text, coder=args.coder)  # forced: the coder under test, no shortest-of choice
            rec = {"index": i, "source": s.source, "id": s.id, "chars": len(s.text), "message": msg.hex(),
                   "encode_s": round(time.perf_counter() - t0, 4), "enc_threads": args.enc_threads,
                   "enc_pid": os.getpid()}
            f.write(json.dumps(rec) + "\n")
            f.flush()
    return 0


def decode_worker(args) -> int:
    from host_pipeline.errors import LgmtscError
    from host_pipeline.textcoder.corpus import evaluation_sentences

    out = Path(args.out)
    enc_path, csv_path = out / f"roundtrip_{args.coder}.enc.jsonl", out / f"roundtrip_{args.coder}.csv"
    done_marker = out / f"roundtrip_{args.coder}.enc.done"
    texts = {s.id: s.text for s in evaluation_sentences()[: args.n]}
    done = _done_ids(csv_path, "id")
    coder = _coder(args.coder, args.dec_threads)
    new = not csv_path.is_file()
    pos = 0
    with open(csv_path, "a", newline="", encoding="utf-8") as fcsv:
        w = csv.DictWriter(fcsv, fieldnames=FIELDS)
        if new:
            w.writeheader()
        while True:
            finished = done_marker.exists()
            with open(enc_path, encoding="utf-8") as f:
                f.seek(pos)
                lines = f.readlines()
                if lines and not lines[-1].endswith("\n"):
                    lines = lines[:-1]  # a line still being written
                pos += sum(len(line.encode("utf-8")) for line in lines)
            for line in lines:
                rec = json.loads(line)
                if rec["id"] in done or rec["id"] not in texts:
                    continue
                msg = bytes.fromhex(rec.pop("message"))
                t0 = time.perf_counter()
                try:
                    info = coder.decode_info(msg)
                    text, used, err = info.text, info.coder, ""
                except LgmtscError as e:
                    text, used, err = None, "", e.message
                w.writerow({**rec, "message_bytes": len(msg), "coder_used": used, "exact": text == texts[rec["id"]],
                            "error": err, "decode_s": round(time.perf_counter() - t0, 4),
                            "dec_threads": args.dec_threads, "dec_pid": os.getpid()})
                fcsv.flush()
                done.add(rec["id"])
            if finished and not lines:
                return 0
            if not lines:
                time.sleep(1.0)


def summarise(args) -> None:
    """Print the totals and, per source, exact round trips and bits per character (headers included)."""
    path = Path(args.out) / f"roundtrip_{args.coder}.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    pids = {(r["enc_pid"], r["dec_pid"]) for r in rows}
    print(f"{args.coder}: encoder and decoder always different processes: {all(a != b for a, b in pids)}; "
          f"threads enc/dec {sorted({(r['enc_threads'], r['dec_threads']) for r in rows})}")
    for source in ["all", *sorted({r["source"] for r in rows})]:
        part = [r for r in rows if source in ("all", r["source"])]
        exact = sum(r["exact"] == "True" for r in part)
        bits, chars = 8 * sum(int(r["message_bytes"]) for r in part), sum(int(r["chars"]) for r in part)
        print(f"  {source:<12} {exact}/{len(part)} exact, {bits / max(chars, 1):.3f} bits/char, median encode "
              f"{_median(part, 'encode_s'):.3f} s, decode {_median(part, 'decode_s'):.3f} s")


def _median(rows, key):
    v = sorted(float(r[key]) for r in rows)
    return v[len(v) // 2] if v else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coder", choices=["static", "lm"], default="static")
    ap.add_argument("--n", type=int, default=2000, help="first N evaluation sentences")
    ap.add_argument("--enc-threads", type=int, default=1)
    ap.add_argument("--dec-threads", type=int, default=2)
    ap.add_argument("--budget-min", type=float, default=1e9, help="the encoder stops starting sentences after this")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "textcoder_roundtrip"))
    ap.add_argument("--role", choices=["run", "encode", "decode", "summary"], default="run", help=argparse.SUPPRESS)
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.role == "encode":
        return encode_worker(args)
    if args.role == "decode":
        return decode_worker(args)
    if args.role == "summary":
        summarise(args)
        return 0
    (Path(args.out) / f"roundtrip_{args.coder}.enc.done").unlink(missing_ok=True)
    (Path(args.out) / f"roundtrip_{args.coder}.enc.jsonl").touch()
    # OpenMP threads that busy-wait crawl on shared cores; passive waiting keeps 2 threads usable there
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    base = [sys.executable, __file__, "--coder", args.coder, "--n", str(args.n), "--enc-threads",
            str(args.enc_threads), "--dec-threads", str(args.dec_threads), "--budget-min", str(args.budget_min),
            "--out", args.out]
    enc = subprocess.Popen(base + ["--role", "encode"], env=env)
    dec = subprocess.Popen(base + ["--role", "decode"], env=env)
    rc = enc.wait()
    (Path(args.out) / f"roundtrip_{args.coder}.enc.done").touch()  # the decoder drains the file, then stops
    rc = dec.wait() or rc
    summarise(args)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
