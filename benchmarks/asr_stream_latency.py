#!/usr/bin/env python3
"""Streaming ASR latency: a file fed at real speed (like a live source) through VAD + ASR; for each utterance, the
time from the end of its speech to its transcript, and the recogniser's own share of it.

    python benchmarks/asr_stream_latency.py [VIDEO] [--set vad.chunk_ms=500]

Default input: the repo's sample. Prints one line per utterance and the median (machines are noisy: check `uptime`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from host_pipeline.asr import SpeechExtractor
    from host_pipeline.config import load_config
    from host_pipeline.media import iter_audio

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(REPO / "samples" / "demo" / "talking_face_demo.mp4"))
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args()
    cfg = load_config(None, args.set)
    extractor = SpeechExtractor(cfg.asr, cfg.vad)
    recognize, asr_s = extractor.asr.recognize, []

    def timed(*a, **kw):
        t = time.perf_counter()
        out = recognize(*a, **kw)
        asr_s.append(time.perf_counter() - t)
        return out

    extractor.asr.recognize = timed
    t0 = time.time()

    def paced():
        fed = 0.0
        for chunk in iter_audio(args.video, chunk_s=0.5):
            fed += chunk.size / 16000
            time.sleep(max(0.0, t0 + fed - time.time()))  # a chunk exists once its audio has ended
            yield chunk

    lags = []
    for seg in extractor.stream(paced()):
        lags.append(time.time() - t0 - seg.end)
        print(f"{seg.start:6.2f}-{seg.end:6.2f} s: transcript {lags[-1]:.2f} s after the end of speech "
              f"(recogniser {asr_s[-1]:.2f} s): {seg.text}")
    if lags:
        print(f"median {statistics.median(lags):.2f} s over {len(lags)} utterances; vad.chunk_ms={cfg.vad.chunk_ms}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
