"""CurveZMQ on the host-to-host feedback path: keys from `lgmtsc keys curve`, only imported peers admitted."""

from __future__ import annotations

import time

import pytest

from host_pipeline.errors import ConfigError, InputError
from host_pipeline.link.auth import KeyStore, is_local_address
from host_pipeline.link.zmq_client import curve_client, curve_server
from host_pipeline.ports import free_ports

from ..conftest import run_cli


def test_local_paths_need_no_curve_and_remote_ones_need_imported_peers(tmp_path):
    assert all(is_local_address(a) for a in ("tcp://127.0.0.1:5553", "tcp://localhost:1", "ipc:///tmp/x",
                                             "tcp://[::1]:5"))
    assert not any(is_local_address(a) for a in ("tcp://0.0.0.0:5553", "tcp://*:5553", "tcp://10.0.0.2:5553",
                                                 "tcp://rx.lan:5553"))
    rx, tx = KeyStore(tmp_path / "rx.sqlite"), KeyStore(tmp_path / "tx.sqlite")
    assert rx.curve_for("tcp://127.0.0.1:5553", "server") is None
    with pytest.raises(ConfigError, match="CurveZMQ"):
        rx.curve_for("tcp://0.0.0.0:5553", "server")
    assert rx.curve_keypair() == rx.curve_keypair()  # created once
    tx.import_curve_line(rx.curve_line("rxhost"))
    rx.import_curve_line(tx.curve_line("txhost"))
    server = rx.curve_for("tcp://0.0.0.0:5553", "server")
    client = tx.curve_for("tcp://rxhost:5553", "client")
    assert server["allow"] == [tx.curve_keypair()[0]] and client["server"] == rx.curve_keypair()[0]
    with pytest.raises(InputError):
        rx.import_curve_line("lgmtsc-curve 1 x " + "#" * 41)


def test_only_the_imported_peer_hears_the_feedback(tmp_path):
    import zmq

    rx, tx, eve = (KeyStore(tmp_path / f"{n}.sqlite") for n in ("rx", "tx", "eve"))
    tx.import_curve_line(rx.curve_line("rxhost"))
    eve.import_curve_line(rx.curve_line("rxhost"))  # the server's key is public: eve knows it too
    rx.import_curve_line(tx.curve_line("txhost"))
    port = free_ports(1)[0]
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    auth = curve_server(pub, rx.curve_for("tcp://0.0.0.0:1", "server"), ctx)
    pub.bind(f"tcp://127.0.0.1:{port}")
    subs = {}
    for name, ks in (("tx", tx), ("eve", eve), ("plain", None)):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        if ks is not None:
            curve_client(s, "tcp://rxhost:1", ks.curve_for("tcp://rxhost:1", "client"))
        s.connect(f"tcp://127.0.0.1:{port}")
        subs[name] = s
    try:
        got = dict.fromkeys(subs, 0)
        deadline = time.time() + 3
        while time.time() < deadline:
            pub.send(b"report")
            for name, s in subs.items():
                while s.poll(10):
                    s.recv()
                    got[name] += 1
        assert got["tx"] > 0 and got["eve"] == 0 and got["plain"] == 0
    finally:
        for s in (pub, *subs.values()):
            s.close(0)
        auth.stop()
        ctx.term()


def test_keys_curve_and_import_through_the_cli(tmp_path):
    rx_env = {"LGMTSC_DATA": str(tmp_path / "rx")}
    tx_env = {"LGMTSC_DATA": str(tmp_path / "tx")}
    r = run_cli("keys", "curve", "--name", "rxhost", env=rx_env, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("lgmtsc-curve 1 rxhost "), r.stderr
    line = tmp_path / "rx.curve"
    line.write_text(r.stdout)
    r = run_cli("keys", "import", str(line), env=tx_env, timeout=120)
    assert r.returncode == 0 and "imported the CurveZMQ key of host rxhost" in r.stdout, r.stderr
