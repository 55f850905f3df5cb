"""Typed settings of the public knowledge base (light module: no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class PublicKbConfig:
    """Public KB: enrolled users' face image P and vocal features v, signed by the enrolling party."""

    db_path: str | None = None  # SQLite file; default $LGMTSC_DATA/publickb/publickb.sqlite
    signing_key_path: str | None = None  # the enrolling party's key; default $LGMTSC_DATA/publickb/signing.key
    trusted_keys_path: str | None = None  # receiver's trusted signers; default $LGMTSC_DATA/publickb/trusted_keys.txt
    signature: Literal["auto", "ed25519", "hmac-sha256"] = "auto"  # auto: Ed25519 when `cryptography` imports
    require_signature: bool = True  # the receiver refuses profiles whose signature does not verify
    max_video_frames: int = 60  # frames scored when enrolling from a video
    min_speech_s: float = 1.0  # enrollment audio must hold at least this much speech
