"""Output: frames + speech -> mp4 (H.264 + AAC) with exactly equal audio and video durations.

The video has ``ceil(duration * fps)`` frames and the audio is zero-padded to exactly that many frame
periods, so both streams end together (to the AAC frame, whose priming the mp4 edit list removes).
Frames are written as they come from the animator; ``on_frame(index, frame)`` sees each one for live view.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from ..errors import BackendError, InputError
from .animator import frame_count
from .tts import Speech


def padded_audio(speech: Speech, fps: int) -> np.ndarray:
    n = frame_count(speech.duration_s, fps)
    total = int(round(n * speech.sample_rate / fps))
    a = speech.audio[:total]
    return np.pad(a, (0, total - a.size)).astype(np.float32)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], speech: Speech, fps: int = 25,
              on_frame: Callable[[int, np.ndarray], None] | None = None, crf: int = 20) -> int:
    """Encode ``frames`` and ``speech`` to ``path``; returns the number of frames written."""
    import av

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"{path.parent}: no such directory for the output video")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name for the output video")
    # written beside, then renamed: a reader of the output directory never sees a half-written clip
    part = path.with_name(f".{path.stem}.part{path.suffix or '.mp4'}")
    try:
        n = _encode(part, frames, speech, fps, crf, on_frame)
        part.replace(path)
    except av.error.FFmpegError as e:
        raise InputError(f"cannot write the output video {path}: {e}") from None
    finally:
        part.unlink(missing_ok=True)
    return n


def _encode(path: Path, frames: Iterable[np.ndarray], speech: Speech, fps: int, crf: int,
            on_frame: Optional[Callable[[int, np.ndarray], None]]) -> int:
    import av

    audio = padded_audio(speech, fps)
    expected = frame_count(speech.duration_s, fps)
    with av.open(str(path), "w", format="mp4") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency"}
        vs.time_base = Fraction(1, fps)
        a_s = c.add_stream("aac", rate=speech.sample_rate)
        a_s.layout = "mono"
        a_s.bit_rate = 64000
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        block, cursor = 1024, 0

        def push_audio(until: int) -> int:
            i = cursor
            while i < min(until, pcm.size):
                af = av.AudioFrame.from_ndarray(pcm[None, i:i + block], format="s16", layout="mono")
                af.sample_rate = speech.sample_rate
                af.pts = i
                for pkt in a_s.encode(af):
                    c.mux(pkt)
                i += block
            return i

        n = 0
        for frame in frames:
            if n == 0:
                vs.height, vs.width = frame.shape[:2]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = n
            for pkt in vs.encode(vf):
                c.mux(pkt)
            if on_frame:
                on_frame(n, frame)
            n += 1
            cursor = push_audio(int(n * speech.sample_rate / fps))  # interleave: audio up to this frame's end
        for pkt in vs.encode():
            c.mux(pkt)
        push_audio(pcm.size)
        for pkt in a_s.encode():
            c.mux(pkt)
    if n != expected:  # an internal fault, not the user's input
        raise BackendError(f"the animator produced {n} frames for {speech.duration_s:.2f} s of speech "
                           f"({expected} expected)")
    return n


def stream_durations(path: str | Path) -> tuple[float, float]:
    """(video, audio) stream durations in seconds, from the container (for sync checks)."""
    import av

    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        vd = float(v.duration * v.time_base) if v.duration else float(v.frames) / float(v.average_rate)
        ad = float(a.duration * a.time_base) if a.duration else 0.0
        return vd, ad
