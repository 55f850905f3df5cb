#!/usr/bin/env python3
"""Live CPU budget: CPU seconds each live stage needs per second of speech, measured with process CPU time, so
the figures hold on a busy machine too (docs/link.md, "Latency"). Two cores give 2 CPU-s per second: a sum well
below that leaves room for the end-to-end latency; a sum above it is a backlog.

    python benchmarks/live_cpu_budget.py [--utterances 6] [--out out/bench/live_cpu_budget]

Stages: the transmitter's Whisper (language detected, as live) on real utterances of data/speech; the receiver's
Kokoro TTS, face animator (512x512), mp4 encoder and the live view's JPEGs on the same sentences, for a user
enrolled from the demo sample; the loopback flowgraph idling at the link's sample rate (per second of wall time).
Writes OUT/budget.json and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the lgmtsc hosts


def cpu() -> float:
    return time.process_time()


def flowgraph_cpu(samp_rate: float, seconds: float = 20.0) -> float:
    """CPU seconds per second of the idle loopback flowgraph (after 10 s of start-up)."""
    from link_latency import free_ports

    from host_pipeline.system.flowgraph import RUNNER, flowgraph_env

    tx, rx, snr = (f"tcp://127.0.0.1:{p}" for p in free_ports(3))
    proc = subprocess.Popen([sys.executable, str(RUNNER), "loopback", "--samp-rate", str(samp_rate), "--tx-addr", tx,
                             "--rx-addr", rx, "--snr-addr", snr], env=flowgraph_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(10)
        ticks = os.sysconf("SC_CLK_TCK")

        def used() -> float:
            f = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / ticks

        a, t = used(), time.monotonic()
        time.sleep(seconds)
        return (used() - a) / (time.monotonic() - t)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", type=int, default=6)
    ap.add_argument("--out", default=str(REPO / "out" / "bench" / "live_cpu_budget"))
    args = ap.parse_args()

    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig
    from host_pipeline.config import Config
    from host_pipeline.media import read_audio
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.enroll import Enroller
    from host_pipeline.publickb.store import PublicKb
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.output import Mp4Writer, padded_audio
    from host_pipeline.reconstruct.pipeline import Reconstructor
    from host_pipeline.system.view import jpeg_bytes

    rows = list(csv.DictReader(open(REPO / "data" / "speech" / "transcripts.tsv"), delimiter="\t"))
    rows = [r for r in rows if r["file"].startswith("LJ")][1: 1 + args.utterances]
    speech_s = {"asr": 0.0, "rx": 0.0}
    used = dict.fromkeys(("asr", "tts", "animator", "mp4", "jpeg"), 0.0)

    asr = load_asr(AsrConfig())
    asr.recognize(read_audio(REPO / "data" / "speech" / "LJ001-0001.wav"), [], None)  # warm
    for r in rows:
        audio = read_audio(REPO / "data" / "speech" / r["file"])
        c = cpu()
        asr.recognize(audio, [], None)
        used["asr"] += cpu() - c
        speech_s["asr"] += audio.size / 16000

    with tempfile.TemporaryDirectory() as tmp:
        kb = PublicKb(PublicKbConfig(db_path=str(Path(tmp) / "publickb.sqlite")))
        kb.put(Enroller().enroll("demo", video=str(REPO / "samples" / "demo" / "talking_face_demo.mp4")))
        recon = Reconstructor(ReconstructConfig(voice="af_heart"), kb=kb)
        recon.warm("demo")
        profile = kb.get("demo")
        voice, _ = recon.voice_for(profile)
        for i, r in enumerate(rows):
            c = cpu()
            sp = recon.tts.synthesize(r["transcript"], voice)
            used["tts"] += cpu() - c
            c = cpu()
            frames = list(recon.animator.render(profile, sp))
            used["animator"] += cpu() - c
            c = cpu()
            with Mp4Writer(Path(tmp) / f"{i}.mp4", sp.sample_rate, recon.cfg.fps) as w:
                w.add(padded_audio(sp, recon.cfg.fps), iter(frames))
            used["mp4"] += cpu() - c
            c = cpu()
            for f in frames:
                jpeg_bytes(f)
            used["jpeg"] += cpu() - c
            speech_s["rx"] += sp.duration_s

    per_s = {k: v / speech_s["asr" if k == "asr" else "rx"] for k, v in used.items()}
    per_s["flowgraph"] = flowgraph_cpu(Config().link.loopback_samp_rate)
    total = sum(per_s.values())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"cpu_s_per_s_of_speech": {k: round(v, 3) for k, v in per_s.items()}, "total": round(total, 3),
              "utterances": len(rows), "speech_s": {k: round(v, 1) for k, v in speech_s.items()},
              "cores": os.cpu_count(), "load1": round(os.getloadavg()[0], 2),
              "date": time.strftime("%Y-%m-%d %H:%M")}
    (out / "budget.json").write_text(json.dumps(result, indent=1))
    print(f"CPU seconds per second of speech ({len(rows)} utterances, load {result['load1']}):")
    for k, v in per_s.items():
        print(f"  {k:<10} {v:6.3f}")
    print(f"  {'total':<10} {total:6.3f}   of {os.cpu_count()} cores; {out / 'budget.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
