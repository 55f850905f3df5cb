"""Media input: audio from any file ffmpeg reads (via PyAV), as mono float32 at 16 kHz, in bounded chunks.

``iter_audio`` streams, so memory does not grow with the input's duration; ``read_audio`` collects a
short clip. Every failure is an :class:`~host_pipeline.errors.InputError` naming the file and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import InputError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_s: float | None  # None when the container does not say
    has_video: bool
    audio_rate: int
    audio_channels: int
    audio_codec: str


def _open(path: str | Path):
    import av

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a media file")
    try:
        return av.open(str(p))
    except av.error.FFmpegError as e:
        raise InputError(f"{p}: not a readable audio/video file ({_ffmpeg_reason(e)})") from None


def _ffmpeg_reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e).split(":")[0] or type(e).__name__


def probe(path: str | Path) -> MediaInfo:
    """What the file holds. Raises InputError for a missing, unreadable or audio-less file."""
    with _open(path) as c:
        audio = c.streams.audio
        if not audio:
            kinds = sorted({s.type for s in c.streams}) or ["nothing"]
            raise InputError(f"{path}: has no audio track (it holds {', '.join(kinds)})",
                             hint="the transmitter needs the speech of the talking-face video")
        a = audio[0]
        duration = float(c.duration) / 1e6 if c.duration else None
        return MediaInfo(Path(path), duration, bool(c.streams.video), a.codec_context.sample_rate or 0,
                         a.codec_context.channels or 0, a.codec_context.name)


def iter_audio(path: str | Path, chunk_s: float = 30.0, sample_rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """Decode the first audio track to mono float32 at ``sample_rate`` and yield ``chunk_s``-second chunks.

    The last chunk may be shorter. A file that breaks off mid-stream yields what decoded and then raises
    InputError, so callers never mistake a truncated file for a complete one.
    """
    import av

    info = probe(path)
    chunk = max(1, int(chunk_s * sample_rate))
    buf: list[np.ndarray] = []
    held = 0
    decoded = 0
    with _open(path) as c:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in c.decode(audio=0):
                for out in resampler.resample(frame):
                    a = out.to_ndarray().reshape(-1)
                    buf.append(a)
                    held += a.size
                    while held >= chunk:
                        joined = np.concatenate(buf)
                        yield joined[:chunk].astype(np.float32, copy=False)
                        decoded += chunk
                        rest = joined[chunk:]
                        buf, held = ([rest] if rest.size else []), rest.size
            for out in resampler.resample(None):
                a = out.to_ndarray().reshape(-1)
                buf.append(a)
                held += a.size
        except av.error.FFmpegError as e:
            raise InputError(f"{path}: the audio is corrupt or truncated after "
                             f"{(decoded + held) / sample_rate:.1f} s ({_ffmpeg_reason(e)})") from None
    if held:
        yield np.concatenate(buf).astype(np.float32, copy=False)
        decoded += held
    if decoded == 0:
        raise InputError(f"{path}: the audio track holds no decodable samples (empty or corrupt)")
    got = decoded / sample_rate
    if info.duration_s and got < info.duration_s - max(0.5, 0.02 * info.duration_s):
        raise InputError(f"{path}: truncated: the file declares {info.duration_s:.1f} s but only {got:.1f} s of audio decode")


def read_audio(path: str | Path, max_s: float = 3600.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole audio track as one array; refuses inputs longer than ``max_s`` (stream those instead)."""
    parts, total = [], 0
    for a in iter_audio(path, sample_rate=sample_rate):
        total += a.size
        if total > max_s * sample_rate:
            raise InputError(f"{path}: longer than {max_s:.0f} s", hint="long inputs are processed in a stream")
        parts.append(a)
    return np.concatenate(parts)
