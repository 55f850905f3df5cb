"""Media input: audio from any file ffmpeg reads (via PyAV), as mono float32 at 16 kHz, in bounded chunks.

``iter_audio`` streams, so memory does not grow with the input's duration; ``read_audio`` collects a
short clip. Every failure is an :class:`~host_pipeline.errors.InputError` naming the file and the problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
        if a.codec_context is None:
            raise InputError(f"{path}: no decoder for its audio codec",
                             hint="convert it, e.g. ffmpeg -i IN -c:a aac OUT")
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
        stream = c.streams.audio[0]  # its own duration: a container's may be the video's, or an estimate
        declared = float(stream.duration * stream.time_base) if stream.duration else info.duration_s
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)

        def resampled(frame):
            nonlocal resampler
            try:
                return resampler.resample(frame)
            except ValueError:  # the stream changed rate or layout mid-way: flush, then a new resampler
                out = resampler.resample(None)
                resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
                return out + resampler.resample(frame)

        try:
            for frame in c.decode(audio=0):
                for out in resampled(frame):
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
    if declared and got < declared - max(0.5, 0.02 * declared):
        raise InputError(f"{path}: truncated: the file declares {declared:.1f} s of audio but only {got:.1f} s decode")


def read_audio(path: str | Path, max_s: float = 3600.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole audio track as one array; refuses inputs longer than ``max_s`` (stream those instead)."""
    parts, total = [], 0
    for a in iter_audio(path, sample_rate=sample_rate):
        total += a.size
        if total > max_s * sample_rate:
            raise InputError(f"{path}: longer than {max_s:.0f} s", hint="long inputs are processed in a stream")
        parts.append(a)
    return np.concatenate(parts)


LIVE_KINDS = ("follow", "alsa", "pulse")


def is_live_source(source: str) -> bool:
    return source.partition(":")[0] in LIVE_KINDS and ":" in source


def check_live_source(source: str) -> tuple[str, str]:
    """(kind, target) of a live source spec, or InputError before anything starts."""
    kind, _, target = source.partition(":")
    if kind not in LIVE_KINDS:
        raise InputError(f"unknown live source {source!r}", hint="use follow:PATH, alsa:DEVICE or pulse:DEVICE")
    if kind == "follow" and not Path(target).exists():
        raise InputError(f"{target}: no such file to follow")
    return kind, target or "default"


def iter_live_audio(source: str, chunk_s: float = 0.5, idle_timeout_s: float = 5.0,
                    sample_rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """Audio from a live source as it arrives, mono float32 chunks of ``chunk_s`` seconds.

    ``source``: ``follow:PATH`` (a file still being written, e.g. a recorder's WAV: read until it stops
    growing for ``idle_timeout_s``), ``alsa:DEVICE`` or ``pulse:DEVICE`` (a microphone, e.g. ``alsa:default``;
    runs until the caller stops iterating). ffmpeg decodes, so any format it reads works.
    """
    import shutil
    import subprocess

    kind, target = check_live_source(source)
    if kind == "follow":
        inputs = ["-follow", "1", "-rw_timeout", str(int(idle_timeout_s * 1e6)), "-i", f"file:{target}"]
    else:
        inputs = ["-f", kind, "-i", target]
    exe = shutil.which("ffmpeg")
    if not exe:
        raise InputError("ffmpeg is not installed", hint="`apt-get install ffmpeg` (or `make setup`)")
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", *inputs, "-vn", "-ac", "1", "-ar", str(sample_rate),
           "-f", "s16le", "pipe:1"]
    import tempfile

    errlog = tempfile.TemporaryFile()  # not a pipe: an undrained pipe would stall ffmpeg after 64 KiB of messages
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errlog)
    nbytes = 2 * max(1, int(chunk_s * sample_rate))
    got, ended = 0, False
    try:
        while True:
            data = proc.stdout.read(nbytes)
            if not data:
                ended = True
                break
            got += len(data)
            yield np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    finally:
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        proc.stdout.close()
        errlog.seek(0)
        err = errlog.read().decode(errors="replace").strip()
        errlog.close()
    if got == 0:
        raise InputError(f"live source {source} gave no audio" + (f": {err.splitlines()[-1]}" if err else ""),
                         hint="check the device name (arecord -L) or that the file is being written")
    if ended and rc != 0 and kind != "follow":  # a microphone that failed mid-way, not the caller stopping
        raise InputError(f"live source {source} stopped after {got / 2 / sample_rate:.1f} s"
                         + (f": {err.splitlines()[-1]}" if err else f" (ffmpeg status {rc})"))
