"""Minimal ZeroMQ client for the gr-lgmtsc flowgraphs (PMT-serialised PDUs).

The flowgraph binds; this client connects: PUSH to :5550 (TX PDUs), SUB to :5551
(RX PDUs) and :5552 (SNR reports). Needs GNU Radio's ``pmt`` and gr-lgmtsc (the venv made
with --system-site-packages, where `make setup` installs it) and pyzmq.
"""

import time

import zmq
from gnuradio.lgmtsc import pdu_format
from gnuradio.lgmtsc.pdu_pull_source import wire_ok  # the flowgraph's TX input walks PDUs with the same check


class PhyLink:
    """send(meta, payload) / recv() / recv_snr() against a running lgmtsc flowgraph."""

    def __init__(self, tx_addr=pdu_format.ZMQ_TX_IN, rx_addr=pdu_format.ZMQ_RX_OUT,
                 snr_addr=pdu_format.ZMQ_SNR_OUT, context=None):
        """Connect the sockets whose address is given (None: not used by this host)."""
        self.ctx = context or zmq.Context.instance()
        self.tx = self.rx = self.snr = None
        try:
            if tx_addr:
                self.tx = self.ctx.socket(zmq.PUSH)
                self.tx.setsockopt(zmq.LINGER, 1000)
                self.tx.connect(tx_addr)
            if rx_addr:
                self.rx = self.ctx.socket(zmq.SUB)
                self.rx.setsockopt(zmq.SUBSCRIBE, b"")
                self.rx.connect(rx_addr)
            if snr_addr:
                self.snr = self.ctx.socket(zmq.SUB)
                self.snr.setsockopt(zmq.SUBSCRIBE, b"")
                self.snr.connect(snr_addr)
        except zmq.ZMQError as e:
            self.close()
            from ..errors import ConfigError

            raise ConfigError(f"bad ZeroMQ address ({tx_addr}, {rx_addr}, {snr_addr}): {e}",
                              hint="addresses look like tcp://HOST:PORT, e.g. tcp://127.0.0.1:5550") from None

    def send(self, meta, payload):
        """meta: dict with the TX keys (pdu_format.REQUIRED_TX_KEYS); payload: complex
        symbols (semantic) or uint8 bytes (digital)."""
        import pmt
        self.tx.send(pmt.serialize_str(pdu_format.make_pdu(meta, payload)))

    @staticmethod
    def _recv(sock, timeout):
        import pmt
        if sock.poll(int(timeout * 1000)):
            raw = sock.recv()
            if not wire_ok(raw):  # checked before pmt allocates or nests anything (see wire_ok)
                raise ValueError(f"malformed PDU ({len(raw)} bytes): lengths beyond the message, or nested too deep")
            return pdu_format.parse_pdu(pmt.deserialize_str(raw))
        return None

    def recv(self, timeout=5.0):
        """Next RX PDU as (meta dict, numpy payload), or None after ``timeout`` seconds."""
        return self._recv(self.rx, timeout)

    def recv_snr(self, timeout=5.0):
        r = self._recv(self.snr, timeout)
        return None if r is None else r[0]

    def wait_ready(self, delay=0.5):
        """SUB sockets need a moment after connect before messages reach them."""
        time.sleep(delay)

    def close(self):
        for s in (self.tx, self.rx, self.snr):
            if s is not None:
                s.close()


# ------------------------------------------------------------------------------------ CurveZMQ (host-to-host paths)
def curve_client(sock, address: str, curve: dict | None) -> None:
    """Make ``sock`` a CurveZMQ client of the server in ``curve`` (``KeyStore.curve_for(address, "client")``)
    before it connects; nothing for a path inside this machine (``curve`` None)."""
    import zmq

    if curve is None:
        return
    sock.setsockopt(zmq.CURVE_PUBLICKEY, curve["public"].encode())
    sock.setsockopt(zmq.CURVE_SECRETKEY, curve["secret"].encode())
    sock.setsockopt(zmq.CURVE_SERVERKEY, curve["server"].encode())


class _AllowKeys:
    def __init__(self, allow):
        self.allow = {k.encode() if isinstance(k, str) else k for k in allow}

    def callback(self, domain, key) -> bool:  # pyzmq passes the client's key Z85-encoded
        return (key.encode() if isinstance(key, str) else bytes(key)) in self.allow


def curve_server(sock, curve: dict | None, context=None):
    """Make ``sock`` a CurveZMQ server that admits only the peers' public keys in ``curve`` (a ZAP handler thread,
    returned: stop it after closing the socket); None for a path inside this machine."""
    import zmq
    from zmq.auth.thread import ThreadAuthenticator

    if curve is None:
        return None
    auth = ThreadAuthenticator(context or zmq.Context.instance())
    auth.start()
    auth.configure_curve_callback("*", credentials_provider=_AllowKeys(curve["allow"]))
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, curve["public"].encode())
    sock.setsockopt(zmq.CURVE_SECRETKEY, curve["secret"].encode())
    return auth

