"""Fuzzing the burst receiver: random, truncated and corrupted bursts into gr-lgmtsc's streaming receiver.

The cases go, back to back with a guard of low noise, into ``frame.Receiver.feed`` in chunks of random size (as
GNU Radio's scheduler hands ``burst_rx.work`` its input), behind the same exception guard as ``burst_rx.work``
(an exception there is a resynchronisation, counted here as ``resyncs``; anything escaping it is a crash). Cases,
seeded (``--seed``), from a pool of genuine bursts of two senders with their association bursts (semantic and
digital, tags made with each sender's key):

    noise      complex Gaussian of random length and power
    garbage    random floats incl. NaN, inf, +-1e30 and denormals, random length
    genuine    a genuine burst (with its association burst when the sender changes), clean or at 0..30 dB SNR
    truncated  a genuine burst cut at a random point (its head or its tail only)
    corrupted  a genuine burst with zeroed or noise-replaced spans, impulses, a phase jump, dropped or
               inserted samples, or flipped bits of the float32 samples
    collision  two genuine bursts overlapping at a random offset and power

Checks, per emitted PDU (mapped to the case it came from by its sample offset):
- *misattributed*: a PDU whose (sender id, sequence number) is not that of the message in its case, yet whose tag
  verifies under the claimed sender's key (digital: over its payload bytes; semantic: over the case's token ids,
  i.e. what the host's tag search would find at best). Must be 0.
- *wrong_header* (counted, not an error): a PDU claiming another sender or number than its case (a corrupted
  association or header that passed its CRC, or a stale association): the host refuses it by its tag.
- *from_noise*: PDUs out of noise/garbage cases (each one checked for a verifying tag under both keys).
- memory: the process's RSS and the receiver's buffer, sampled every ``--every`` cases: flat means the highest
  RSS of the second half of the samples within 16 MiB of the highest of the first half (after the first sample).

    nice -n 19 python benchmarks/fuzz_burst_rx.py [--cases 1000000] [--seed 0] [--max-seconds S] [--out DIR]

Writes OUT/fuzz_burst_rx.json (counts per case kind, memory samples, rate in cases per wall and per CPU second),
and OUT/fuzz_burst_rx.partial.json every ``--every`` cases (replaced atomically: a run killed at any point leaves
a usable partial result). ``--max-seconds`` or SIGTERM stop it after the current block with the final JSON
(``partial`` true). ``tests/security`` runs a small seeded version.

Accumulating runs: a seed fixes the whole case stream (the pool of genuine bursts, their keys, every case and chunk
size: ``numpy.random.default_rng(seed)``), distinct seeds give independent streams. Runs with different seeds
(on different sessions or machines) add up with

    python benchmarks/fuzz_burst_rx.py --merge RUN1.json RUN2.json ... [--out out/bench/fuzz_burst_rx_merged]

which sums their counts (final or partial JSONs, including those written before this option existed) into
OUT/fuzz_burst_rx_merged.json, keeps each run's memory summary, and refuses two runs of the same seed (the same
cases counted twice).

When run as a script it sets OPENBLAS_NUM_THREADS=1 (unless set): the equaliser's small linear solves take ~100
times longer with OpenBLAS's threads on a loaded machine, with the same results.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy loads OpenBLAS

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gnuradio.lgmtsc import frame  # noqa: E402
from gnuradio.lgmtsc import pdu_format as pf  # noqa: E402

from host_pipeline.link.auth import compute_tag, token_bytes, verify_tag  # noqa: E402

KINDS = ("noise", "garbage", "genuine", "truncated", "corrupted", "collision")
WEIGHTS = (0.2, 0.1, 0.15, 0.2, 0.3, 0.05)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def rss_trend(memory) -> tuple[float, float]:
    """(highest RSS of the first half of the samples after the first one, highest of the second half): the RSS
    swings by ~25 MiB with the allocator's state, a leak shows as a second half above the first."""
    rss = [x["rss_mib"] for x in memory][1:] or [x["rss_mib"] for x in memory]
    h = max(1, len(rss) // 2)
    return max(rss[:h]), max(rss[h:] or rss[:h])


class Pool:
    """Genuine bursts of two senders: (sender, seq, mode, content bytes for the tag, association samples, samples)."""

    def __init__(self, f, rng, n=48, short=None):
        """``short``: a short-preamble Frame; then every fourth burst is built with it (its association burst with
        ``f``, the long one, as burst_tx does)."""
        self.keys = {1: rng.bytes(32), 2: rng.bytes(32)}
        self.items = []
        assoc_cache = {}
        for i in range(n):
            sid = 1 + i % 2
            seq = 1 + i // 2
            if i % 3 == 2:
                data = rng.integers(0, 256, int(rng.integers(4, 120)), dtype=np.uint8)
                meta = dict(version=pf.FORMAT_VERSION, mode="digital", sender_id=sid, seq=seq, n_tokens=data.size,
                            prompt_class=int(rng.integers(0, 3)))
                content = data.tobytes()
                payload = data
            else:
                n_tok = int(rng.integers(3, 48))
                ids = rng.integers(1000, 30000, n_tok)
                meta = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=sid, seq=seq, n_tokens=n_tok,
                            prompt_class=int(rng.integers(0, 3)), uses_per_token=16)
                content = token_bytes(ids)
                payload = np.exp(2j * np.pi * rng.uniform(size=n_tok * 16)).astype(np.complex64)
            meta["auth_tag"] = compute_tag(self.keys[sid], meta, content)
            x, assoc = (short if short is not None and i % 4 == 3 else f).build_burst(meta, payload)
            if assoc.key() not in assoc_cache:
                assoc_cache[assoc.key()] = np.asarray(f.association_burst(assoc), np.complex64)
            self.items.append((sid, seq, meta["mode"], content, assoc_cache[assoc.key()], np.asarray(x, np.complex64)))


