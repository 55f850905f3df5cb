#!/usr/bin/env python3
"""Live latency: speech fed at its real speed through `lgmtsc loopback --realtime` (GNU Radio loopback flowgraph,
receiver and transmitter as three processes on this machine), and per utterance the time from the end of speech to
the first reconstructed frame, stage by stage (report.json's latency_s; docs/link.md, "Latency").

    python benchmarks/live_latency.py                       # the demo sample, SNR 12 dB, with the private KB
    python benchmarks/live_latency.py --runs 3 --snr 12     # three runs, one distribution
    python benchmarks/live_latency.py --snr 0               # low SNR: the KB compresses and corrects
    python benchmarks/live_latency.py --continuous 120      # 2 minutes of continuous speech (data/speech joined):
                                                            # is there a growing backlog at the receiver?

Writes OUT/<run>/report.json (+ html, video) and OUT/summary.json; prints each utterance's stages, the distribution,
and the machine's load while it ran (the figures depend on it: other processes share the two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "demo" / "talking_face_demo.mp4"
sys.path.insert(0, str(REPO))

from host_pipeline.ports import free_ports  # noqa: E402
from host_pipeline.system.report import CRITICAL_PATH  # noqa: E402

SHOWN = (*CRITICAL_PATH, "e2e_first_frame_s")


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot."""
    f = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def others() -> str:
    """The busiest processes right now, for the record of what else was running."""
    out = subprocess.run(["ps", "-eo", "pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
    return "\n".join(line[:160] for line in out.splitlines()[:8])


def continuous_speech(seconds: float, out: Path, gap_s: float = 0.7) -> Path:
    """The shared speech recordings (data/speech) joined with short pauses until ``seconds`` long, as one WAV."""
    import wave

    from host_pipeline.media import SAMPLE_RATE, iter_audio

    files = sorted((REPO / "data" / "speech").glob("*.wav"))
    parts, total = [], 0.0
    while total < seconds:
        for f in files:
            a = np.concatenate(list(iter_audio(f)))
            parts += [a, np.zeros(int(gap_s * SAMPLE_RATE), np.float32)]
            total += a.size / SAMPLE_RATE + gap_s
            if total >= seconds:
                break
    audio = np.concatenate(parts)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return out


def run(source: Path, out: Path, data: Path, args) -> dict:
    names = ["tx_address", "rx_address", "snr_address", "feedback_address"]
    sets = sum((["--set", f"link.{n}=tcp://127.0.0.1:{p}"] for n, p in zip(names, free_ports(4))), [])
    sets += sum((["--set", s] for s in args.set), [])
    enroll = [] if (data / ".enrolled").exists() else ["--enroll"]  # enrolled once per data directory
    cmd = [sys.executable, "-m", "host_pipeline.cli", *sets, "loopback", str(source), "--snr", str(args.snr),
           "--channel", "awgn", "--user", "demo-speaker", *enroll, "--hotwords", "Whittemore", "Philip",
           "--realtime", "--out", str(out), *([] if args.kb else ["--no-kb"])]
    load0, cpu0, t0 = os.getloadavg()[0], cpu_times(), time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env={**os.environ, "LGMTSC_DATA": str(data)}, capture_output=True, text=True)
    cpu1 = cpu_times()
    if not (out / "report.json").exists():
        print(r.stdout[-3000:], r.stderr[-3000:], sep="\n")
        raise SystemExit(f"the loopback failed (status {r.returncode})")
    (data / ".enrolled").touch()
    report = json.loads((out / "report.json").read_text())
    report["bench"] = {"wall_s": round(time.perf_counter() - t0, 1), "load1_before": round(load0, 2),
                       "load1_after": round(os.getloadavg()[0], 2),
                       "cpu_busy_pct": round(100 * (cpu1[0] - cpu0[0]) / max(1.0, cpu1[1] - cpu0[1]), 1),
                       "cores": os.cpu_count(), "returncode": r.returncode}
    return report


def stats(values: list[float]) -> str:
    if not values:
        return "-"
    v = np.asarray(values)
    return f"median {np.median(v):.2f}  p90 {np.percentile(v, 90):.2f}  max {v.max():.2f}  (n={v.size})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(SAMPLE), help="video or audio file (default: the demo sample)")
    ap.add_argument("--continuous", type=float, metavar="S", help="instead: S seconds of data/speech joined")
    ap.add_argument("--snr", type=float, default=12.0, help="channel Es/N0 in dB (default 12, as make demo)")
    ap.add_argument("--no-kb", dest="kb", action="store_false", help="without the private KB")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--out", default=str(REPO / "out" / "bench" / "live_latency"))
    ap.add_argument("--data", help="LGMTSC_DATA of the runs (default OUT/data; the speaker is enrolled once)")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = continuous_speech(args.continuous, out / "continuous.wav") if args.continuous else Path(args.input)
    utts, benches = [], []
    data = Path(args.data or out / "data")  # keys, KBs and the enrolled demo speaker (from the demo sample)
    data.mkdir(parents=True, exist_ok=True)
    for i in range(args.runs):
        report = run(source, out / f"run{i}", data, args)
        benches.append(report["bench"])
        print(f"run {i}: {report['summary']['verified']}/{report['summary']['utterances']} verified; "
              f"{report['bench']}", flush=True)
        for u in report["utterances"]:
            lat = u["latency_s"]
            utts.append({"run": i, "seq": u["seq"], "end_s": u["end_s"], "status": u["status"],
                         "prompt_class": u["prompt_class"], **{k: lat.get(k) for k in SHOWN},
                         "render_all_s": lat.get("render_all_s")})
            print(f"  #{u['seq']:<3} {u['end_s']:7.2f} s  {u['prompt_class']:6s} "
                  + " ".join(f"{k.removesuffix('_s')} {lat[k]:.2f}" for k in SHOWN if k in lat), flush=True)
    print(f"\nend of speech -> first reconstructed frame, {len(utts)} utterances, SNR {args.snr:g} dB, "
          f"KB {'on' if args.kb else 'off'}:")
    for k in SHOWN:
        print(f"  {k.removesuffix('_s'):18s} {stats([u[k] for u in utts if u.get(k) is not None])}")
    e2e = [u["e2e_first_frame_s"] for u in utts if u.get("e2e_first_frame_s") is not None]
    if args.continuous and e2e:
        ends = np.array([u["end_s"] for u in utts if u.get("e2e_first_frame_s") is not None])
        slope = float(np.polyfit(ends, np.asarray(e2e), 1)[0]) if len(e2e) > 2 else float("nan")
        third = max(1, len(e2e) // 3)
        queue = [u["queue_s"] for u in utts if u.get("queue_s") is not None]
        print(f"backlog: e2e trend {slope * 60:+.2f} s per minute of speech; first third median "
              f"{np.median(e2e[:third]):.2f} s, last third {np.median(e2e[-third:]):.2f} s; receiver queue "
              f"{stats(queue)}")
    print("machine:", benches)
    print("busiest processes at the end:\n" + others())
    summary = {"args": vars(args), "source": str(source), "runs": benches, "utterances": utts,
               "e2e_first_frame_s": {"median": float(np.median(e2e)), "max": float(np.max(e2e))} if e2e else None}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"summary: {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
