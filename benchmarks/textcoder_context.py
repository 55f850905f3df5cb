#!/usr/bin/env python3
"""Conversation conditioning of the LM text coder (issue 17, item 5): link-format bits per character of the shared
transcripts read as one conversation per speaker, with and without the context, and the time per message.

Conversations (in file order): data/speech/transcripts.tsv grouped by its speaker column (LJ Speech's reader: 32
consecutive sentences of one book; CMU ARCTIC aew 3, axb 3, and one sentence of an unknown speaker), and the GRID
sentences of data/video/grid/transcripts.tsv, each from another talker: once as what they are on a link, first
messages without history, and once read as one hypothetical session (a GRID talker speaks 1,000 such sentences; the
clips here are 10 talkers', so this row shows what the shared grammar gives, not a measured talker's session). The
demo's three utterances are aew's three transcripts (the same text), so the aew row is the demo's.

Every message is coded with ``TextCoder.encode_link`` (the link format: coder symbol, context descriptor, tokens,
end symbol, whole bytes) after the earlier messages of its conversation that the receiver holds: with ``--lag 1``
(default) every earlier message, as when each verified report is back before the next message is coded (a file sent
with ``link.feedback_wait_s``); ``--lag 2``: all but the one just before (live speech, reports one message late).
With ``--verify`` each context-coded message is decoded with the receiver's view and compared with the text.
Messages are coded conversation by conversation with context, then all again without it, so the KV-cache reuse
is what a link sees (the context grows by one message per message). Nothing here was tuned on these texts: the
context settings are the defaults, chosen before this measurement (docs/textcoder.md).

    OMP_WAIT_POLICY=PASSIVE nice -n 19 python benchmarks/textcoder_context.py --out out/bench/textcoder_context
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def conversations() -> list[tuple[str, list[str]]]:
    from host_pipeline.paths import real_data_dir

    data = real_data_dir()
    convs: dict[str, list[str]] = {}
    with open(data / "speech" / "transcripts.tsv", encoding="utf-8") as f:
        rows = [ln.rstrip("\n").split("\t") for ln in f.read().splitlines()[1:] if ln.strip()]
    for _, speaker, text in rows:
        convs.setdefault(speaker, []).append(text.strip())
    grid = [ln.split("\t")[2].strip() for ln in (data / "video" / "grid" / "transcripts.tsv").read_text()
            .splitlines()[1:] if ln.strip()]
    out = [(k, v) for k, v in convs.items()]
    out += [(f"grid_clip_{i + 1:02d}", [t]) for i, t in enumerate(grid)]
    out.append(("grid_as_one_session", grid))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/textcoder_context")
    ap.add_argument("--model", default=None, help="textcoder.lm_model (default: the configured one)")
    ap.add_argument("--lag", type=int, default=1, help="the receiver holds the messages up to this many back")
    ap.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--prewarm", action="store_true",
                    help="evaluate each message's context before its timed encoding (as the link hosts do while "
                         "the speaker talks, ``ContextPrewarmer``); its time is recorded apart")
    a = ap.parse_args()
    from host_pipeline.config import load_config
    from host_pipeline.textcoder.coder import LinkContext, TextCoder

    cfg = load_config().textcoder
    if a.model:
        cfg = dataclasses.replace(cfg, lm_model=a.model)
    on = TextCoder(dataclasses.replace(cfg, coder="lm", context=True, fallback_static=False))
    off = TextCoder(dataclasses.replace(cfg, coder="lm", context=False, fallback_static=False))
    os.makedirs(a.out, exist_ok=True)
    convs = conversations()
    rows = []
    for name, msgs in convs:
        for i, text in enumerate(msgs, 1):
            held = {j: msgs[j - 1] for j in range(1, i - a.lag + 1)}
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            if a.prewarm:
                on.prepare_link(LinkContext(i, held))
            t_pre = time.perf_counter() - t0
            t0 = time.perf_counter()
            msg, used = on.encode_link_info(text, LinkContext(i, held))
            t_enc = time.perf_counter() - t0
            t_dec, ok = None, None
            if a.verify:
                t0 = time.perf_counter()
                ok = on.decode_link(msg, on.link_model_id, LinkContext(i, held)).text == text
                t_dec = time.perf_counter() - t0
            rows.append(dict(conversation=name, index=i, chars=len(text), bytes_context=len(msg),
                             context_messages=len(used), prewarm_s=round(t_pre, 3), encode_s=round(t_enc, 3),
                             decode_s=round(t_dec, 3) if t_dec is not None else "", exact=ok, load=round(load, 1)))
            print(f"{name:<22}{i:>3} {len(text):>4} chars {len(msg):>3} B after {len(used):>2} messages "
                  f"enc {t_enc:5.2f} s dec {t_dec or 0:5.2f} s exact {ok} (load {load:.1f})", flush=True)
    k = 0
    for _, msgs in convs:
        for text in msgs:
            t0 = time.perf_counter()
            rows[k]["bytes_no_context"] = len(off.encode_link(text))
            rows[k]["encode_s_no_context"] = round(time.perf_counter() - t0, 3)
            k += 1
    stem = f"context_lag{a.lag}" + ("_prewarm" if a.prewarm else "")
    with open(os.path.join(a.out, f"{stem}.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    def bpc(rs, col):
        return round(8 * sum(r[col] for r in rs) / sum(r["chars"] for r in rs), 3)

    summary = {"model": cfg.lm_model, "lag": a.lag, "prewarm": a.prewarm, "context_messages": cfg.context_messages,
               "context_tokens": cfg.context_tokens, "conversations": {}}
    groups = {name: [r for r in rows if r["conversation"] == name] for name, _ in convs}
    groups["all speech transcripts (39)"] = [r for r in rows if not r["conversation"].startswith("grid")]
    groups["grid clips, first messages (10)"] = [r for r in rows if r["conversation"].startswith("grid_clip")]
    for name, rs in groups.items():
        summary["conversations"][name] = {
            "messages": len(rs), "chars": sum(r["chars"] for r in rs),
            "bits_per_char_no_context": bpc(rs, "bytes_no_context"), "bits_per_char_context": bpc(rs, "bytes_context"),
            "bytes_no_context": sum(r["bytes_no_context"] for r in rs),
            "bytes_context": sum(r["bytes_context"] for r in rs),
            "all_exact": all(r["exact"] is not False for r in rs)}
        s = summary["conversations"][name]
        print(f"{name:<34} {s['messages']:>3} msgs: {s['bits_per_char_no_context']:.3f} -> "
              f"{s['bits_per_char_context']:.3f} bits/char ({s['bytes_no_context']} -> {s['bytes_context']} B)")
    enc = sorted(r["encode_s"] for r in rows)
    dec = sorted(r["decode_s"] for r in rows if r["decode_s"] != "")
    summary["median_encode_s"] = enc[len(enc) // 2]
    summary["median_decode_s"] = dec[len(dec) // 2] if dec else None
    summary["max_encode_s"], summary["max_decode_s"] = enc[-1], (dec[-1] if dec else None)
    enc0 = sorted(r["encode_s_no_context"] for r in rows)
    summary["median_encode_s_no_context"], summary["max_encode_s_no_context"] = enc0[len(enc0) // 2], enc0[-1]
    summary["load_mean"] = round(sum(r["load"] for r in rows) / len(rows), 1)
    pre = sorted(r["prewarm_s"] for r in rows)
    summary["median_prewarm_s"], summary["max_prewarm_s"] = pre[len(pre) // 2], pre[-1]
    with open(os.path.join(a.out, f"{stem}.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "conversations"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
