"""The public KB store: SQLite rows (signed JSON documents) plus content-addressed files.

Layout under ``$LGMTSC_DATA/publickb/``: ``publickb.sqlite`` and ``objects/<sha[:2]>/<sha>.<ext>``.
A profile document names its files by SHA-256, so the signature covers the face image, the landmarks and the
matched TTS voice (a (510, 256) Kokoro style table with its recipe) too.
The receiver's ``get`` re-hashes the files and checks the signature against its trusted signers.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from ..paths import data_dir
from .config import PublicKbConfig
from .signing import Signer, add_trusted, read_trusted, verify
from .voice import VoiceFeatures

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


@dataclass
class Profile:
    """An enrolled user: face image P (RGB uint8, square, eyes level), its 478 landmarks, vocal features v."""

    user_id: str
    image: np.ndarray
    landmarks: np.ndarray  # (478, 3) pixels of ``image``
    voice: VoiceFeatures
    meta: dict = field(default_factory=dict)  # sources, scores, warnings
    signer: str = ""  # "algorithm:key_id" once stored/verified
    tts_voice: dict = field(default_factory=dict)  # the voice matched at enrollment: recipe, pitch, speed, report
    tts_style: np.ndarray | None = field(default=None, repr=False)  # its (510, 256) Kokoro style table

    def stored_voice(self):
        """The enrollment-matched TTS voice (``tts.Voice`` with its style table); None when there is none."""
        if self.tts_style is None:
            return None
        from ..reconstruct.tts import Voice

        v = self.tts_voice
        return Voice(dict(v.get("weights", {})), pitch=float(v.get("pitch", 1.0)), speed=float(v.get("speed", 1.0)),
                     prosody_weights=v.get("prosody_weights"), style=self.tts_style, eq_db=v.get("eq_db"),
                     formant=float(v.get("formant", 1.0)))


def _root(cfg: PublicKbConfig) -> Path:
    return Path(cfg.db_path).expanduser().parent if cfg.db_path else data_dir() / "publickb"


def default_paths(cfg: PublicKbConfig) -> tuple[Path, Path, Path]:
    """(database, signing key, trusted keys) for ``cfg``."""
    root = _root(cfg)
    db = Path(cfg.db_path).expanduser() if cfg.db_path else root / "publickb.sqlite"
    key = Path(cfg.signing_key_path).expanduser() if cfg.signing_key_path else root / "signing.key"
    trusted = Path(cfg.trusted_keys_path).expanduser() if cfg.trusted_keys_path else root / "trusted_keys.txt"
    return db, key, trusted


class PublicKb:
    """Read/write access to the public KB. ``put`` signs with the enrolling party's key; ``get`` verifies."""

    def __init__(self, cfg: PublicKbConfig | None = None):
        self.cfg = cfg or PublicKbConfig()
        self.db_path, self.key_path, self.trusted_path = default_paths(self.cfg)
        self.objects = self.db_path.parent / "objects"
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.db_path), timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, doc TEXT NOT NULL, "
                "algorithm TEXT NOT NULL,"
                " key_id TEXT NOT NULL, signature TEXT NOT NULL, updated REAL NOT NULL);"
                "DROP TABLE IF EXISTS voice_matches;")  # an unsigned voice cache of earlier versions
        except (sqlite3.Error, OSError) as e:
            raise ConfigError(f"cannot open the public KB {self.db_path}: {e}",
                              hint="set publickb.db_path to a writable SQLite file") from None

    def close(self) -> None:
        self._db.close()

    # --- content-addressed files
    def _put_object(self, data: bytes, ext: str) -> str:
        sha = hashlib.sha256(data).hexdigest()
        p = self.objects / sha[:2] / f"{sha}.{ext}"
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(p)
        return sha

    def _get_object(self, sha: str, ext: str, user_id: str) -> bytes:
        p = self.objects / sha[:2] / f"{sha}.{ext}"
        if not p.exists():
            raise InputError(f"public KB entry {user_id!r}: its file {p.name} is missing", hint=f"re-enroll {user_id}")
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputError(f"public KB entry {user_id!r}: file {p.name} was altered (hash mismatch)",
                             hint=f"re-enroll {user_id}; do not trust this profile")
        return data

    # --- profiles
    def put(self, profile: Profile, signer: Signer | None = None) -> str:
        """Store and sign ``profile``; returns the signer line. The signer is trusted by this KB from now on."""
        from PIL import Image

        signer = signer or Signer(self.key_path, self.cfg.signature)
        buf = io.BytesIO()
        Image.fromarray(profile.image).save(buf, format="PNG")
        img_sha = self._put_object(buf.getvalue(), "png")
        lbuf = io.BytesIO()
        np.save(lbuf, profile.landmarks.astype(np.float32))
        lm_sha = self._put_object(lbuf.getvalue(), "npy")
        doc = {"schema": SCHEMA_VERSION, "user_id": profile.user_id, "created": round(time.time(), 3),
               "face": {"image_sha256": img_sha, "landmarks_sha256": lm_sha, "size": list(profile.image.shape[:2])},
               "voice": profile.voice.to_dict(), "meta": profile.meta}
        if profile.tts_style is not None:
            sbuf = io.BytesIO()
            np.save(sbuf, np.ascontiguousarray(profile.tts_style, np.float32))
            doc["tts_voice"] = {**profile.tts_voice, "style_sha256": self._put_object(sbuf.getvalue(), "npy")}
        sig = signer.sign(doc)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO profiles VALUES (?,?,?,?,?,?)",
                             (profile.user_id, json.dumps(doc, sort_keys=True), signer.algorithm, signer.key_id, sig,
                              time.time()))
        add_trusted(self.trusted_path, signer.trust_line)
        profile.signer = signer.trust_line
        return signer.trust_line

    def users(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT user_id FROM profiles ORDER BY user_id")]

    def get(self, user_id: str) -> Profile:
        """The verified profile of ``user_id``; InputError if unknown, altered or signed by an untrusted party."""
        from PIL import Image

        row = self._db.execute("SELECT doc, algorithm, key_id, signature FROM profiles WHERE user_id=?",
                               (user_id,)).fetchone()
        if row is None:
            known = ", ".join(self.users()) or "none"
            raise InputError(f"user {user_id!r} is not enrolled in the public KB ({self.db_path})",
                             hint=f"enrolled: {known}; enroll with `lgmtsc enroll --user {user_id} --video FILE`")
        doc_text, alg, key_id, sig = row
        doc = json.loads(doc_text)
        if doc.get("user_id") != user_id:  # a genuine profile of someone else, copied into this user's row
            raise InputError(f"public KB entry {user_id!r} holds the signed profile of {doc.get('user_id')!r}",
                             hint=f"re-enroll {user_id}; do not use this profile")
        signer = f"{alg}:{key_id}"
        if self.cfg.require_signature:
            secret = None
            if alg == "hmac-sha256" and self.key_path.exists():
                text = self.key_path.read_text().strip()
                if text.startswith("hmac-sha256:"):
                    secret = bytes.fromhex(text.split(":", 1)[1])
            if signer not in read_trusted(self.trusted_path):
                raise InputError(f"public KB entry {user_id!r} is signed by an untrusted party ({signer[:30]}...)",
                                 hint=f"if you trust it, add that line to {self.trusted_path}; else re-enroll")
            if not verify(doc, alg, key_id, sig, secret):
                raise InputError(f"public KB entry {user_id!r} fails its signature check (altered or planted)",
                                 hint=f"re-enroll {user_id}; do not use this profile")
        png = self._get_object(doc["face"]["image_sha256"], "png", user_id)
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        lm = np.load(io.BytesIO(self._get_object(doc["face"]["landmarks_sha256"], "npy", user_id)))
        voice = VoiceFeatures(**doc["voice"])
        tts_voice, style = doc.get("tts_voice") or {}, None
        if tts_voice:
            style = np.load(io.BytesIO(self._get_object(tts_voice["style_sha256"], "npy", user_id)))
            if style.ndim != 2 or style.shape[1] != 256 or style.dtype != np.float32:
                raise InputError(f"public KB entry {user_id!r}: its voice style table has shape {style.shape}",
                                 hint=f"re-enroll {user_id}")
        return Profile(user_id, img, lm, voice, doc.get("meta", {}), signer, tts_voice, style)
