"""Shared helpers of the benchmarks/phy_*.py scripts (closed forms, runners)."""
import numpy as np
from gnuradio.lgmtsc import frame, sim  # installed by make setup
from gnuradio.lgmtsc import pdu_format as pf
from scipy.special import erfc

META = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=1, seq=0, n_tokens=0, prompt_class=2, auth_tag=0)


def semantic_meta(n_sym, **kw):
    """META for a semantic payload of ``n_sym`` symbols: n_tokens x uses_per_token with n_tokens <= 1023."""
    upt = max(1, -(-n_sym // 1023))
    while n_sym % upt:
        upt += 1
    return dict(META, n_tokens=n_sym // upt, uses_per_token=upt, **kw)


def digital_meta(nbytes, **kw):
    return dict(META, mode="digital", n_tokens=nbytes, **kw)


def ber_awgn_bpsk(ebn0_db):
    """BPSK / Gray QPSK over AWGN: 0.5 erfc(sqrt(Eb/N0))."""
    return 0.5 * erfc(np.sqrt(10 ** (np.asarray(ebn0_db) / 10)))


def ber_rayleigh_bpsk(ebn0_db):
    """BPSK / Gray QPSK over flat Rayleigh, coherent: 0.5 (1 - sqrt(g/(1+g)))."""
    g = 10 ** (np.asarray(ebn0_db) / 10)
    return 0.5 * (1 - np.sqrt(g / (1 + g)))


def ber_awgn_16qam(ebn0_db):
    """Gray 16-QAM over AWGN (nearest-neighbour approximation): 3/8 erfc(sqrt(0.4 Eb/N0))."""
    return 0.375 * erfc(np.sqrt(0.4 * 10 ** (np.asarray(ebn0_db) / 10)))


def bit_errors(a, b):
    a = np.frombuffer(bytes(a), np.uint8)
    b = np.frombuffer(bytes(b), np.uint8)
    n = min(a.size, b.size)
    e = int(np.unpackbits(a[:n] ^ b[:n]).sum()) + 8 * abs(a.size - b.size)
    return e


def digital_rate(f, nbytes, mod, fec):
    """Information bits per channel symbol (payload bytes only)."""
    return 8.0 * nbytes / f.digital_n_symbols(nbytes, mod, fec)


def run_digital_bursts(args):
    """Worker: n bursts of nbytes random bytes through the numpy channel + frame.Receiver.

    args = (seed, n, nbytes, mod, fec, esn0_db, fading). Returns dict of counts."""
    seed, n, nbytes, mod, fec, esn0_db, fading = args
    rng = np.random.default_rng(seed)
    f = frame.Frame()
    out = dict(bits=0, errors=0, bits_all=0, errors_all=0.0, errors_hybrid=0.0, frames=0,
               frame_err=0, lost=0)
    for i in range(n):
        data = rng.integers(0, 256, nbytes, dtype=np.uint8)
        x, assoc = f.build_burst(digital_meta(nbytes, seq=i, modulation=mod, fec=fec), data)
        h = None
        if fading:
            h = [(rng.standard_normal() + 1j * rng.standard_normal()) / np.sqrt(2)]
        y = sim.channel(x, rng, esn0_db, cfo_=rng.uniform(-0.002, 0.002), delay_=rng.uniform(0, 8),
                        h=h, lead=int(rng.integers(200, 600)))
        y = np.concatenate([y, sim.awgn(np.zeros(400), esn0_db, 4, rng).astype(np.complex64)])
        res = [r for r in frame.Receiver(f, association=assoc).feed(y) if r[0][pf.KEY_SEQ] == i]  # known link
        out["frames"] += 1
        out["bits_all"] += 8 * nbytes
        if not res:
            out["lost"] += 1
            out["frame_err"] += 1
            out["errors_all"] += 0.5 * 8 * nbytes
            # semi-analytic: the lost burst's bits at the AWGN BER of its own fade
            g = abs(h[0]) ** 2 if h else 1.0
            ebn0 = esn0_db - 10 * np.log10(frame.BITS_PER_SYMBOL[mod])
            out["errors_hybrid"] += 8 * nbytes * float(ber_awgn_bpsk(ebn0 + 10 * np.log10(max(g, 1e-12))))
            continue
        meta, payload = res[0]
        e = bit_errors(payload, data)
        out["bits"] += 8 * nbytes
        out["errors"] += e
        out["errors_all"] += e
        out["errors_hybrid"] += e
        out["frame_err"] += int(not meta[pf.KEY_CRC_OK])
    return out


def pool_run(jobs, workers=2):
    from multiprocessing import Pool
    with Pool(workers) as p:
        res = p.map(run_digital_bursts, jobs)
    tot = {}
    for r in res:
        for k, v in r.items():
            tot[k] = tot.get(k, 0) + v
    return tot
