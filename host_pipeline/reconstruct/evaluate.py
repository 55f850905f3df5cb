"""``lgmtsc eval gsr``: the generative semantic reconstructor measured on the real speech and portraits.

Each test user is enrolled from a real portrait and one real utterance of a real speaker; the receiver then
speaks the transcripts of that speaker's *other* utterances in the matched voice and animates the portrait.
Per utterance: speaker similarity to the held-out original speech (Resemblyzer), round-trip WER (Whisper),
TTS real-time factor, rendering frames/s (one thread), dlib identity distance of every rendered frame to the
enrolled face, and lip-sync (mouth opening measured by face mesh on the rendered frames vs the audio envelope).
Reference similarities (same speaker, different speakers) are measured on the same real data.
"""

from __future__ import annotations

import csv
import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..paths import real_data_dir
from ..publickb.config import PublicKbConfig
from .config import ReconstructConfig

log = logging.getLogger(__name__)

# (user, portrait, enrollment utterance, speaker id in transcripts.tsv)
USERS = [("obama", "face_recognition_obama.jpg", "cmu_arctic_us_aew_a0001.wav", "arctic_aew"),
         ("biden", "face_recognition_biden2.jpg", "LJ001-0001.wav", "ljspeech_LJ"),
         ("obama2", "face_recognition_obama2.jpg", "cmu_arctic_us_axb_a0004.wav", "arctic_axb")]


