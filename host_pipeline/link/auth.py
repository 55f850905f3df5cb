"""Message authentication: a 32-bit tag per message made with the sender's key, replay rejection by sequence
number, and tag-aided decoding of semantic messages.

The tag travels in the burst's tag block (``auth_tag``, u32, tail-biting coded after the header; gr-lgmtsc's
``header.py``). It is HMAC-SHA256 truncated to 32 bits over the message fields (``header.mac_input``: version,
mode, sender, the full 32-bit sequence number, length, prompt class, codec checkpoint) and the message content:
the token ids for a semantic message, the payload bytes for a digital one. A receiver therefore knows the exact
token ids once a tag verifies. Semantic payloads arrive with errors at low SNR, so the receiver searches the
decoder's runner-up tokens at its least confident positions, most likely combinations first, within a budget
(``verify_semantic``): a verified message is both authentic and error-free; one that does not verify is reported
as unverified and never rendered as the sender's face and voice.

Security: a forged message passes only if one of the at most B tags the receiver computes for it matches, so a
forgery is rendered with probability at most B / 2**32 per attempt (B = ``link.auth_budget``, default 4096:
2**-20, 9.5e-7). Every attempt costs the forger a fresh sequence number inside the replay window (replays are refused
before any tag is computed), and a digital message is checked once (B = 1: 2**-32). The tag costs 32 bits
(32 channel uses) per message instead of 64 (the old header's u64), about 11 bit/s on 3-s utterances.

Keys, sender ids and sequence state live in one SQLite database (``KeyStore``), provisioned when a user is
enrolled (``lgmtsc keys provision``) and exported to the receiving host (``lgmtsc keys export/import``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from functools import wraps
from pathlib import Path

import numpy as np
from gnuradio.lgmtsc import header as contract  # the air-interface contract: Header, enums, mac_input

from ..errors import ConfigError, InputError

TAG_DOMAIN = b"LGMTSC-TAG2"
REPLAY_WINDOW = 63  # sequence numbers below the highest accepted one that may still arrive late, once (fits SQLite)


@dataclass(frozen=True)
class SenderKey:
    user: str
    sender_id: int  # u16, carried in the burst header
    key: bytes  # 32 random bytes, shared by the sender and its receivers only


TAG_BITS = contract.TAG_BITS


def header_bytes(meta: dict) -> bytes:
    """The authenticated message fields (gr-lgmtsc ``header.mac_input``)."""
    return contract.mac_input(meta)


def token_bytes(token_ids) -> bytes:
    return np.asarray(token_ids, dtype=">u4").tobytes()


TAG_BYTES = TAG_BITS // 8


def compute_tag(key: bytes, meta: dict, content: bytes) -> int:
    """HMAC-SHA256(key, domain | message fields | SHA-256(content)) truncated to TAG_BITS, as an unsigned integer."""
    mac = hmac.new(key, TAG_DOMAIN + header_bytes(meta) + hashlib.sha256(content).digest(), hashlib.sha256)
    return int.from_bytes(mac.digest()[:TAG_BYTES], "big")


def verify_tag(key: bytes, meta: dict, content: bytes) -> bool:
    try:
        got = int(meta["auth_tag"]).to_bytes(TAG_BYTES, "big")
    except (OverflowError, ValueError, KeyError, TypeError):
        return False
    return hmac.compare_digest(compute_tag(key, meta, content).to_bytes(TAG_BYTES, "big"), got)


def verify_semantic(key: bytes, meta: dict, cand_ids: np.ndarray, cand_probs: np.ndarray,
                    budget: int = 1024, max_alternatives: int = 64) -> tuple[list[int] | None, int]:
    """Find the token ids that the tag verifies among the decoder's candidates, most likely first.

    ``cand_ids``/``cand_probs``: [n_tokens, k] from ``SemanticCodec.decode_candidates`` (column 0 = best).
    Returns (the verified ids or None, the number of tags computed). Combinations of runner-up tokens are
    tried in increasing order of their log-probability loss, at most ``budget`` of them.
    """
    ids = np.asarray(cand_ids)
    logp = np.log(np.clip(np.asarray(cand_probs, dtype=np.float64), 1e-30, 1.0))
    try:
        target = int(meta["auth_tag"]).to_bytes(TAG_BYTES, "big")
    except (OverflowError, ValueError):
        return None, 0
    keyed_head = hmac.new(key, TAG_DOMAIN + header_bytes(meta), hashlib.sha256)  # HMAC state after the header

    def tries(seq_ids: np.ndarray) -> bool:
        mac = keyed_head.copy()
        mac.update(hashlib.sha256(token_bytes(seq_ids)).digest())
        return hmac.compare_digest(mac.digest()[:TAG_BYTES], target)

    best = ids[:, 0].copy()
    if tries(best):
        return best.tolist(), 1
    # alternatives (cost, position, column), cheapest first; at most one alternative per position
    cost = logp[:, :1] - logp[:, 1:]
    pos, col = np.unravel_index(np.argsort(cost, axis=None)[:max_alternatives], cost.shape)
    alts = [(float(cost[p, c]), int(p), int(c) + 1) for p, c in zip(pos, col)]
    n_tried = 1
    heap = [(alts[0][0], (0,))] if alts else []
    while heap and n_tried < budget:
        total, chosen = heapq.heappop(heap)
        last = chosen[-1]
        if last + 1 < len(alts):  # successors: append the next item, or replace the last one with it
            heapq.heappush(heap, (total + alts[last + 1][0], chosen + (last + 1,)))
            heapq.heappush(heap, (total - alts[last][0] + alts[last + 1][0], chosen[:-1] + (last + 1,)))
        positions = [alts[i][1] for i in chosen]
        if len(set(positions)) != len(positions):
            continue
        trial = best.copy()
        for i in chosen:
            trial[alts[i][1]] = ids[alts[i][1], alts[i][2]]
        n_tried += 1
        if tries(trial):
            return trial.tolist(), n_tried
    return None, n_tried


def _locked(method):
    @wraps(method)
    def call(self, *a, **kw):
        with self._lock:
            return method(self, *a, **kw)
    return call


class KeyStore:
    """Senders' keys, sender ids and sequence state in SQLite (``$LGMTSC_DATA/keys.sqlite`` by default).

    The transmitter's next sequence number and the receiver's replay window are persisted, so a restarted host
    continues where it stopped and a replayed message stays refused across restarts.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        from ..paths import data_dir

        self.path = Path(path).expanduser() if path else data_dir() / "keys.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # created private before SQLite writes a key into it (or its -wal file)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        try:  # SQLite gives the -wal and -shm files the database file's mode
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript("""
                CREATE TABLE IF NOT EXISTS senders (user TEXT PRIMARY KEY, sender_id INTEGER UNIQUE NOT NULL,
                                                    key BLOB NOT NULL, created REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS tx_state (sender_id INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS rx_state (sender_id INTEGER PRIMARY KEY, high INTEGER NOT NULL,
                                                     seen INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS curve_self (id INTEGER PRIMARY KEY CHECK (id = 1), public TEXT NOT NULL,
                                                       secret TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS curve_peers (name TEXT PRIMARY KEY, public TEXT NOT NULL);""")
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"cannot open the key store {self.path}: {e}") from None
        self._lock = threading.RLock()  # one connection, used by a host's threads in turn

    def close(self) -> None:
        self.db.close()

    # --- keys -------------------------------------------------------------------------------------------
    @_locked
    def provision(self, user: str) -> SenderKey:
        """The user's key, created with the next free sender id if they have none."""
        if not user:
            raise InputError("a user id is needed to provision a key")
        have = self.get(user)
        if have:
            return have
        self.db.execute("BEGIN IMMEDIATE")
        try:
            sid = self.db.execute("SELECT COALESCE(MAX(sender_id), 0) + 1 FROM senders").fetchone()[0]
            if sid > 0xFFFF:
                raise ConfigError("no free 16-bit sender id left in the key store")
            self.db.execute("INSERT INTO senders VALUES (?, ?, ?, ?)",
                            (user, sid, secrets.token_bytes(32), time.time()))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.get(user)

    @_locked
    def get(self, user: str) -> SenderKey | None:
        row = self.db.execute("SELECT user, sender_id, key FROM senders WHERE user = ?", (user,)).fetchone()
        return SenderKey(row[0], row[1], bytes(row[2])) if row else None

    @_locked
    def by_sender_id(self, sender_id: int) -> SenderKey | None:
        row = self.db.execute("SELECT user, sender_id, key FROM senders WHERE sender_id = ?",
                              (int(sender_id),)).fetchone()
        return SenderKey(row[0], row[1], bytes(row[2])) if row else None

    @_locked
    def users(self) -> list[SenderKey]:
        return [SenderKey(u, s, bytes(k)) for u, s, k in
                self.db.execute("SELECT user, sender_id, key FROM senders ORDER BY sender_id")]

    @_locked
    def export_line(self, user: str) -> str:
        k = self.get(user)
        if not k:
            raise InputError(f"no key for user {user!r}", hint=f"run `lgmtsc keys provision --user {user}`")
        return f"lgmtsc-key 1 {k.user} {k.sender_id} {k.key.hex()}"

    @_locked
    def import_line(self, line: str) -> SenderKey:
        parts = line.split()
        if len(parts) != 5 or parts[:2] != ["lgmtsc-key", "1"] or not parts[3].isdigit() or len(parts[4]) != 64:
            raise InputError("not an lgmtsc key line", hint="expected `lgmtsc-key 1 USER SENDER_ID HEX64` "
                             "as written by `lgmtsc keys export`")
        try:
            user, sid, key = parts[2], int(parts[3]), bytes.fromhex(parts[4])
        except ValueError:
            raise InputError("the key in the key line is not 64 hexadecimal digits") from None
        other = self.by_sender_id(sid)
        if other and other.user != user:
            raise InputError(f"sender id {sid} already belongs to {other.user!r} in {self.path}")
        before = self.get(user)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO senders VALUES (?, ?, ?, ?)", (user, sid, key, time.time()))
            if before is None or before.key != key or before.sender_id != sid:
                # a new key starts a new sequence: old messages cannot verify under it, and keeping the old
                # replay window would refuse the new sender's first messages
                self.db.execute("DELETE FROM rx_state WHERE sender_id IN (?, ?)",
                                (sid, before.sender_id if before else sid))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.get(user)

    # --- sequence state ---------------------------------------------------------------------------------
    @_locked
    def next_seq(self, sender_id: int) -> int:
        """The transmitter's next sequence number (1, 2, ...), persisted before it is used."""
        self.db.execute("BEGIN IMMEDIATE")
        row = self.db.execute("SELECT next_seq FROM tx_state WHERE sender_id = ?", (sender_id,)).fetchone()
        seq = row[0] if row else 1
        if seq > 0xFFFFFFFF:
            self.db.execute("ROLLBACK")
            raise ConfigError(f"sender {sender_id} has used all 2**32 sequence numbers: provision a new key")
        self.db.execute("INSERT OR REPLACE INTO tx_state VALUES (?, ?)", (sender_id, seq + 1))
        self.db.execute("COMMIT")
        return seq

    @_locked
    def is_replay(self, sender_id: int, seq: int) -> bool:
        """True if ``seq`` was accepted before or is too old to tell (below the replay window)."""
        row = self.db.execute("SELECT high, seen FROM rx_state WHERE sender_id = ?", (sender_id,)).fetchone()
        if not row:
            return False
        high, seen = row
        if seq > high:
            return False
        back = high - seq
        return back >= REPLAY_WINDOW or bool((seen >> back) & 1)

    @_locked
    def accept(self, sender_id: int, seq: int) -> bool:
        """Record a verified message; False (and nothing recorded) if it is a replay."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.is_replay(sender_id, seq):
                self.db.execute("ROLLBACK")
                return False
            row = self.db.execute("SELECT high, seen FROM rx_state WHERE sender_id = ?", (sender_id,)).fetchone()
            high, seen = row if row else (0, 0)
            if seq > high:
                seen = ((seen << (seq - high)) | 1) & ((1 << REPLAY_WINDOW) - 1) if seq - high < REPLAY_WINDOW else 1
                high = seq
            else:
                seen |= 1 << (high - seq)
            self.db.execute("INSERT OR REPLACE INTO rx_state VALUES (?, ?, ?)", (sender_id, high, seen))
            self.db.execute("COMMIT")
            return True
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # --- CurveZMQ keys of the host-to-host paths (the SNR feedback) ---------------------------------------------
    @_locked
    def curve_keypair(self) -> tuple[str, str]:
        """This host's CurveZMQ (public, secret) key pair, Z85 text, created on first use."""
        row = self.db.execute("SELECT public, secret FROM curve_self WHERE id = 1").fetchone()
        if row:
            return row[0], row[1]
        import zmq

        public, secret = (k.decode() for k in zmq.curve_keypair())
        self.db.execute("INSERT OR IGNORE INTO curve_self VALUES (1, ?, ?)", (public, secret))
        return self.curve_keypair()

    @_locked
    def curve_line(self, name: str) -> str:
        """The line another host imports to trust this one (``lgmtsc keys import``)."""
        if not name or any(c.isspace() for c in name):
            raise InputError(f"bad host name {name!r} for the CurveZMQ key line")
        return f"lgmtsc-curve 1 {name} {self.curve_keypair()[0]}"

    @_locked
    def import_curve_line(self, line: str) -> str:
        parts = line.split()
        if len(parts) != 4 or parts[:2] != ["lgmtsc-curve", "1"] or len(parts[3]) != 40:
            raise InputError("not an lgmtsc CurveZMQ key line", hint="expected `lgmtsc-curve 1 NAME Z85-40` "
                             "as written by `lgmtsc keys curve`")
        try:
            import zmq.utils.z85 as z85

            if len(z85.decode(parts[3])) != 32:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise InputError("the CurveZMQ public key is not 40 Z85 characters") from None
        self.db.execute("INSERT OR REPLACE INTO curve_peers VALUES (?, ?)", (parts[2], parts[3]))
        return parts[2]

    @_locked
    def curve_peers(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT name, public FROM curve_peers ORDER BY name"))

    def curve_for(self, address: str, role: str) -> dict | None:
        """CurveZMQ settings for a socket on ``address`` (None: a path inside this machine, no CurveZMQ).

        ``role`` "server" (binds): this host's key pair and the trusted peers' public keys (only they may connect);
        "client" (connects): this host's key pair and the server's public key (the peer named like the address's
        host, or the only peer). A path beyond this machine without imported peer keys is a ``ConfigError``."""
        if is_local_address(address):
            return None
        peers = self.curve_peers()
        public, secret = self.curve_keypair()
        hint = ("on each host run `lgmtsc keys curve --name HOST > HOST.curve`, copy the file to the other host and "
                "`lgmtsc keys import HOST.curve` there (docs/link.md, security)")
        if not peers:
            raise ConfigError(f"{address} leaves this machine, and no peer's CurveZMQ key is imported", hint=hint)
        if role == "server":
            return {"public": public, "secret": secret, "allow": sorted(peers.values())}
        from urllib.parse import urlparse

        host = urlparse(address).hostname or ""
        server = peers.get(host) or (next(iter(peers.values())) if len(peers) == 1 else None)
        if server is None:
            raise ConfigError(f"several CurveZMQ peers imported ({', '.join(peers)}) and none is named {host!r}",
                              hint="import the receiver's key line under the name used in the address")
        return {"public": public, "secret": secret, "server": server}

    def curve_peer(self, address: str) -> dict | None:
        return self.curve_for(address, "client")


def is_local_address(address: str) -> bool:
    """True for ZeroMQ endpoints that stay on this machine (ipc, inproc, loopback TCP)."""
    from ipaddress import ip_address
    from urllib.parse import urlparse

    if address.startswith(("ipc://", "inproc://")):
        return True
    host = urlparse(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False  # "*", a host name or an interface name: reachable from elsewhere
