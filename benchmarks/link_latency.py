#!/usr/bin/env python3
"""Bitrate and end-to-end latency of the live link on this machine: the sample through `lgmtsc loopback`
(three processes, GNU Radio loopback flowgraph, AWGN) fed at real speed, in each mode, with the full system
(private KB, face and voice). Latency per utterance runs from the end of speech to the first reconstructed frame.

    python benchmarks/link_latency.py [--snr 12] [--modes semantic digital] [--out out/bench/link_latency]
    python benchmarks/link_latency.py --out benchmarks/link_results --screenshot docs/images/report_html.png
        # refresh the committed results and the picture docs/link.md shows (headless Chromium)

Writes OUT/<mode>/report.json (+ html, video) and OUT/summary.md with the tables quoted in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from host_pipeline.ports import free_ports

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "demo" / "talking_face_demo.mp4"
STAGES = ["endpoint_s", "asr_s", "wait_tx_s", "kb_tx_s", "encode_s", "link_s", "queue_s", "decode_s", "kb_rx_s",
          "tts_first_s", "first_frame_s"]  # the record's latency keys, in order (host_pipeline/system/rx.py, tx.py)


def run(mode: str, snr: float, out: Path, data: Path) -> dict:
    names = ["tx_address", "rx_address", "snr_address", "feedback_address"]
    sets = sum((["--set", f"link.{n}=tcp://127.0.0.1:{p}"] for n, p in zip(names, free_ports(4))), [])
    cmd = [sys.executable, "-m", "host_pipeline.cli", *sets, "loopback", str(SAMPLE), "--mode", mode, "--snr",
           str(snr), "--user", "demo-speaker", "--enroll", "--hotwords", "Whittemore", "Philip", "--realtime",
           "--out", str(out)]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env={**os.environ, "LGMTSC_DATA": str(data)}, capture_output=True, text=True)
    print(r.stdout[-1500:], r.stderr[-1500:], sep="\n", flush=True)
    report = json.loads((out / "report.json").read_text())
    report["run"]["wall_s"] = round(time.perf_counter() - t, 1)
    return report


def table(mode: str, report: dict) -> str:
    s = report["summary"]
    lines = [f"### {mode} mode, AWGN {report['run']['esn0_db']:g} dB\n",
             f"{s['verified']}/{s['utterances']} utterances verified and rendered; mean similarity "
             f"{s['mean_similarity']}; **{s['bitrate_bps']} bit/s** of video ({s['bits_sent']} bits for "
             f"{s['input_duration_s']:.1f} s: channel bits of payload, 96-use header and 32-use tag block); "
             f"{s['channel_uses_per_s']} channel uses/s incl. preamble, header and pilots; median end-to-end "
             f"latency **{s['median_e2e_first_frame_s']} s**.\n",
             "| seq | class | payload bits | " + " | ".join(STAGES) + " | speech end -> first frame (s) |",
             "|---|---|---|" + "---|" * len(STAGES) + "---|"]
    for u in report["utterances"]:
        lat = u["latency_s"]
        lines.append(f"| {u['seq']} | {u['prompt_class']} | {u['payload_bits']} | "
                     + " | ".join(f"{lat[k]:.2f}" if k in lat else "-" for k in STAGES)
                     + f" | {lat.get('e2e_first_frame_s', '-')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snr", type=float, default=12.0)
    ap.add_argument("--modes", nargs="+", default=["semantic", "digital"], choices=["semantic", "digital"])
    ap.add_argument("--out", default=str(REPO / "out" / "bench" / "link_latency"))
    ap.add_argument("--screenshot", metavar="PNG", help="also picture the first two utterances of the first mode's "
                    "report.html (Debian's chromium through playwright)")
    ap.add_argument("--screenshot-only", action="store_true", help="only the picture, from the reports in --out")
    args = ap.parse_args()
    if args.screenshot_only:
        screenshot(Path(args.out) / args.modes[0] / "report.html", Path(args.screenshot))
        return 0
    out = Path(args.out)
    data = Path(tempfile.mkdtemp(prefix="lgmtsc-link-bench-"))  # keys and profiles of the run: never in the repo
    parts = [f"# Link benchmark ({time.strftime('%Y-%m-%d')}, `python benchmarks/link_latency.py`)\n",
             f"Machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.1f}. "
             "Timings on a shared machine are not idle figures (those are `benchmarks/live_latency.py`'s, in "
             "the README). Stages: VAD end point, ASR, wait for the previous report, transmitter KB, encoding, link "
             "(PDU handed to the flowgraph -> burst received), queue, decoding incl. tag search, receiver KB, "
             "first phrase's speech, its first frame.\n"]
    for mode in args.modes:
        report = run(mode, args.snr, out / mode, data)
        parts.append(table(mode, report))
        for scratch in ("pids.json", "preview.jpg"):
            (out / mode / scratch).unlink(missing_ok=True)
        shutil.rmtree(out / mode / "logs", ignore_errors=True)
    (out / "summary.md").write_text("\n".join(parts))
    print("\n".join(parts))
    if args.screenshot:
        screenshot(out / args.modes[0] / "report.html", Path(args.screenshot))
    return 0


def screenshot(html: Path, png: Path, width: int = 1100, height: int = 790) -> None:
    """The top of the first utterance of ``html`` (its frames, texts, figures and latency bar) as ``png``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(html.resolve().as_uri())
        box = page.locator("section.utt").first.bounding_box()
        page.screenshot(path=str(png), clip={"x": 0, "y": max(0.0, box["y"] - 72), "width": width, "height": height},
                        full_page=True)
        browser.close()
    print(f"wrote {png}")


if __name__ == "__main__":
    sys.exit(main())
