#!/usr/bin/env python3
"""Does an OpenAI-compatible llama.cpp server give the same greedy reply to the same request with a cold and a
warm cache?

    nice -n 10 python benchmarks/llm_server_determinism.py [--prompts 20] [--max-tokens 160]
    python benchmarks/llm_server_determinism.py --endpoint http://127.0.0.1:8080/v1   # a running llama-server

Without --endpoint: starts llama-cpp-python's server (``llama_cpp.server``, SmolLM2-135M, 1 thread) twice, with
its default batch (512) and with ``n_batch`` 1, and sends each prompt twice in a row, as the openai backend does
(temperature 0, seed 0, cache_prompt false, repeat_penalty 1). With --endpoint: the same against that server,
once with ``cache_prompt`` true and once false (llama.cpp's llama-server honours it). Replies are compared in
full, also when cut at --max-tokens. Writes benchmarks/llm_results/server_determinism.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOPICS = ["the weather in London", "a cat", "radios", "fruit", "semantic communication", "Hamlet", "new students",
          "the blue sky", "a slide in a playground", "software radios", "the moon", "trains", "coffee", "rivers",
          "a birthday party", "mountains", "the ocean", "a robot", "music", "a library"]


def run(url: str, model: str, prompts: list[str], max_tokens: int, extra: dict) -> dict:
    from host_pipeline.llm import LlmConfig
    from host_pipeline.llm.backends import OpenAIBackend

    body = OpenAIBackend(LlmConfig(backend="openai", endpoint=url, model=model, llama_cpp_fields=False))._body(
        max_tokens, [])
    body = {**body, "repeat_penalty": 1.0, **extra}

    def ask(prompt: str) -> str:
        req = urllib.request.Request(url + "/chat/completions", json.dumps(
            {**body, "messages": [{"role": "user", "content": prompt}]}).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)["choices"][0]["message"]["content"]

    t0, differ = time.monotonic(), []
    for p in prompts:
        first, second = ask(p), ask(p)  # the second finds the first's prompt in the server's cache
        if first != second:
            differ.append(p)
        print(f"  {'DIFFERS' if first != second else 'same   '} {p}", flush=True)
    return {"request": {k: v for k, v in body.items() if k != "model"}, "prompts": len(prompts),
            "differ": len(differ), "differing_prompts": differ, "seconds": round(time.monotonic() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=len(TOPICS))
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--endpoint", help="a running llama.cpp server (…/v1): compare cache_prompt true and false")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "llm_server_determinism.json"))
    args = ap.parse_args()
    prompts = [f"Write a short paragraph about {t}." for t in TOPICS[: args.prompts]]
    results = []
    if args.endpoint:
        for cache_prompt in (True, False):
            print(f"{args.endpoint}, cache_prompt {str(cache_prompt).lower()}:")
            r = run(args.endpoint, args.model, prompts, args.max_tokens, {"cache_prompt": cache_prompt})
            results.append({"server": args.endpoint, **r})
    else:
        import llama_cpp

        from host_pipeline.llm.server import LlamaCppPythonServer

        for n_batch in (512, 1):
            print(f"llama_cpp.server {llama_cpp.__version__}, {args.model}, n_batch {n_batch}:")
            with LlamaCppPythonServer(args.model, n_batch=n_batch) as srv:
                r = run(srv.url, "local", prompts, args.max_tokens, {"cache_prompt": False})
            results.append({"server": f"llama_cpp.server {llama_cpp.__version__} --n_batch {n_batch}",
                            "model": args.model, **r})
    for r in results:
        print(f"{r['server']}: {r['differ']} of {r['prompts']} replies differ between a cold and a warm cache "
              f"({r['seconds']:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
