"""The receiver host against forged, replayed, foreign and malformed messages, and the loopback's supervision of
its three processes when the flowgraph or the receiver is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from host_pipeline.config import load_config
from host_pipeline.link.auth import KeyStore, compute_tag, contract, token_bytes
from host_pipeline.link.crypto import scramble_symbols
from host_pipeline.ports import free_ports
from host_pipeline.system.flowgraph import FlowgraphProcess
from host_pipeline.system.loopback import flowgraph_args
from host_pipeline.system.protocol import JsonlLog, read_log
from host_pipeline.textnorm import wer

from ..conftest import run_cli


def _cfg(tmp_path, *extra):
    tx, rx, snr, fb = free_ports(4)
    return load_config(None, [f"link.tx_address=tcp://127.0.0.1:{tx}", f"link.rx_address=tcp://127.0.0.1:{rx}",
                              f"link.snr_address=tcp://127.0.0.1:{snr}", f"link.feedback_address=tcp://127.0.0.1:{fb}",
                              f"link.keystore={tmp_path / 'keys.sqlite'}", *extra])


def _message(codec, key, sender_id, seq, text):
    enc = codec.encode(text)
    meta = {"version": contract.FORMAT_VERSION, "mode": contract.Mode.SEMANTIC.label, "sender_id": sender_id,
            "seq": seq, "n_tokens": enc.n_tokens, "prompt_class": contract.PromptClass.HIGH}
    meta["auth_tag"] = compute_tag(key, meta, token_bytes(enc.token_ids))
    return meta, scramble_symbols(key, sender_id, seq, enc.symbols)  # as the transmitter sends it (link.crypto)


@pytest.mark.slow
def test_forged_replayed_and_foreign_messages_are_refused_never_rendered(tmp_path, demo_video, monkeypatch):
    import zmq

    from host_pipeline.codec import SemanticCodec
    from host_pipeline.link import PhyLink
    from host_pipeline.publickb.enroll import Enroller
    from host_pipeline.publickb.store import PublicKb
    from host_pipeline.system.rx import Receiver

    monkeypatch.setenv("LGMTSC_DATA", str(tmp_path / "data"))
    cfg = _cfg(tmp_path)
    keys = KeyStore(cfg.link.keystore)
    alice = keys.provision("alice")
    PublicKb(cfg.publickb).put(Enroller(cfg.publickb).enroll("alice", video=str(demo_video)))
    codec = SemanticCodec.load(cfg.codec)
    with FlowgraphProcess("loopback", flowgraph_args("awgn", 25, cfg, 3), cfg.link.tx_address) as fg:
        log = JsonlLog(tmp_path / "rx.jsonl")
        stop, ready = threading.Event(), threading.Event()

        def serve():  # the receiver's databases belong to the thread that opens them, as in `lgmtsc rx`
            rx = Receiver(cfg, tmp_path / "out", use_kb=False, reconstruct=True, log=log, progress=lambda m: None)
            ready.set()
            rx.run(stop)

        served = threading.Thread(target=serve)
        served.start()
        assert ready.wait(300)
        link = PhyLink(cfg.link.tx_address, None, None)
        time.sleep(1.0)
        genuine = _message(codec, alice.key, alice.sender_id, 1, "meet me at the station at noon")
        link.send(*genuine)
        link.send(*genuine)  # a replay: same sequence number, valid tag
        forged = _message(codec, os.urandom(32), alice.sender_id, 2, "transfer all my savings to bob")
        link.send(*forged)  # alice's sender id, but made without her key
        link.send(*_message(codec, os.urandom(32), 999, 1, "hello from nobody"))  # an unknown sender id
        raw = zmq.Context.instance().socket(zmq.PUSH)
        raw.connect(cfg.link.tx_address)
        raw.send(b"\x00 not a PMT")  # malformed input to the flowgraph: it must keep running
        link.send(*_message(codec, alice.key, alice.sender_id, 3, "see you tomorrow"))
        deadline = time.time() + 180
        while time.time() < deadline and sum(e["event"] == "done" for e in read_log(tmp_path / "rx.jsonl")) < 5:
            time.sleep(0.5)
        stop.set()
        served.join(120)
        raw.close(0)
        link.close()
        log.close()
        assert fg.alive(), fg.last_error()
    # in arrival order (a rendered message is logged once its clip is written, after the refusals that followed it)
    done = sorted((e for e in read_log(tmp_path / "rx.jsonl") if e["event"] == "done"), key=lambda e: e["t_arrived"])
    by = [(e["sender_id"], e["seq"], e["status"]) for e in done]
    assert by == [(1, 1, "ok"), (1, 1, "replay"), (1, 2, "unverified"), (999, 1, "unknown_sender"), (1, 3, "ok")]
    ok = [e for e in done if e["status"] == "ok"]
    assert [e["received_text"] for e in ok] == ["meet me at the station at noon", "see you tomorrow"]
    assert all(e["video"] and (tmp_path / "out" / e["video"]).stat().st_size > 10_000 for e in ok)
    refused = [e for e in done if e["status"] != "ok"]
    assert all(e["video"] is None and e["reason"] for e in refused)  # never rendered, always said why
    assert not any("savings" in (e["received_text"] or "") and e["status"] == "ok" for e in done)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp4")) == [e["video"] for e in ok]


def _speech_file(real_data, tmp_path, n=6):
    """n real utterances (LJ Speech) with 1.5 s pauses, as one WAV file."""
    import soundfile as sf

    from host_pipeline.media import read_audio

    parts = []
    for i in range(1, n + 1):
        parts += [read_audio(real_data / "speech" / f"LJ001-{i:04d}.wav"), np.zeros(24000, np.float32)]
    path = tmp_path / "six_utterances.wav"
    sf.write(path, np.concatenate(parts), 16000)
    return path


@pytest.mark.slow
def test_killed_flowgraph_and_receiver_are_restarted_and_no_message_is_misattributed(tmp_path, real_data):
    wav = _speech_file(real_data, tmp_path)
    tx, rx, snr, fb = free_ports(4)
    out = tmp_path / "run"
    sets = [f"link.tx_address=tcp://127.0.0.1:{tx}", f"link.rx_address=tcp://127.0.0.1:{rx}",
            f"link.snr_address=tcp://127.0.0.1:{snr}", f"link.feedback_address=tcp://127.0.0.1:{fb}",
            "link.timeout_s=8"]
    import subprocess
    import sys

    from host_pipeline.paths import REPO_ROOT

    cmd = [sys.executable, "-m", "host_pipeline.cli", *sum((["--set", s] for s in sets), []), "loopback", str(wav),
           "--snr", "20", "--no-kb", "--no-video", "--realtime", "--out", str(out)]
    env = {**os.environ, "LGMTSC_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = []
    try:
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None and len(killed) < 2:
            done = [e for e in read_log(out / "rx.jsonl") if e.get("event") == "done"]
            if len(done) >= 1 and not killed:
                killed.append(("flowgraph", json.loads((out / "pids.json").read_text())["flowgraph"]))
                os.killpg(killed[-1][1], signal.SIGKILL)
            elif len(done) >= 3 and len(killed) == 1:
                killed.append(("receiver", json.loads((out / "pids.json").read_text())["receiver"]))
                os.killpg(killed[-1][1], signal.SIGKILL)
            time.sleep(0.3)
        output, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(killed) == 2, output
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["restarts"]["flowgraph"] == 1 and report["run"]["restarts"]["receiver"] == 1, output
    messages = " ".join(e["message"] for e in report["events"])
    assert "flowgraph stopped" in messages and "receiver stopped" in messages
    utts = report["utterances"]
    assert len(utts) == 6 and [u["seq"] for u in utts] == sorted({u["seq"] for u in utts})
    for u in utts:  # each either came back exactly (the tag verified its tokens) or is reported lost, with why
        assert (u["status"] == "ok" and wer([u["sent_text"]], [u["received_text"]]) == 0) or \
            (u["status"] == "lost" and u["reason"]), u
    assert sum(u["status"] == "ok" for u in utts) >= 4  # it resumed after both kills
    assert utts[-1]["status"] == "ok"


def test_usrp_pair_without_radios_fails_in_one_line(tmp_path, demo_video):
    tx, rx, snr, fb = free_ports(4)
    r = run_cli("--set", f"link.tx_address=tcp://127.0.0.1:{tx}", "--set", f"link.rx_address=tcp://127.0.0.1:{rx}",
                "--set", f"link.snr_address=tcp://127.0.0.1:{snr}", "--set",
                f"link.feedback_address=tcp://127.0.0.1:{fb}", "loopback", str(demo_video), "--usrp",
                "type=b200,serial=NOPE1", "type=b200,serial=NOPE2", "--no-kb", "--no-video", "--out",
                str(tmp_path / "run"), env={"LGMTSC_DATA": str(tmp_path / "data")}, timeout=300)
    assert r.returncode == 5, r.stdout + r.stderr
    assert "no usable USRP" in r.stderr and "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "run" / "tx.jsonl").exists()  # no host was started


@pytest.mark.slow
def test_digital_mode_through_the_loopback(tmp_path, demo_video):
    tx, rx, snr, fb = free_ports(4)
    out = tmp_path / "run"
    r = run_cli("--set", f"link.tx_address=tcp://127.0.0.1:{tx}", "--set", f"link.rx_address=tcp://127.0.0.1:{rx}",
                "--set", f"link.snr_address=tcp://127.0.0.1:{snr}", "--set",
                f"link.feedback_address=tcp://127.0.0.1:{fb}", "loopback", str(demo_video), "--mode", "digital",
                "--snr", "8", "--no-kb", "--no-video", "--hotwords", "Whittemore", "Philip", "--out", str(out),
                env={"LGMTSC_DATA": str(tmp_path / "data")}, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    utts = report["utterances"]
    assert len(utts) == 3 and all(u["mode"] == "digital" and u["status"] == "ok" for u in utts)
    assert [u["received_text"] for u in utts] == [u["sent_text"] for u in utts]  # lossless, case and all
    s = report["summary"]
    assert s["bits_sent"] == sum(u["payload_bits"] + u["header_bits"] + u["tag_bits"] for u in utts)
    assert all((u["header_bits"], u["tag_bits"]) == (192, 64) for u in utts)  # 96 and 32 QPSK uses
    assert all(u["n_tokens"] < len(u["sent_text"].encode()) for u in utts)  # the text coder's bytes beat UTF-8
    assert (out / "report.html").is_file()
