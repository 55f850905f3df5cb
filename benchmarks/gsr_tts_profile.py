"""Where Kokoro's time goes: onnxruntime's per-operator profile of one utterance, shipped int8 graph vs float convs.

    python benchmarks/gsr_tts_profile.py --out benchmarks/gsr_results [--threads 1]

Writes gsr_tts_profile.csv (graph, operator, calls, ms, share) and prints the top operators, the CPU time of
one ``session.run`` and the phonemiser's time. Operator times are onnxruntime's own kernel timings.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXT = ("The examination and testimony of the experts enabled the commission to conclude "
        "that five shots may have been fired.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/gsr_tts_profile")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import onnxruntime as ort

    from host_pipeline.models import ModelCache
    from host_pipeline.reconstruct.onnx_rewrite import fast_kokoro_model
    from host_pipeline.reconstruct.phonemes import phonemize
    from host_pipeline.reconstruct.tts import KokoroTts

    tts = KokoroTts()
    t0 = time.perf_counter()
    phonemes = phonemize(TEXT, "en")
    phonemize_ms = (time.perf_counter() - t0) * 1000
    ids = [tts.vocab[c] for c in phonemes if c in tts.vocab]
    feeds = {"tokens": np.array([[0, *ids, 0]], np.int64), "style": tts._style(tts.default_voice(), len(ids)),
             "speed": np.array([1.0], np.float32)}
    src = ModelCache().path("kokoro-82m") / "model.onnx"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for graph, path in (("int8", src), ("float-conv", fast_kokoro_model(src))):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        sess.run(None, feeds)
        c0, w0, l0 = time.process_time(), time.perf_counter(), os.getloadavg()[0]
        audio_s = sess.run(None, feeds)[0].size / KokoroTts.SAMPLE_RATE
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        opts.enable_profiling = True
        prof = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        prof.run(None, feeds)
        events = json.loads(Path(prof.end_profiling()).read_text())
        ms, calls = Counter(), Counter()
        for e in events:
            if e.get("cat") == "Node" and e["name"].endswith("kernel_time"):
                ms[e["args"]["op_name"]] += e["dur"] / 1000
                calls[e["args"]["op_name"]] += 1
        total = sum(ms.values())
        print(f"{graph}: {audio_s:.2f} s audio, session.run CPU {cpu:.2f} s (RTF {cpu / audio_s:.2f}), "
              f"wall {wall:.2f} s, load {max(l0, os.getloadavg()[0]):.1f}; phonemiser {phonemize_ms:.0f} ms")
        for op, t in ms.most_common(6):
            print(f"   {op:24s} {t:8.0f} ms  {100 * t / total:4.1f} %  ({calls[op]} calls)")
        rows += [(graph, op, calls[op], round(t, 1), round(t / total, 4)) for op, t in ms.most_common()]
        rows.append((graph, "session.run cpu_s / audio_s", 1, round(cpu * 1000, 1), round(cpu / audio_s, 3)))
    with open(out / "gsr_tts_profile.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["graph", "operator", "calls", "ms", "share_or_rtf"])
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
