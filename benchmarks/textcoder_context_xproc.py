#!/usr/bin/env python3
"""Cross-process agreement of the conversation context: the conversations of ``textcoder_context.py`` (the 39
speech transcripts by speaker, the GRID sentences as one session) encoded in this process with 1 llama.cpp thread,
each message after the earlier ones, then decoded in another process with 2 threads, which holds only the texts it
decoded itself and takes the conversations in the reverse order (so its KV cache has other histories than the
encoder's). Every decoded text is compared with the transcript.

    OMP_WAIT_POLICY=PASSIVE nice -n 19 python benchmarks/textcoder_context_xproc.py --out out/bench/textcoder_context
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _coder(threads: int):
    from host_pipeline.config import load_config
    from host_pipeline.textcoder.coder import TextCoder

    cfg = load_config().textcoder
    return TextCoder(dataclasses.replace(cfg, coder="lm", context=True, fallback_static=False, lm_threads=threads))


def encode(path: str) -> None:
    from textcoder_context import conversations

    from host_pipeline.textcoder.coder import LinkContext

    coder = _coder(1)
    with open(path, "w") as fh:
        for name, msgs in conversations():
            if name.startswith("grid_clip"):
                continue
            for i, text in enumerate(msgs, 1):
                msg, used = coder.encode_link_info(text, LinkContext(i, {j: msgs[j - 1] for j in range(1, i)}))
                fh.write(json.dumps({"conversation": name, "seq": i, "message": msg.hex(), "context": used,
                                     "text": text}) + "\n")


def decode(path: str, out: str) -> None:
    from host_pipeline.textcoder.coder import LinkContext

    coder = _coder(2)
    rows = [json.loads(ln) for ln in open(path)]
    names = list(dict.fromkeys(r["conversation"] for r in rows))[::-1]
    exact, n, t0 = 0, 0, time.time()
    for name in names:
        held: dict[int, str] = {}
        for r in (r for r in rows if r["conversation"] == name):
            got = coder.decode_link(bytes.fromhex(r["message"]), coder.link_model_id, LinkContext(r["seq"], held))
            held[r["seq"]] = got.text
            exact += got.text == r["text"] and list(got.context) == r["context"]
            n += 1
    res = {"messages": n, "exact": exact, "decode_s": round(time.time() - t0, 1),
           "contexts_named": sum(bool(r["context"]) for r in rows), "load": round(os.getloadavg()[0], 1)}
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps(res))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/textcoder_context")
    ap.add_argument("--decode", help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    msgs, res = os.path.join(a.out, "xproc_messages.jsonl"), os.path.join(a.out, "xproc.json")
    if a.decode:
        decode(a.decode, res)
        return 0
    sys.path.insert(0, str(ROOT / "benchmarks"))
    encode(msgs)
    return subprocess.run([sys.executable, __file__, "--out", a.out, "--decode", msgs]).returncode


if __name__ == "__main__":
    sys.exit(main())