def noise(rng, n, power=1.0):
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.sqrt(power / 2)).astype(np.complex64)


def make_case(kind, rng, pool, last_sender):
    """(samples, the messages in it [(sender, seq, mode, content)] or None for noise and garbage)."""
    if kind == "noise":
        return noise(rng, int(rng.integers(16, 6000)), 10 ** rng.uniform(-3, 1)), None
    if kind == "garbage":
        n = int(rng.integers(1, 4000))
        x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 10 ** rng.uniform(-6, 6)
        specials = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-40, 0.0])
        m = rng.random(n) < rng.uniform(0, 0.5)
        x[m] = rng.choice(specials, m.sum()) + 1j * rng.choice(specials, m.sum())
        return x.astype(np.complex64), None
    sid, seq, mode, content, assoc, x = pool.items[int(rng.integers(len(pool.items)))]
    msg = (sid, seq, mode, content)
    if sid != last_sender[0] or rng.random() < 0.1:
        x = np.concatenate([assoc, np.zeros(256, np.complex64), x])
    last_sender[0] = sid
    x = x.copy()
    if kind == "genuine":
        if rng.random() < 0.7:
            x = x + noise(rng, x.size, 10 ** (-rng.uniform(0, 30) / 10))
        return x.astype(np.complex64), [msg]
    if kind == "truncated":
        cut = int(rng.integers(1, x.size))
        return (x[:cut] if rng.random() < 0.7 else x[cut:]), [msg]
    if kind == "collision":
        o_sid, o_seq, o_mode, o_content, _, y = pool.items[int(rng.integers(len(pool.items)))]
        off = int(rng.integers(0, x.size))
        out = np.concatenate([x, np.zeros(max(0, off + y.size - x.size), np.complex64)])
        out[off:off + y.size] += y * 10 ** rng.uniform(-1, 1)
        return out.astype(np.complex64), [msg, (o_sid, o_seq, o_mode, o_content)]
    # corrupted: one to three mutations
    for _ in range(int(rng.integers(1, 4))):
        m = int(rng.integers(6))
        a = int(rng.integers(0, x.size))
        b = min(x.size, a + int(rng.integers(1, max(2, x.size // 4))))
        if m == 0:
            x[a:b] = 0
        elif m == 1:
            x[a:b] = noise(rng, b - a, 10 ** rng.uniform(-2, 1))
        elif m == 2:
            k = rng.integers(0, x.size, int(rng.integers(1, 20)))
            x[k] += noise(rng, k.size, 10 ** rng.uniform(0, 4))
        elif m == 3:
            x[a:] *= np.exp(1j * rng.uniform(0, 2 * np.pi))
        elif m == 4:
            x = np.delete(x, slice(a, min(b, a + int(rng.integers(1, 8))))) if rng.random() < 0.5 else \
                np.insert(x, a, noise(rng, int(rng.integers(1, 8)), 0.5))
        else:
            raw = x.view(np.uint32).copy()
            k = rng.integers(0, raw.size, int(rng.integers(1, 64)))
            raw[k] ^= (np.uint32(1) << rng.integers(0, 32, k.size).astype(np.uint32))
            x = raw.view(np.complex64)
    return x.astype(np.complex64), [msg]


def run(n_cases: int, seed: int, every: int = 10000, block: int = 256, progress=print, checkpoint=None,
        stop=lambda: False, preambles: str = "long") -> dict:
    """``stop()``: checked after every block; true ends the run early (the result says ``partial``).
    ``preambles``: "long" (one ``Receiver``, long-preamble bursts) or "both" (burst_rx's ``PreambleReceivers``,
    every fourth genuine burst with the short preamble)."""
    rng = np.random.default_rng(seed)
    f = frame.Frame()
    from gnuradio.lgmtsc.receiver import PreambleReceivers
    from gnuradio.lgmtsc.snr_calibration import SnrCalibration
    from gnuradio.lgmtsc.waveform import PREAMBLES

    cal = SnrCalibration.load("")
    if preambles == "both":
        frames = {kind: frame.Frame(**pre) for kind, pre in PREAMBLES.items()}
        pool = Pool(f, rng, short=frames[pf.PREAMBLE_SHORT])
        rx = PreambleReceivers(frames, samp_rate=1e6, calibration=cal)
    else:
        pool = Pool(f, rng)
        rx = frame.Receiver(f, samp_rate=1e6, calibration=cal)
    guard = int(f.guard_samples(f.n_hdr)) + 64
    counts = Counter()
    per_kind = {k: Counter() for k in KINDS}
    memory, t0, c0 = [], time.time(), time.process_time()
    pos = 0  # absolute sample index of the next case
    last_sender = [0]
    done = 0
    prev = ([], [], [])
    max_buf = 0
    stopped = False
    while done < n_cases:
        if stop():
            stopped = True
            break
        m = min(block, n_cases - done)
        kinds = rng.choice(len(KINDS), m, p=WEIGHTS)
        starts, msgs, parts, kind_of = [], [], [], []
        for k in kinds:
            x, msg = make_case(KINDS[k], rng, pool, last_sender)
            if msg is None:
                last_sender[0] = 0  # noise between: the receiver keeps its association, the fuzzer does not care
            starts.append(pos)
            msgs.append(msg)
            kind_of.append(KINDS[k])
            g = noise(rng, guard + int(rng.integers(0, 512)), 1e-4)
            parts += [x, g]
            pos += x.size + g.size
            per_kind[KINDS[k]]["cases"] += 1
        stream = np.concatenate(parts)
        # a burst at the end of the previous block may come out while this one is fed: map over both blocks
        starts, msgs, kind_of = np.asarray(prev[0] + starts), prev[1] + msgs, prev[2] + kind_of
        prev = (starts[-m:].tolist(), msgs[-m:], kind_of[-m:])
        i = 0
        while i < stream.size:
            n = int(rng.integers(1, 1 << 16))
            try:
                results = rx.feed(stream[i:i + n])
            except Exception:  # burst_rx.work's guard: resynchronise after the input seen so far
                counts["resyncs"] += 1
                rx.resync()
                results = []
            i += n
            for meta, payload in results:
                check(meta, payload, starts, msgs, kind_of, pool, counts, per_kind)
                if meta.get(pf.KEY_PREAMBLE) == pf.PREAMBLE_SHORT:
                    counts["pdus_short_preamble"] += 1
        done += m
        buf = rx.buffered
        max_buf = max(max_buf, buf)
        if done % every < block or done == n_cases or stop():
            memory.append({"cases": done, "rss_mib": round(rss_mib(), 1), "rx_buf": int(buf),
                           "t_s": round(time.time() - t0, 1)})
            progress(json.dumps({**memory[-1], **{k: counts[k] for k in ("pdus", "misattributed", "wrong_header",
                                                                          "from_noise", "displaced", "resyncs")}}))
            if checkpoint:
                checkpoint({"cases": done, "seconds": round(time.time() - t0, 1),
                            "cpu_s": round(time.process_time() - c0, 1), "counts": dict(counts),
                            "per_kind": {k: dict(v) for k, v in per_kind.items()}, "memory": memory,
                            "partial": done < n_cases})
    first, second = rss_trend(memory)
    cpu = time.process_time() - c0
    return {"cases": done, "seed": seed, "preambles": preambles, "seconds": round(time.time() - t0, 1),
            "cpu_s": round(cpu, 1),
            "cases_per_s": round(done / max(1e-9, time.time() - t0), 1),
            "cases_per_cpu_s": round(done / max(1e-9, cpu), 1), "partial": stopped, "samples": int(pos),
            "counts": dict(counts), "per_kind": {k: dict(v) for k, v in per_kind.items()},
            "rx_counters": {k: getattr(rx, k) for k in ("n_triggers", "n_header_fail", "n_bursts", "n_associations",
                                                        "n_no_association")},
            "max_rx_buf": int(max_buf), "memory": memory,
            "rss_max_first_half": first, "rss_max_second_half": second,
            "memory_flat": bool(second - first <= 16), "crashed": False}


def check(meta, payload, starts, msgs, kind_of, pool, counts, per_kind) -> None:
    """A PDU of case j: right if it names a message of that case; else (wrong header) misattributed if its tag
    verifies under the claimed sender's key (digital: its payload bytes; semantic: the content of every message
    the fuzzer ever sent under that sender and number, what the host's tag search could at best find)."""
    counts["pdus"] += 1
    j = max(0, int(np.searchsorted(starts, int(meta[pf.KEY_SAMPLE_OFFSET]), side="right")) - 1)
    kind, case_msgs = kind_of[j], msgs[j] or []
    per_kind[kind]["pdus"] += 1
    sid, seq = int(meta[pf.KEY_SENDER_ID]), int(meta[pf.KEY_SEQ])
    if any((sid, seq) == (m[0], m[1]) for m in case_msgs):
        per_kind[kind]["right_header"] += 1
        return
    counts["from_noise" if not case_msgs else "wrong_header"] += 1
    per_kind[kind]["wrong_header"] += 1
    key = pool.keys.get(sid)
    if key is None:
        return
    if meta[pf.KEY_MODE] == "digital":
        contents = [np.asarray(payload, np.uint8).tobytes()]
    else:
        contents = [it[3] for it in pool.items if it[0] == sid and it[1] == seq and it[2] == "semantic"]
    if any(verify_tag(key, meta, c) for c in contents):
        # a verifying tag proves the sender sent exactly this (sender, seq, fields, content): count it only if
        # no case ever carried that message, i.e. the PHY made up an authentic-looking message
        if not any(it[0] == sid and it[1] == seq for it in pool.items):
            counts["misattributed"] += 1
            per_kind[kind]["misattributed"] += 1
        else:
            counts["displaced"] += 1  # a genuine message reported at another case's position (counted, not wrong)


def _load_run(path: Path) -> dict:
    from host_pipeline.errors import InputError

    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError("cannot read fuzz result %s: %s" % (path, e)) from None
    if not isinstance(d, dict) or not all(k in d for k in ("cases", "seed", "counts", "per_kind")):
        raise InputError("%s is not a fuzz_burst_rx result (needs cases, seed, counts, per_kind)" % path)
    return d


def merge(paths) -> dict:
    """Sum the counts of runs with distinct seeds (final or partial results)."""
    from host_pipeline.errors import InputError

    runs = [_load_run(p) for p in paths]
    seeds = [int(r["seed"]) for r in runs]
    dup = sorted({x for x in seeds if seeds.count(x) > 1})
    if dup:
        raise InputError("seed(s) %s appear in more than one run: their cases would be counted twice" % dup,
                         "merge runs of distinct seeds only (each seed fixes its whole case stream)")
    counts, per_kind = Counter(), {k: Counter() for k in KINDS}
    for r in runs:
        counts.update(r["counts"])
        for k, v in r["per_kind"].items():
            per_kind.setdefault(k, Counter()).update(v)
    summary = []
    for p, r in zip(paths, runs):
        mem = r.get("memory") or []
        rss = [x["rss_mib"] for x in mem]
        first, second = rss_trend(mem) if mem else (None, None)
        summary.append({"file": str(p), "seed": int(r["seed"]), "cases": int(r["cases"]),
                        "seconds": r.get("seconds"), "cpu_s": r.get("cpu_s"), "partial": bool(r.get("partial")),
                        "load": r.get("load"), "counts": r["counts"],
                        "rss_mib_min": min(rss) if rss else None, "rss_mib_max": max(rss) if rss else None,
                        "rss_max_first_half": first, "rss_max_second_half": second,
                        "memory_flat": bool(rss and second - first <= 16),
                        "max_rx_buf": max([x.get("rx_buf", 0) for x in mem] + [r.get("max_rx_buf", 0)])})
    timed = [s for s in summary if s["cpu_s"]]
    return {"runs": summary, "seeds": seeds, "cases": sum(s["cases"] for s in summary),
            "counts": dict(counts), "per_kind": {k: dict(v) for k, v in per_kind.items()},
            "crashed": any(r.get("crashed") for r in runs),
            "memory_flat": all(s["memory_flat"] for s in summary),
            "max_rx_buf": max(s["max_rx_buf"] for s in summary),
            "cases_per_cpu_s_timed_runs": round(sum(s["cases"] for s in timed) / sum(s["cpu_s"] for s in timed), 1)
            if timed else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=10000, help="memory sample and checkpoint period (cases)")
    ap.add_argument("--max-seconds", type=float, default=None, help="stop (with a partial result) after this")
    ap.add_argument("--preambles", choices=("long", "both"), default="long",
                    help="both: burst_rx's receiver pair, every fourth genuine burst with the short preamble")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="RUN.json",
                    help="instead of fuzzing: sum these runs' results (distinct seeds) into OUT")
    ap.add_argument("--out", type=Path, default=Path("out/bench/fuzz_burst_rx"),
                    help="default out/bench/fuzz_burst_rx (out/bench/fuzz_burst_rx_merged with --merge)")
    a = ap.parse_args()
    if a.merge:
        from host_pipeline.errors import LgmtscError

        out = Path("out/bench/fuzz_burst_rx_merged") if a.out == ap.get_default("out") else a.out
        try:
            res = merge(a.merge)
        except LgmtscError as e:
            print("error: %s" % e, file=sys.stderr)
            return e.exit_code
        out.mkdir(parents=True, exist_ok=True)
        (out / "fuzz_burst_rx_merged.json").write_text(json.dumps(res, indent=1))
        print(json.dumps({k: res[k] for k in ("seeds", "cases", "counts", "crashed", "memory_flat", "max_rx_buf",
                                              "cases_per_cpu_s_timed_runs")}))
        return 0 if res["counts"].get("misattributed", 0) == 0 and not res["crashed"] else 1
    out = a.out
    out.mkdir(parents=True, exist_ok=True)

    def checkpoint(d):
        tmp = out / "fuzz_burst_rx.partial.json.tmp"
        tmp.write_text(json.dumps({**d, "seed": a.seed, "load": os.getloadavg()}, indent=1))
        os.replace(tmp, out / "fuzz_burst_rx.partial.json")   # atomic: a kill never leaves half a file

    stop_flag = []
    signal.signal(signal.SIGTERM, lambda *_: stop_flag.append(1))
    deadline = None if a.max_seconds is None else time.time() + a.max_seconds
    res = run(a.cases, a.seed, a.every, checkpoint=checkpoint,
              stop=lambda: bool(stop_flag) or (deadline is not None and time.time() > deadline),
              preambles=a.preambles)
    res["load"] = os.getloadavg()
    res["blas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS")
    (out / "fuzz_burst_rx.json").write_text(json.dumps(res, indent=1))
    print(json.dumps({k: res[k] for k in ("cases", "seconds", "cpu_s", "cases_per_cpu_s", "partial", "counts",
                                          "memory_flat")}))
    return 0 if res["counts"].get("misattributed", 0) == 0 and res["memory_flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
