"""Fuzzing the receiver host: malformed, forged and replayed PDUs into ``lgmtsc rx`` over its ZeroMQ socket.

A real ``system.rx.Receiver`` (semantic codec loaded; no KB, no rendering, so the run measures the host's own
handling) subscribes to a PUB socket that this script binds in place of the flowgraph. Seeded PDUs, sent at the
pace the receiver takes them (at most ``--backlog`` waiting in its queue or not yet taken off the socket):

    junk        random bytes that are not a serialised PMT, or a PMT that is not a PDU, or a PMT "bomb": a vector
                header claiming up to 2**32 items, or 200 to 200,000 nested pairs
    fields      a PDU whose metadata has missing keys, wrong types, NaN/inf, huge or negative integers,
                unknown modes or classes, an SNR of 634,445 dB, noise variances of the wrong length or sign
    payload     wrong payload type (u8 in semantic mode, c32 in digital), empty, or a length not n_tokens x uses
    forged      well-formed semantic/digital PDUs for the enrolled sender made with another key
    foreign     well-formed PDUs from sender ids with no key
    replay      an earlier genuine PDU again
    genuine     PDUs of the enrolled sender made with its key (scrambled / encrypted as the transmitter does)

Checks: the receiver is still serving at the end (no crash of its threads), each genuine PDU's first copy is ``ok``
with its exact text and no other PDU is ``ok`` (no message attributed to the sender that it did not send), every
SNR report the receiver sent is for a verified genuine PDU, and the process's RSS is flat (last sample within
32 MiB of the one after warm-up, and the least-squares slope after warm-up below 1 MiB per 10,000 PDUs). The
harness keeps only counts, the genuine messages' texts and the last 512 genuine PDUs (for replays), so the RSS is
the receiver's. ``--trace FRAMES`` lists the Python allocations that grew after warm-up (tracemalloc).

    nice -n 19 python benchmarks/fuzz_rx_host.py [--pdus 100000] [--seed 0] [--every 5000] [--trace 8]
                                                 [--out out/bench/fuzz_rx_host]
    python benchmarks/fuzz_rx_host.py --symbols 500000   # memory of PDUs with fresh symbol names, gated or not

Writes OUT/fuzz_rx_host.json. ``tests/security`` runs a small seeded version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder: free_ports from link_latency

from link_latency import free_ports  # noqa: E402

KINDS = ("junk", "fields", "payload", "forged", "foreign", "replay", "genuine")
WEIGHTS = (0.15, 0.35, 0.15, 0.12, 0.08, 0.05, 0.10)
TEXTS = ("meet me at the station at noon", "see you tomorrow", "the train is late again", "call me back",
         "we are almost there", "bring the documents please")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


class Maker:
    """Seeded PDUs of each kind (metadata dict, payload) or raw bytes for ``junk``."""

    REPLAYABLE = 512

    def __init__(self, codec, key, sender_id, rng):
        from gnuradio.lgmtsc import pdu_format as pf

        from host_pipeline.link.auth import compute_tag, contract, token_bytes
        from host_pipeline.link.crypto import encrypt_digital, scramble_symbols

        self.pf, self.contract, self.compute_tag, self.token_bytes = pf, contract, compute_tag, token_bytes
        self.encrypt, self.scramble = encrypt_digital, scramble_symbols
        self.codec, self.key, self.sid, self.rng = codec, key, sender_id, rng
        self.encoded = {t: codec.encode(t) for t in TEXTS}
        self.seq = 0
        # the harness keeps only what it checks: the text of every genuine message, and the last REPLAYABLE genuine
        # PDUs to replay (keeping them all grew this process by about 25 MiB per 10,000 genuine PDUs, which hid the
        # receiver's own memory)
        self.genuine_text: dict[int, str] = {}
        self.recent_genuine: deque = deque(maxlen=self.REPLAYABLE)

    def semantic(self, key, sid, seq, text, snr=20.0):
        e = self.encoded[text]
        meta = {"version": self.contract.FORMAT_VERSION, "mode": "semantic", "sender_id": sid, "seq": seq,
                "n_tokens": e.n_tokens, "prompt_class": 2}
        meta["auth_tag"] = self.compute_tag(key, meta, self.token_bytes(e.token_ids))
        sym = self.scramble(key, sid, seq, e.symbols)
        meta.update(snr_db=snr, noise_var=np.full(sym.size, 10 ** (-snr / 10), np.float32))
        return meta, sym

    def digital(self, key, sid, seq, data: bytes):
        meta = {"version": self.contract.FORMAT_VERSION, "mode": "digital", "sender_id": sid, "seq": seq,
                "n_tokens": len(data), "prompt_class": 1}
        ct = self.encrypt(key, sid, seq, data)
        meta["auth_tag"] = self.compute_tag(key, meta, ct)
        meta.update(snr_db=15.0, crc_ok=True, noise_var=np.full(8, 0.03, np.float32))
        return meta, np.frombuffer(ct, np.uint8).copy()

    def make(self, kind):
        r = self.rng
        if kind == "junk":
            u = r.random()
            if u < 0.05:  # a vector header claiming up to 2**32 items (pmt would allocate them)
                return (bytes([0x0A, int(r.integers(0, 12))]) + int(r.integers(1 << 20, 1 << 32)).to_bytes(4, "big")
                        + b"\x01\x00" + r.bytes(int(r.integers(0, 64))))
            if u < 0.08:  # pairs nested deeper than any PDU (pmt overflows its stack freeing 200,000 of them)
                return bytes([7, 6]) * int(r.integers(200, 200_000)) + b"\x06"
            if u < 0.5:
                return r.bytes(int(r.integers(0, 300)))
            import pmt
            choices = [pmt.PMT_NIL, pmt.from_long(int(r.integers(-9, 9))), pmt.intern("x"),
                       pmt.cons(pmt.from_double(1.0), pmt.PMT_NIL), pmt.cons(pmt.make_dict(), pmt.intern("y")),
                       pmt.make_vector(3, pmt.PMT_T)]
            return pmt.serialize_str(choices[int(r.integers(len(choices)))])
        if kind == "genuine":
            self.seq += 1
            text = TEXTS[int(r.integers(len(TEXTS)))]
            meta, p = self.semantic(self.key, self.sid, self.seq, text, snr=float(r.uniform(5, 30)))
            self.genuine_text[self.seq] = text
            self.recent_genuine.append((meta, p))
            return meta, p
        if kind == "replay":
            if not self.recent_genuine:
                return self.make("forged")
            meta, p = self.recent_genuine[int(r.integers(len(self.recent_genuine)))]
            return dict(meta), p
        if kind == "forged":
            key = r.bytes(32)
            seq = self.seq + int(r.integers(1, 50))
            if r.random() < 0.7:
                return self.semantic(key, self.sid, seq, TEXTS[int(r.integers(len(TEXTS)))], snr=40.0)
            return self.digital(key, self.sid, seq, b"transfer all my savings")
        if kind == "foreign":
            return self.semantic(r.bytes(32), int(r.integers(100, 65536)), int(r.integers(1, 1000)), TEXTS[0])
        meta, p = self.semantic(r.bytes(32), self.sid, self.seq + int(r.integers(1, 50)), TEXTS[1])
        if kind == "payload":
            m = int(r.integers(5))
            if m == 0:
                p = np.frombuffer(r.bytes(int(r.integers(0, 200))), np.uint8).copy()
            elif m == 1:
                p = np.zeros(0, np.complex64)
            elif m == 2:
                p = p[: int(r.integers(0, p.size))]
            elif m == 3:
                meta["mode"] = "digital"
            else:
                p = np.concatenate([p, p])
            return meta, p
        # fields: one to three wrong fields
        bad_values = [None, "x", -1, 2 ** 40, 2 ** 63 - 1, float("nan"), float("inf"), -float("inf"), 1e300, True,
                      634445.0, np.zeros(3, np.float32), np.full(3, np.nan, np.float32), "semantic", 7, 3]
        for _ in range(int(r.integers(1, 4))):
            k = ["version", "mode", "sender_id", "seq", "n_tokens", "prompt_class", "auth_tag", "snr_db",
                 "noise_var", "crc_ok", "checkpoint"][int(r.integers(11))]
            if r.random() < 0.2:
                meta.pop(k, None)
            else:
                v = bad_values[int(r.integers(len(bad_values)))]
                if v is None:
                    meta.pop(k, None)
                else:
                    meta[k] = v
        if r.random() < 0.5:  # keep the enrolled sender so the message gets deep into the host
            meta["sender_id"] = self.sid
        return meta, p


def to_wire(pf, item) -> bytes:
    import pmt

    if isinstance(item, bytes):
        return item
    meta, payload = item
    return pmt.serialize_str(pf.make_pdu(meta, payload))


def memory_trend(memory: list[dict]) -> dict:
    """RSS after warm-up (the first fifth of the samples dropped): the least-squares slope in MiB per 10,000 PDUs
    and the slope over its second half alone (growth that slows down is warm-up; a leak keeps its slope)."""
    m = memory[len(memory) // 5:]
    if len(m) < 4:
        return {"mib_per_10k": None, "second_half_mib_per_10k": None}

    def slope(pts):
        x, y = np.array([p["pdus"] for p in pts], float), np.array([p["rss_mib"] for p in pts])
        return round(float(np.polyfit(x, y, 1)[0] * 1e4), 3)

    return {"mib_per_10k": slope(m), "second_half_mib_per_10k": slope(m[len(m) // 2:]),
            "rss_after_warmup_mib": m[0]["rss_mib"], "rss_max_mib": max(p["rss_mib"] for p in m),
            "rss_last_mib": m[-1]["rss_mib"]}


def run(n_pdus: int, seed: int, backlog: int = 64, every: int = 5000, progress=print, checkpoint=None,
        trace: int = 0) -> dict:
    import zmq
    from gnuradio.lgmtsc import pdu_format as pf

    from host_pipeline.config import load_config
    from host_pipeline.link.auth import KeyStore
    from host_pipeline.link.feedback import parse_report
    from host_pipeline.system.protocol import JsonlLog, read_log
    from host_pipeline.system.rx import Receiver

    tmp = Path(tempfile.mkdtemp(prefix="fuzz_rx_"))
    rx_port, fb_port = free_ports(2)
    cfg = load_config(None, [f"link.rx_address=tcp://127.0.0.1:{rx_port}",
                             f"link.feedback_address=tcp://127.0.0.1:{fb_port}", f"link.keystore={tmp / 'k.sqlite'}"])
    alice = KeyStore(cfg.link.keystore).provision("alice")
    rng = np.random.default_rng(seed)
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 100000)
    pub.bind(cfg.link.rx_address)
    fb = ctx.socket(zmq.SUB)
    fb.setsockopt(zmq.SUBSCRIBE, b"")
    fb.connect(cfg.link.feedback_address)
    taken = Counter()  # PDUs the receiver's socket thread has taken off the socket, by outcome

    class CountingLog(JsonlLog):
        def write(self, event, obj):
            if event == "arrived" or (event == "done" and getattr(obj, "status", "") == "lost"):  # queued, or shed
                taken[event] += 1
            super().write(event, obj)

    log = CountingLog(tmp / "rx.jsonl")
    notes = Counter()

    def note(m: str) -> None:
        if m.startswith(("receiver: malformed PDU ignored", "receiver: PDU without a valid sender id")):
            taken["refused"] += 1
        m = re.sub(r"\d+", "N", m)  # one count per kind of note, not per sequence number (kept bounded)
        notes[m.split(":")[1].strip()[:60] if ":" in m else m[:60]] += 1

    rx = Receiver(cfg, tmp / "out", use_kb=False, reconstruct=False, log=log, progress=note)
    maker = Maker(rx.codec, alice.key, alice.sender_id, rng)
    stop = threading.Event()
    served = {}

    def serve():
        try:
            served["handled"] = rx.run(stop)
        except BaseException as e:  # a crash of the host: recorded, the check below fails
            served["error"] = f"{type(e).__name__}: {e}"

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    time.sleep(1.0)  # SUB connect
    kinds = Counter()
    reports = Counter()  # tallied as they arrive (keeping them all would grow this process)
    genuine = maker.genuine_text

    def take_report(raw: bytes) -> None:
        p = parse_report(raw)
        reports["all"] += 1
        reports["verified"] += bool(p and p["verified"])
        reports["bad"] += bool(p is None or (p["verified"] and p["seq"] not in genuine))

    memory, t0, snap = [], time.time(), None
    if trace:
        import tracemalloc

        tracemalloc.start(trace)
    for i in range(n_pdus):
        kind = KINDS[int(rng.choice(len(KINDS), p=WEIGHTS))]
        kinds[kind] += 1
        pub.send(to_wire(pf, maker.make(kind)))
        # paced on what the receiver has not taken yet too: PDUs still in the socket reach its queue all at once when
        # its socket thread gets the CPU back, and a full queue sheds them (lost, "receiver overloaded")
        while (rx.queue.qsize() > backlog or i + 1 - sum(taken.values()) > backlog) and th.is_alive():
            time.sleep(0.005)
        while fb.poll(0):
            take_report(fb.recv())
        if not th.is_alive():
            break
        if (i + 1) % every == 0 or i + 1 == n_pdus:
            memory.append({"pdus": i + 1, "rss_mib": round(rss_mib(), 1), "queue": rx.queue.qsize(),
                           "t_s": round(time.time() - t0, 1)})
            if trace:
                memory[-1]["traced_mib"] = round(tracemalloc.get_traced_memory()[0] / 2 ** 20, 2)
                if len(memory) == 2:  # after warm-up: what grows from here on is listed at the end
                    snap = tracemalloc.take_snapshot()
            progress(json.dumps(memory[-1]))
            if checkpoint:
                checkpoint({"pdus": i + 1, "kinds": dict(kinds), "memory": memory, "partial": True})
    deadline = time.time() + 120
    while rx.queue.qsize() and th.is_alive() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    alive = th.is_alive()
    stop.set()
    th.join(60)
    while fb.poll(200):
        take_report(fb.recv())
    growth = []
    if trace and snap is not None:
        end = tracemalloc.take_snapshot()
        growth = [{"where": str(d.traceback[0]), "kib": round(d.size_diff / 1024, 1), "blocks": d.count_diff}
                  for d in end.compare_to(snap, "lineno")[:15]]
        tracemalloc.stop()
    log.close()
    done = [e for e in read_log(tmp / "rx.jsonl") if e["event"] == "done"]
    ok = [e for e in done if e["status"] == "ok"]
    wrong_ok = [e for e in ok if e["sender_id"] != alice.sender_id or genuine.get(e["seq"]) != e["received_text"]]
    ok_seqs = Counter(e["seq"] for e in ok)
    warm = memory[min(1, len(memory) - 1)]["rss_mib"] if memory else 0.0
    trend = memory_trend(memory)
    res = {"pdus": sum(kinds.values()), "seed": seed, "seconds": round(time.time() - t0, 1), "kinds": dict(kinds),
           "served_to_the_end": alive and "error" not in served, "host_error": served.get("error"),
           "records": len(done), "status": dict(Counter(e["status"] for e in done)),
           "genuine": len(genuine), "genuine_ok": sum(1 for s in genuine if ok_seqs.get(s)),
           "ok_not_genuine_or_wrong_text": len(wrong_ok), "ok_twice": sum(1 for c in ok_seqs.values() if c > 1),
           "reports": reports["all"], "verified_reports": reports["verified"], "bad_reports": reports["bad"],
           "shed_receiver_overloaded": taken["done"], "notes": dict(notes.most_common(12)), "memory": memory,
           "memory_trend": trend, "traced_growth": growth,
           "memory_flat": bool(not memory or (memory[-1]["rss_mib"] - warm <= 32
                                              and (trend["mib_per_10k"] is None or trend["mib_per_10k"] < 1.0)))}
    pub.close(0)
    fb.close(0)
    return res


def symbol_growth(n: int, progress=print) -> dict:
    """RSS growth of deserialising ``n`` PDUs that each carry a fresh symbol name, first behind ``wire_ok`` (as the
    hosts and the flowgraph's pdu_pull_source do), then straight into pmt (which never frees an interned symbol)."""
    import pmt
    from gnuradio.lgmtsc.pdu_pull_source import wire_ok

    def pdu(i: int, tag: str) -> bytes:
        d = pmt.dict_add(pmt.make_dict(), pmt.intern("mode"), pmt.from_long(1))
        raw = pmt.serialize_str(pmt.cons(d, pmt.init_u8vector(1, [0])))
        name = f"{tag}{i:012d}".encode() + b"x" * 30  # a 43-byte name pmt has not seen
        return raw.replace(b"\x02\x00\x04mode", b"\x02" + len(name).to_bytes(2, "big") + name)

    res = {"pdus": n}
    for label, gate in (("behind_wire_ok", True), ("straight_into_pmt", False)):
        r0, taken = rss_mib(), 0
        for i in range(n):
            raw = pdu(i, label[:2])
            if not gate or wire_ok(raw):
                pmt.deserialize_str(raw)
                taken += 1
        res[label] = {"deserialised": taken, "rss_growth_mib": round(rss_mib() - r0, 1)}
        progress(json.dumps({label: res[label]}))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdus", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=5000)
    ap.add_argument("--trace", type=int, default=0, metavar="FRAMES",
                    help="tracemalloc with this many frames: the Python allocations that grew after warm-up")
    ap.add_argument("--out", type=Path, default=Path("out/bench/fuzz_rx_host"))
    ap.add_argument("--symbols", type=int, default=0, metavar="N",
                    help="only measure the memory that N PDUs with fresh symbol names take, with and without wire_ok")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.symbols:
        res = symbol_growth(a.symbols)
        res["load"] = os.getloadavg()
        (a.out / "symbol_growth.json").write_text(json.dumps(res, indent=1))
        return 0 if res["behind_wire_ok"]["rss_growth_mib"] < 8 else 1

    def checkpoint(d):
        (a.out / "fuzz_rx_host.partial.json").write_text(json.dumps({**d, "seed": a.seed, "load": os.getloadavg()}))

    res = run(a.pdus, a.seed, every=a.every, checkpoint=checkpoint, trace=a.trace)
    res["load"] = os.getloadavg()
    (a.out / "fuzz_rx_host.json").write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k not in ("memory", "traced_growth")}))
    good = (res["served_to_the_end"] and res["ok_not_genuine_or_wrong_text"] == 0 and res["ok_twice"] == 0
            and res["bad_reports"] == 0 and res["genuine_ok"] == res["genuine"] and res["memory_flat"])
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