def read_transcripts(data: Path) -> list[tuple[str, str, str]]:
    rows = []
    with open(data / "speech" / "transcripts.tsv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows.append((r["file"], r["speaker"], r["transcript"]))
    return rows


@dataclass
class Row:
    user: str
    file: str
    text: str
    hypothesis: str
    wer: float
    speech_s: float
    tts_rtf: float
    tts_cpu_rtf: float
    render_fps: float
    render_cpu_fps: float
    frames: int
    similarity: float
    id_dist_max: float
    id_dist_mean: float
    lipsync_corr: float
    lipsync_best_corr: float
    lipsync_offset_ms: float
    drive_corr: float


def run_gsr(out: Path, limit: int = 6, cfg: ReconstructConfig | None = None, data: Path | None = None,
            progress=print) -> dict:
    import cv2
    from PIL import Image

    from ..asr.backends import load_asr
    from ..asr.config import AsrConfig
    from ..media import read_audio
    from ..publickb.enroll import Enroller
    from ..publickb.face import FaceAnalyzer
    from ..publickb.store import PublicKb
    from ..publickb.voice import cosine
    from ..textnorm import word_errors
    from .metrics import IdentityMeter, lip_sync
    from .pipeline import Reconstructor
    from .tts import _resample

    cfg = cfg or ReconstructConfig()
    data = data or real_data_dir()
    if not (data / "speech" / "transcripts.tsv").exists():
        raise InputError(f"{data}: the real test data is missing", hint="set $LGMTSC_REAL_DATA")
    out.mkdir(parents=True, exist_ok=True)
    cv2.setNumThreads(1)
    kb = PublicKb(PublicKbConfig(db_path=str(out / "kb" / "publickb.sqlite")))
    enroller = Enroller(kb.cfg)
    rec = Reconstructor(cfg, kb=kb)
    asr = load_asr(AsrConfig())
    ident, mesh = IdentityMeter(), FaceAnalyzer(max_faces=1)
    trans = read_transcripts(data)
    spk_emb: dict[str, dict[str, np.ndarray]] = {}
    for f, spk, _ in trans:
        spk_emb.setdefault(spk, {})[f] = enroller.voices.embed(read_audio(data / "speech" / f))
    # reference similarities on the real data
    same = [cosine(a, b) for e in spk_emb.values() for a, b in itertools.combinations(list(e.values()), 2)]
    diff = [cosine(a, b) for s1, s2 in itertools.combinations(spk_emb, 2)
            for a in spk_emb[s1].values() for b in spk_emb[s2].values()]
    rows: list[Row] = []
    strip: list[np.ndarray] = []
    per_user = max(1, int(np.ceil(limit / len(USERS))))
    for user, face, enroll_wav, spk in USERS:
        prof = enroller.enroll(user, image=data / "faces" / face, audio=data / "speech" / enroll_wav)
        kb.put(prof)
        ref_desc = ident.descriptor(prof.image)
        voice, report = rec.voice_for(kb.get(user))
        progress(f"{user}: voice {voice.to_dict()} ({report.get('method')})")
        held = [(f, t) for f, s, t in trans if s == spk and f != enroll_wav][:per_user]
        for f, text in held:
            if len(rows) >= limit:
                break
            c0, t0 = time.process_time(), time.perf_counter()
            speech = rec.tts.synthesize(text, voice)
            tts_cpu = time.process_time() - c0
            rec.animator.rig(prof)  # built (and cached) before timing the frames
            c0, t0 = time.process_time(), time.perf_counter()
            frames = list(rec.animator.render(prof, speech))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            a16 = _resample(speech.audio, 16000 / speech.sample_rate)
            hyp = asr.recognize(a16, [], "en").text
            err, nref = word_errors(text, hyp)
            sim = float(np.mean([cosine(enroller.voices.embed(a16), e) for g, e in spk_emb[spk].items() if g != enroll_wav]))
            dists = [ident.distance(ref_desc, fr) for fr in frames]
            ls = lip_sync(frames, speech.audio, speech.sample_rate, cfg.fps, mesh)
            drive = rec.animator.drive(rec.animator.rig(prof), speech, len(frames))
            dc = float(np.corrcoef(drive["gap"], ls.envelope)[0, 1]) if np.std(drive["gap"]) > 0 else 0.0
            rows.append(Row(user, f, text, hyp, err / max(1, nref), speech.duration_s, speech.rtf,
                            tts_cpu / speech.duration_s, len(frames) / wall, len(frames) / max(cpu, 1e-9), len(frames),
                            sim, float(np.max(dists)), float(np.mean(dists)), ls.correlation, ls.best_correlation,
                            ls.offset_ms, dc))
            r = rows[-1]
            progress(f"  {f}: WER {r.wer:.1%}, sim {r.similarity:.3f}, RTF {r.tts_rtf:.2f} (cpu {r.tts_cpu_rtf:.2f}), "
                     f"{r.render_fps:.0f} fps (cpu {r.render_cpu_fps:.0f}), id max {r.id_dist_max:.3f}, "
                     f"lip corr {r.lipsync_corr:.2f} best {r.lipsync_best_corr:.2f} @ {r.lipsync_offset_ms:+.0f} ms")
            if len(strip) < len(USERS) and (not rows[:-1] or rows[-2].user != user):  # one strip per user
                picks = np.linspace(0, len(frames) - 1, 5).astype(int)
                strip.append(np.concatenate([cv2.resize(prof.image, (cfg.size, cfg.size), interpolation=cv2.INTER_AREA)]
                                            + [frames[i] for i in picks], 1))
                np.save(out / f"lipsync_{user}.npy", np.stack([ls.opening, ls.envelope]))
                Image.fromarray(np.concatenate([prof.image, cv2.resize(frames[picks[2]], prof.image.shape[:2][::-1])], 1)).save(
                    out / f"gsr_fig12_{user}.png")
    if not rows:
        raise InputError("no utterances evaluated")
    fields = list(Row.__dataclass_fields__)
    with open(out / "gsr_utterances.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in rows:
            w.writerow([getattr(r, k) if not isinstance(getattr(r, k), float) else round(getattr(r, k), 4) for k in fields])
    total_err = sum(word_errors(r.text, r.hypothesis)[0] for r in rows)
    total_ref = sum(word_errors(r.text, r.hypothesis)[1] for r in rows)
    summary = {
        "utterances": len(rows), "wer": total_err / max(1, total_ref),
        "tts_rtf_mean": float(np.mean([r.tts_rtf for r in rows])), "tts_cpu_rtf_mean": float(np.mean([r.tts_cpu_rtf for r in rows])),
        "render_fps_min": float(np.min([r.render_fps for r in rows])), "render_cpu_fps_min": float(np.min([r.render_cpu_fps for r in rows])),
        "id_dist_max": float(np.max([r.id_dist_max for r in rows])), "id_dist_mean": float(np.mean([r.id_dist_mean for r in rows])),
        "lipsync_corr_mean": float(np.mean([r.lipsync_corr for r in rows])),
        "lipsync_offset_ms_median": float(np.median([r.lipsync_offset_ms for r in rows])),
        "lipsync_offset_ms_max_abs": float(np.max(np.abs([r.lipsync_offset_ms for r in rows]))),
        "drive_corr_mean": float(np.mean([r.drive_corr for r in rows])),
        "speaker_similarity_mean": float(np.mean([r.similarity for r in rows])),
        "ref_same_speaker_mean": float(np.mean(same)), "ref_different_speaker_mean": float(np.mean(diff)),
    }
    with open(out / "gsr_summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "value"])
        for k, v in summary.items():
            w.writerow([k, round(v, 4) if isinstance(v, float) else v])
    Image.fromarray(np.concatenate(strip, 0)).save(out / "gsr_fig12_strip.png")
    _plot(out, rows, summary, same, diff)
    return summary


def _plot(out: Path, rows: list[Row], s: dict, same: list[float], diff: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    ax[0].hist(same, bins=20, alpha=0.6, label=f"same speaker (real), mean {np.mean(same):.2f}")
    ax[0].hist(diff, bins=20, alpha=0.6, label=f"different speakers (real), mean {np.mean(diff):.2f}")
    for r in rows:
        ax[0].axvline(r.similarity, color="k", lw=1)
    ax[0].set_xlabel("Resemblyzer cosine similarity")
    ax[0].set_title(f"reconstructed vs original speech (black), mean {s['speaker_similarity_mean']:.2f}")
    ax[0].legend(fontsize=7)
    ax[1].bar(range(len(rows)), [r.id_dist_max for r in rows], label="max over frames")
    ax[1].bar(range(len(rows)), [r.id_dist_mean for r in rows], label="mean over frames")
    ax[1].axhline(0.35, color="r", ls="--", label="target 0.35")
    ax[1].set_title("identity distance (dlib 128-d) to the enrolled face")
    ax[1].set_xlabel("utterance")
    ax[1].legend(fontsize=7)
    user = rows[0].user
    p = out / f"lipsync_{user}.npy"
    if p.exists():
        op, env = np.load(p)
        t = np.arange(op.size) / 25
        ax[2].plot(t, (op - op.mean()) / (op.std() + 1e-9), label="mouth opening (face mesh on output)")
        ax[2].plot(t, (env - env.mean()) / (env.std() + 1e-9), label="audio envelope", alpha=0.7)
        ax[2].set_xlabel("s")
        ax[2].set_title(f"lip-sync ({user}): corr {rows[0].lipsync_corr:.2f}, offset {rows[0].lipsync_offset_ms:+.0f} ms")
        ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gsr_metrics.png", dpi=110)
    plt.close(fig)
