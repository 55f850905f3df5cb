#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""pdu_pull_source: PDUs from a ZeroMQ PULL socket, checked before pmt sees them.

It replaces GNU Radio's ``zeromq_pull_msg_source`` at the flowgraph's TX input (:5550). That block hands every
message to ``pmt::deserialize_str`` in C++, which trusts the lengths it reads: 24 bytes claiming a vector of 2**28
complex items make it allocate 2 GiB, and 200,000 nested pairs (400 kB) overflow the stack when they are freed,
so anyone who can reach the port can crash the flowgraph. This block

- refuses messages larger than ``max_msg_size`` bytes in ZeroMQ itself (``ZMQ_MAXMSGSIZE``: the peer that sends
  one is disconnected before the message is buffered);
- walks each message's serialised PMT (``wire_ok``: every length inside the message, at most ``max_nodes`` nodes,
  nested at most ``max_depth`` deep, at most 1,024 distinct symbol names per process, since pmt never frees one)
  before ``pmt.deserialize_str`` sees it;
- posts only PDUs (a pair of a dict and a uniform vector) on ``out``; every other message is dropped, counted by
  reason (``counts()``) and logged (the first of each reason, then every 1,000th).
"""

import threading

import pmt
from gnuradio import gr

DEFAULT_MAX_MSG_SIZE = 8 << 20  # bytes; a semantic PDU of 65,535 tokens at 4 uses each is 2 MiB

# ----------------------------------------------------------------------- serialised PMT check (before pmt sees it)
_FIXED = {0x00: 0, 0x01: 0, 0x06: 0, 0x03: 4, 0x04: 8, 0x05: 16, 0x0B: 8, 0x0D: 8}  # true false null i32 f64 c u64 i64
_UV_ITEM = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 8, 7: 8, 8: 4, 9: 8, 10: 8, 11: 16}  # u8 s8 ... f32 f64 c32 c64


# Symbols this process has let pmt intern. pmt never frees an interned symbol (its table is global and only grows:
# 500,000 PDUs with a fresh 44-byte name each took 180 MiB, ``benchmarks/fuzz_rx_host.py --symbols 500000``), so a
# sender of fresh symbol names would grow the process without end; PDUs use a few dozen names.
SEEN_SYMBOLS = set()
_SEEN_LOCK = threading.Lock()
MAX_SYMBOLS = 1024  # distinct symbol names admitted per process; a message with a new one beyond that is refused
MAX_SYMBOL_LEN = 256


def wire_ok(buf, max_nodes=4096, max_depth=128, symbols=SEEN_SYMBOLS, max_symbols=MAX_SYMBOLS,
            max_symbol_len=MAX_SYMBOL_LEN):
    """True if ``buf`` is one serialised PMT whose every length fits inside ``buf``, with at most ``max_nodes`` nodes
    nested at most ``max_depth`` deep, and whose symbols are at most ``max_symbol_len`` bytes and either in
    ``symbols`` or few enough new ones that ``symbols`` stays within ``max_symbols`` (the new ones are added to it
    when the message is accepted; ``symbols=None``: any symbol).

    ``pmt.deserialize_str`` trusts the lengths it reads: 24 bytes claiming a complex vector of 2**28 items make it
    allocate 2 GiB (a 16-byte-item vector of 2**32 would be 64 GiB), and a chain of 200,000 nested pairs (400 kB)
    crashes the process with a stack overflow when it is freed. Both were found by ``benchmarks/fuzz_rx_host.py``;
    this walk, iterative and allocation-free, refuses them before pmt sees them."""
    n, i, nodes, stack, new = len(buf), 0, 0, [1], []
    while stack:
        if stack[-1] == 0:
            stack.pop()
            continue
        stack[-1] -= 1
        if i >= n:
            return False
        t = buf[i]
        i += 1
        nodes += 1
        if nodes > max_nodes:
            return False
        if t in _FIXED:
            i += _FIXED[t]
        elif t == 0x02:  # symbol: u16 length
            if i + 2 > n:
                return False
            size = int.from_bytes(buf[i:i + 2], "big")
            if symbols is not None:
                if size > max_symbol_len or i + 2 + size > n:
                    return False
                name = bytes(buf[i + 2:i + 2 + size])
                if name not in symbols and name not in new:
                    if len(symbols) + len(new) >= max_symbols:
                        return False
                    new.append(name)
            i += 2 + size
        elif t in (0x07, 0x09):  # pair, dict entry: two items
            stack.append(2)
        elif t in (0x08, 0x0C):  # vector, tuple: u32 count
            if i + 4 > n:
                return False
            count = int.from_bytes(buf[i:i + 4], "big")
            i += 4
            if count > max_nodes:
                return False
            stack.append(count)
        elif t == 0x0A:  # uniform vector: type u8, count u32, npad u8, pad, items
            if i + 6 > n or buf[i] not in _UV_ITEM:
                return False
            size = int.from_bytes(buf[i + 1:i + 5], "big") * _UV_ITEM[buf[i]]
            i += 6 + buf[i + 5]
            if i + size > n:
                return False
            i += size
        else:
            return False
        if len(stack) > max_depth or i > n:
            return False
    if i != n:
        return False
    if new:
        with _SEEN_LOCK:
            if len(symbols) + len(new) > max_symbols:
                return False
            symbols.update(new)
    return True


def is_pdu(msg):
    """A GNU Radio PDU: (metadata dict . uniform vector)."""
    return pmt.is_pair(msg) and pmt.is_dict(pmt.car(msg)) and pmt.is_uniform_vector(pmt.cdr(msg))


class pdu_pull_source(gr.basic_block):
    """ZeroMQ PULL -> checked PDUs on message port ``out`` (see the module's docstring)."""

    LOG_EVERY = 1000

    def __init__(self, address="tcp://127.0.0.1:5550", bind=True, timeout=100, max_msg_size=DEFAULT_MAX_MSG_SIZE,
                 max_nodes=4096, max_depth=128):
        gr.basic_block.__init__(self, name="pdu_pull_source", in_sig=None, out_sig=None)
        self.address, self.bind, self.timeout = str(address), bool(bind), max(1, int(timeout))
        self.max_msg_size, self.max_nodes, self.max_depth = int(max_msg_size), int(max_nodes), int(max_depth)
        self.port = pmt.intern("out")
        self.message_port_register_out(self.port)
        self._lock = threading.Lock()
        self._counts = {"posted": 0, "malformed": 0, "not_a_pdu": 0}
        self._stop = threading.Event()
        self._thread = None
        self._ctx = self._sock = None
        self.last_endpoint = None
        self._open()  # now, so that a bad address fails when the flowgraph is built, in one line

    def _open(self):
        import zmq

        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.PULL)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, self.max_msg_size)
        self._sock.setsockopt(zmq.RCVHWM, 1000)
        try:
            (self._sock.bind if self.bind else self._sock.connect)(self.address)
        except zmq.ZMQError as e:
            self._close()
            raise ValueError("pdu_pull_source: cannot %s %s: %s" % ("bind" if self.bind else "connect to",
                                                                     self.address, e)) from None
        self.last_endpoint = self._sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def _close(self):
        if self._sock is not None:
            self._sock.close(0)
        if self._ctx is not None:
            self._ctx.term()
        self._sock = self._ctx = None

    def counts(self):
        """Messages posted and dropped so far, by reason (a copy)."""
        with self._lock:
            return dict(self._counts)

    def start(self):
        if self._sock is None:  # started again after a stop
            self._open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pdu_pull_source", daemon=True)
        self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close()
        return True

    def _drop(self, reason, size):
        with self._lock:
            self._counts[reason] += 1
            k = self._counts[reason]
        if k == 1 or k % self.LOG_EVERY == 0:
            self.logger.warn("dropped %s message #%d (%d bytes) from %s" % (reason.replace("_", " "), k, size,
                                                                            self.last_endpoint))

    def _loop(self):
        import zmq

        sock = self._sock
        while not self._stop.is_set():
            try:
                if not sock.poll(self.timeout):
                    continue
                raw = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                continue
            except zmq.ZMQError as e:
                if self._stop.is_set():
                    break
                self.logger.error("receive failed: %s" % e)
                continue
            self.handle(raw)

    def handle(self, raw):
        """One serialised message: posted if it is a well-formed PDU, else dropped and counted. Returns True if
        posted."""
        if not wire_ok(raw, self.max_nodes, self.max_depth):
            self._drop("malformed", len(raw))
            return False
        try:
            msg = pmt.deserialize_str(raw)
        except Exception:  # lengths fit but the content does not parse (e.g. a bad symbol)
            self._drop("malformed", len(raw))
            return False
        if not is_pdu(msg):
            self._drop("not_a_pdu", len(raw))
            return False
        with self._lock:
            self._counts["posted"] += 1
        self.message_port_pub(self.port, msg)
        return True
