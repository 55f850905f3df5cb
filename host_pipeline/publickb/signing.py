"""Signatures of public-KB entries: Ed25519 (when `cryptography` imports) or HMAC-SHA256, keys in files.

The enrolling party holds the key file (created on first use, mode 0600). A receiver trusts the signers
listed in its trusted-keys file (one ``algorithm:key-id`` line per signer, where the key id is the Ed25519
public key in hex, or for HMAC the SHA-256 of the shared secret; HMAC receivers also need the secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from ..errors import ConfigError, InputError


def canonical(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ed25519_available() -> bool:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
        return True
    except ImportError:
        return False


class Signer:
    """The enrolling party's key: ``sign(doc) -> (algorithm, key_id, signature_hex)``."""

    def __init__(self, key_path: Path, algorithm: str = "auto"):
        if algorithm == "auto":
            algorithm = "ed25519" if ed25519_available() else "hmac-sha256"
        if algorithm == "ed25519" and not ed25519_available():
            raise ConfigError("publickb.signature = ed25519 needs the `cryptography` package",
                              hint="use publickb.signature=hmac-sha256, or install cryptography in the venv")
        self.algorithm = algorithm
        self.path = Path(key_path)
        secret = self._load_or_create()
        if algorithm == "ed25519":
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ed25519

            self._key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
            pub = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.key_id = pub.hex()
        else:
            self._key = secret
            self.key_id = hashlib.sha256(secret).hexdigest()

    def _load_or_create(self) -> bytes:
        if self.path.exists():
            text = self.path.read_text().strip()
            alg, _, hexkey = text.partition(":")
            if alg != self.algorithm or len(hexkey) != 64:
                raise ConfigError(f"{self.path}: not a {self.algorithm} key file",
                                  hint="point publickb.signing_key_path at your key, or set publickb.signature "
                                       f"to the key's algorithm ({alg or 'unknown'})")
            return bytes.fromhex(hexkey)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        secret = os.urandom(32)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{self.algorithm}:{secret.hex()}\n")
        return secret

    @property
    def trust_line(self) -> str:
        return f"{self.algorithm}:{self.key_id}"

    def sign(self, doc: dict) -> str:
        msg = canonical(doc)
        if self.algorithm == "ed25519":
            return self._key.sign(msg).hex()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()


def verify(doc: dict, algorithm: str, key_id: str, signature: str, hmac_secret: bytes | None = None) -> bool:
    """True when ``signature`` is valid for ``doc`` under the signer ``key_id``."""
    msg = canonical(doc)
    try:
        sig = bytes.fromhex(signature)
    except ValueError:
        return False
    if algorithm == "ed25519":
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import ed25519

        try:
            ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_id)).verify(sig, msg)
            return True
        except (InvalidSignature, ValueError):
            return False
    if algorithm == "hmac-sha256":
        if hmac_secret is None or hashlib.sha256(hmac_secret).hexdigest() != key_id:
            return False
        return hmac.compare_digest(hmac.new(hmac_secret, msg, hashlib.sha256).digest(), sig)
    raise InputError(f"unknown signature algorithm {algorithm!r} in a public-KB entry")


def read_trusted(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")}


def add_trusted(path: Path, line: str) -> None:
    if line in read_trusted(path):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(line + "\n")
