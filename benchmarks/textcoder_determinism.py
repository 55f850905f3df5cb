"""How reproducible are llama.cpp's logits, and the LM coder's integer tables made from them?

    nice -n 10 python benchmarks/textcoder_determinism.py [--sentences 5] [--model qwen2.5-coder-1.5b]

On the first speech transcripts, after the coder's prefix, compares the logits of every position computed
(a) token by token with 1 thread, (b) token by token with 2 threads, (c) the same again (repeatability),
(d) in one batched evaluation (logits_all) with 1 and (e) with 2 threads, and counts positions whose
quantised frequency table (``logits_to_cum``) differs from (a). Writes textcoder_results/determinism.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see textcoder_roundtrip.py
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=5)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "textcoder_determinism.json"))
    args = ap.parse_args()

    import llama_cpp

    from host_pipeline.llm.backends import resolve_gguf
    from host_pipeline.textcoder.config import TextCoderConfig
    from host_pipeline.textcoder.corpus import transcripts
    from host_pipeline.textcoder.lm_model import logits_to_cum

    cfg = TextCoderConfig(lm_model=args.model)
    llama = llama_cpp.Llama(model_path=str(resolve_gguf(args.model)), n_ctx=512, n_threads=1, n_threads_batch=1,
                            logits_all=True, seed=0, verbose=False)
    nv = llama.n_vocab()
    prefix = llama.tokenize(cfg.lm_prefix.encode(), add_bos=False, special=True)

    def threads(n):
        llama_cpp.llama_set_n_threads(llama._ctx.ctx, n, n)

    def token_by_token(tokens):
        llama.reset()
        out = []
        for t in tokens:
            llama.eval([t])
            out.append(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1), shape=(nv,)).copy())
        return np.array(out)

    def batched(tokens):
        llama.reset()
        llama.eval(tokens)
        return np.array(llama.scores[: len(tokens)])

    modes = {"tbt_1thread": (1, token_by_token), "tbt_2threads": (2, token_by_token),
             "tbt_1thread_repeat": (1, token_by_token), "batched_1thread": (1, batched),
             "batched_2threads": (2, batched)}
    stats = {m: {"positions": 0, "bitwise_equal": 0, "table_equal": 0, "max_abs_diff": 0.0, "argmax_equal": 0,
                 "seconds": 0.0} for m in modes}
    for s in transcripts()[: args.sentences]:
        tokens = prefix + llama.tokenize(s.text.encode(), add_bos=False, special=False)
        ref = None
        for mode, (n_threads, fn) in modes.items():
            threads(n_threads)
            t0 = time.perf_counter()
            logits = fn(tokens)[len(prefix) - 1:]  # the positions that predict the text's tokens
            st = stats[mode]
            st["seconds"] += time.perf_counter() - t0
            ref = logits if ref is None else ref
            st["positions"] += len(logits)
            st["bitwise_equal"] += int(sum(np.array_equal(a, b) for a, b in zip(logits, ref)))
            st["table_equal"] += int(sum(np.array_equal(logits_to_cum(a), logits_to_cum(b))
                                         for a, b in zip(logits, ref)))
            st["max_abs_diff"] = max(st["max_abs_diff"], float(np.abs(logits - ref).max()))
            st["argmax_equal"] += int((logits.argmax(1) == ref.argmax(1)).sum())
    for st in stats.values():
        st["tokens_per_s"] = round(st["positions"] / st.pop("seconds"), 2)
    result = {"model": args.model, "llama_cpp": llama_cpp.__version__,
              "system_info": " ".join(llama_cpp.llama_print_system_info().decode().split()),
              "reference": "tbt_1thread", "sentences": args.sentences, "load_average": os.getloadavg()[0],
              "modes": stats}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for mode, st in stats.items():
        print(f"{mode:<20} bitwise equal {st['bitwise_equal']}/{st['positions']}, integer tables equal "
              f"{st['table_equal']}/{st['positions']}, argmax equal {st['argmax_equal']}, max |diff| "
              f"{st['max_abs_diff']:.3g}, {st['tokens_per_s']} tok/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
