"""Output: frames + speech -> mp4 (H.264 + AAC) with exactly equal audio and video durations.

The video has ``ceil(duration * fps)`` frames and the audio is zero-padded to exactly that many frame
periods, so both streams end together (to the AAC frame, whose priming the mp4 edit list removes).
Frames are written as they come from the animator; ``on_frame(index, frame)`` sees each one for live view.
``Mp4Writer`` takes a streamed reconstruction phrase by phrase (``Reconstructor.stream``) into one clip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

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
    expected = frame_count(speech.duration_s, fps)
    with Mp4Writer(path, speech.sample_rate, fps, crf) as w:
        w.add(padded_audio(speech, fps), frames, on_frame)
        n = w.n_frames
        if n != expected:  # an internal fault, not the user's input
            raise BackendError(f"the animator produced {n} frames for {speech.duration_s:.2f} s of speech "
                               f"({expected} expected)")
    return n


class Mp4Writer:
    """An mp4 written piece by piece, as a streamed reconstruction produces it: ``add(audio, frames)`` per phrase,
    where ``audio`` lasts exactly as many frame periods as ``frames`` holds (the last phrase may be shorter:
    ``close`` pads the audio to the video). Audio is interleaved up to each frame's end. Written beside and renamed
    on a clean ``close`` (or the end of a ``with`` block without error): a reader never sees a half-written clip."""

    def __init__(self, path: str | Path, sample_rate: int, fps: int = 25, crf: int = 20):
        import av

        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise InputError(f"{self.path.parent}: no such directory for the output video")
        if self.path.is_dir():
            raise InputError(f"{self.path} is a directory; give a file name for the output video")
        self.part = self.path.with_name(f".{self.path.stem}.part{self.path.suffix or '.mp4'}")
        self.sample_rate, self.fps, self.crf = int(sample_rate), int(fps), crf
        self.n_frames = 0
        self._pcm = np.zeros(0, np.int16)  # audio not yet encoded
        self._pts = 0  # samples encoded so far
        try:
            self._c = av.open(str(self.part), "w", format="mp4")
        except av.error.FFmpegError as e:
            raise InputError(f"cannot write the output video {self.path}: {e}") from None
        self._vs = None
        self._as = self._c.add_stream("aac", rate=self.sample_rate)
        self._as.layout = "mono"
        self._as.bit_rate = 64000

    def _video_stream(self, frame: np.ndarray):
        vs = self._c.add_stream("libx264", rate=self.fps)
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": str(self.crf), "preset": "veryfast", "tune": "zerolatency"}
        vs.time_base = Fraction(1, self.fps)
        vs.height, vs.width = frame.shape[:2]
        return vs

    def _push_audio(self, until: int, final: bool = False) -> None:
        """Encode buffered audio in AAC-frame blocks up to sample ``until`` of the clip (all of it if ``final``)."""
        import av

        block = 1024
        while self._pcm.size >= block or (final and self._pcm.size):
            if not final and self._pts + block > until:
                break
            take = self._pcm[:block]
            af = av.AudioFrame.from_ndarray(take[None, :], format="s16", layout="mono")
            af.sample_rate = self.sample_rate
            af.pts = self._pts
            for pkt in self._as.encode(af):
                self._c.mux(pkt)
            self._pts += take.size
            self._pcm = self._pcm[take.size:]

    def add(self, audio: np.ndarray, frames: Iterable[np.ndarray],
            on_frame: Callable[[int, np.ndarray], None] | None = None) -> int:
        """Append one piece; ``on_frame(index in the clip, frame)`` sees each frame as it is written. Frames added."""
        import av

        pcm = (np.clip(np.asarray(audio, np.float32), -1, 1) * 32767).astype(np.int16)
        self._pcm = np.concatenate([self._pcm, pcm])
        n0 = self.n_frames
        try:
            for frame in frames:
                if self._vs is None:
                    self._vs = self._video_stream(frame)
                if on_frame:  # first: a live view sees the frame before it waits for the encoder
                    on_frame(self.n_frames, frame)
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                vf.pts = self.n_frames
                for pkt in self._vs.encode(vf):
                    self._c.mux(pkt)
                self.n_frames += 1
                self._push_audio(int(self.n_frames * self.sample_rate / self.fps))  # audio up to this frame's end
        except av.error.FFmpegError as e:
            raise InputError(f"cannot write the output video {self.path}: {e}") from None
        return self.n_frames - n0

    def close(self) -> Path:
        """Flush both encoders, pad the audio to the video's length and move the clip into place."""
        import av

        try:
            if self._vs is not None:
                for pkt in self._vs.encode():
                    self._c.mux(pkt)
            short = int(round(self.n_frames * self.sample_rate / self.fps)) - self._pts - self._pcm.size
            if short > 0:
                self._pcm = np.concatenate([self._pcm, np.zeros(short, np.int16)])
            self._push_audio(0, final=True)
            for pkt in self._as.encode():
                self._c.mux(pkt)
            self._c.close()
            self.part.replace(self.path)
        except av.error.FFmpegError as e:
            self.abort()
            raise InputError(f"cannot write the output video {self.path}: {e}") from None
        return self.path

    def abort(self) -> None:
        try:
            self._c.close()
        except Exception:  # already closed or broken: only the partial file matters
            pass
        self.part.unlink(missing_ok=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def stream_durations(path: str | Path) -> tuple[float, float]:
    """(video, audio) stream durations in seconds, from the container (for sync checks)."""
    import av

    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        vd = float(v.duration * v.time_base) if v.duration else float(v.frames) / float(v.average_rate)
        ad = float(a.duration * a.time_base) if a.duration else 0.0
        return vd, ad
