"""``lgmtsc eval gsr``: the talking face measured against real talking-face videos, and the voice evaluation.

Face (``run_face_eval``): for each GRID clip in ``video/grid`` (10 real talkers, 360x288, 25 fps, with audio and
transcripts), the talker is enrolled from the clip's first frame and its speech; the receiver then says the same
sentence (matched voice, TTS) and animates the enrolled picture; the reconstruction is compared with the real
clip. The demo sample (``samples/demo``, a still portrait with speech) is reconstructed and reported too (its
"real" clip does not move, so only the reconstruction's own figures apply). The face mesh measures the same
quantity on real and reconstructed frames alike: the inner-lip opening divided by the mouth width.

- articulation spread: 95th minus 5th percentile of the opening; target: reconstructed / real in 0.7-1.4;
- closure: the opening at each bilabial (p, b, m) as a fraction of the median opening on open vowels; target
  <= 0.25. The moment is the dip of the synthesised speech's 0.5-4 kHz power within 20 ms of the bilabial's
  timing (``metrics.closure_times``: the lips shut where the sound stops or only hums), so it is read from the
  sound; the timing (Kokoro's own alignment) only says which stretch to look in (no dip: its middle);
- lip-sync offset: lag of the highest peak inside +-120 ms of the cross-correlation of the opening with the
  speech's 0.8-2.2 kHz envelope over the speech (each clip against its own audio; ``metrics.sync_offset``);
  undetermined when a peak one syllable away (outside +-120 ms, within +-400 ms) is higher; target: within
  +-40 ms of the real clip's (not measurable on a clip whose real or reconstructed offset is undetermined);
- identity: dlib 128-d distance of every reconstructed frame to the enrolled picture; target <= 0.35;
- border streaks: rows or columns repeating the frame edge (replicated borders); target 0;
- rendering speed: frames per CPU second (one thread), at the configured size.

A strip per clip (real frames above, reconstructed frames below, at the same fraction of the sentence) is
written as PNG. Voice (``evaluation.voice.run_voice_eval``): speaker similarity, identification, WER.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..paths import REPO_ROOT, real_data_dir
from ..publickb.config import PublicKbConfig
from ..reconstruct.config import ReconstructConfig

log = logging.getLogger(__name__)

# (user, portrait, enrollment utterance, speaker id in speech/transcripts.tsv): the still portraits
USERS = [("obama", "face_recognition_obama.jpg", "cmu_arctic_us_aew_a0001.wav", "arctic_aew"),
         ("biden", "face_recognition_biden2.jpg", "LJ001-0001.wav", "ljspeech_LJ"),
         ("obama2", "face_recognition_obama2.jpg", "cmu_arctic_us_axb_a0004.wav", "arctic_axb")]
SPREAD_RATIO = (0.7, 1.4)
CLOSURE_MAX = 0.25
OFFSET_TOL_MS = 40.0
IDENTITY_MAX = 0.35
DEMO = REPO_ROOT / "samples" / "demo"


def read_transcripts(data: Path) -> list[tuple[str, str, str]]:
    rows = []
    with open(data / "speech" / "transcripts.tsv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows.append((r["file"], r["speaker"], r["transcript"]))
    return rows


def read_grid(data: Path) -> list[tuple[str, str]]:
    """(clip file, transcript) of the GRID clips."""
    p = data / "video" / "grid" / "transcripts.tsv"
    if not p.exists():
        raise InputError(f"{p.parent}: the GRID clips are missing", hint="set $LGMTSC_REAL_DATA to the repo's data/")
    with open(p, encoding="utf-8") as f:
        return [(r["file"], r["transcript"]) for r in csv.DictReader(f, delimiter="\t")]


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    import av

    with av.open(str(path)) as c:
        fps = float(c.streams.video[0].average_rate or 25)
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], fps


@dataclass
class FaceRow:
    clip: str
    text: str
    real_frames: int
    frames: int
    spread_real: float
    spread: float
    spread_ratio: float
    closure_ratio: float  # nan when the sentence has no bilabial
    bilabials: int
    offset_real_ms: float  # nan: undetermined (sync_real says why)
    offset_ms: float
    offset_diff_ms: float
    id_dist_max: float
    id_dist_mean: float
    streak_max: int
    render_cpu_fps: float
    render_fps: float
    notes: str
    sync_real: str = ""  # the real clip's offset estimate: "peak p, rival r" and why it is undetermined
    sync: str = ""  # the same for the reconstruction

    @property
    def offset_status(self) -> str:
        """met / missed, or undetermined when the real or the reconstructed offset is."""
        d = self.offset_ms if self.clip == "demo" else self.offset_diff_ms
        return "undetermined" if np.isnan(d) else ("met" if abs(d) <= OFFSET_TOL_MS else "missed")

    def passes(self) -> dict[str, bool]:
        real = self.clip != "demo"
        return {"spread": (SPREAD_RATIO[0] <= self.spread_ratio <= SPREAD_RATIO[1]) if real else self.spread > 0.15,
                "closure": bool(np.isnan(self.closure_ratio) or self.closure_ratio <= CLOSURE_MAX),
                "offset": self.offset_status == "met",
                "identity": self.id_dist_max <= IDENTITY_MAX, "streaks": self.streak_max == 0}


def strip(real: list[np.ndarray], rec: list[np.ndarray], n: int = 6, height: int = 192) -> np.ndarray:
    """Real frames (top) over reconstructed frames (bottom) at the same fractions of the sentence."""
    import cv2

    def row(frames: list[np.ndarray]) -> np.ndarray:
        idx = np.linspace(0.15, 0.85, n) * (len(frames) - 1)
        out = []
        for i in idx.astype(int):
            f = frames[i]
            w = int(round(f.shape[1] * height / f.shape[0]))
            out.append(cv2.resize(f, (w, height), interpolation=cv2.INTER_AREA))
        return np.concatenate(out, 1)

    top, bottom = row(real), row(rec)
    w = max(top.shape[1], bottom.shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, w - a.shape[1]), (0, 0)), constant_values=255)  # noqa: E731
    return np.concatenate([pad(top), np.full((4, w, 3), 255, np.uint8), pad(bottom)], 0)


def save_png(rgb: np.ndarray, path: Path) -> None:
    """A figure as a 256-colour PNG (a third of the size; the docs keep one strip per clip)."""
    from PIL import Image

    Image.fromarray(rgb).quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def run_face_eval(out: Path, cfg: ReconstructConfig | None = None, data: Path | None = None, limit: int = 0,
                  demo: bool = True, progress=print) -> dict:
    """The face evaluation; writes ``face_clips.csv``, ``face_summary.json``, ``strips/<clip>.png`` and
    ``face_articulation.png`` into ``out``."""
    import cv2
    from PIL import Image

    from ..media import read_audio
    from ..publickb.enroll import Enroller
    from ..publickb.face import FaceAnalyzer
    from ..publickb.store import PublicKb
    from ..reconstruct import metrics as M
    from ..reconstruct.pipeline import Reconstructor

    cfg = cfg or ReconstructConfig()
    data = data or real_data_dir()
    clips = read_grid(data)[: limit or None]
    out.mkdir(parents=True, exist_ok=True)
    (out / "strips").mkdir(exist_ok=True)
    cv2.setNumThreads(1)
    kb = PublicKb(PublicKbConfig(db_path=str(out / "kb" / "publickb.sqlite")))
    enroller = Enroller(kb.cfg)
    rec = Reconstructor(cfg, kb=kb)
    ident, mesh = M.IdentityMeter(), FaceAnalyzer(max_faces=1)
    items = [(Path(f).stem, data / "video" / "grid" / f, t) for f, t in clips]
    if demo and (DEMO / "talking_face_demo.mp4").exists():
        items.append(("demo", DEMO / "talking_face_demo.mp4", _demo_text()))
    rows: list[FaceRow] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, path, text in items:
        real, _ = read_frames(path)
        audio = read_audio(path)
        first = out / "enroll" / f"{name}.png"
        first.parent.mkdir(exist_ok=True)
        Image.fromarray(real[0]).save(first)
        prof = enroller.enroll(name, image=first, audio=path)
        kb.put(prof)
        prof = kb.get(name)
        voice, _ = rec.voice_for(prof)
        speech = rec.tts.synthesize(text, voice)
        rec.animator.rig(prof)  # built before the frames are timed
        c0, t0 = time.process_time(), time.perf_counter()
        frames = list(rec.animator.render(prof, speech))
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        notes = "; ".join(getattr(rec.animator, "notes", []))
        op = M.mouth_openings(frames, mesh)
        if name == "demo":  # a still portrait: the reconstruction alone
            op_real = np.zeros(1)
            sync_real = None
        else:
            op_real = M.mouth_openings(real, mesh)
            sync_real = M.sync_offset(op_real, audio, 16000, 25)
        sync = M.sync_offset(op, speech.audio, speech.sample_rate, cfg.fps)
        off_real = sync_real.offset_ms if sync_real else float("nan")
        off = sync.offset_ms
        closure, n_bil = M.closure_ratio(op, speech.phoneme_timings, cfg.fps, speech.audio, speech.sample_rate)
        ref = ident.descriptor(prof.image)
        dists = np.array([ident.distance(ref, f) for f in frames]) if ref is not None else np.array([np.inf])
        sp_real, sp = M.articulation_spread(op_real), M.articulation_spread(op)
        row = FaceRow(name, text, len(real), len(frames), sp_real, sp, sp / sp_real if sp_real > 0 else float("nan"),
                      closure, n_bil, off_real, off, off - off_real, float(dists.max()), float(dists.mean()),
                      max(M.border_streaks(f) for f in frames), len(frames) / max(cpu, 1e-9), len(frames) / wall,
                      notes, _sync_note(sync_real), _sync_note(sync))
        rows.append(row)
        curves[name] = (op_real, op)
        (out / "curves").mkdir(exist_ok=True)  # what the measures read, to re-score without rendering again
        np.savez_compressed(out / "curves" / f"{name}.npz", opening_real=op_real, opening=op,
                            audio_real=audio if name != "demo" else np.zeros(0), sr_real=16000,
                            audio=speech.audio, sr=speech.sample_rate, fps=cfg.fps)
        save_png(strip(real, frames), out / "strips" / f"{name}.png")
        ok = row.passes()
        undetermined = row.offset_status == "undetermined"
        missed = [k for k, v in ok.items() if not v and not (k == "offset" and undetermined)]
        progress(f"{name}: spread {sp:.3f} / real {sp_real:.3f} = {row.spread_ratio:.2f}, closure {closure:.2f} "
                 f"({n_bil} p/b/m), offset {_ms(off)} (real {_ms(off_real) if sync_real else 'still'}; "
                 f"{row.offset_status}), identity max {row.id_dist_max:.3f}, "
                 f"streaks {row.streak_max}, {row.render_cpu_fps:.0f} fps CPU; "
                 + ("missed: " + ", ".join(missed) if missed else
                    "the measurable targets met (offset undetermined)" if undetermined else "all targets met"))
    fields = list(FaceRow.__dataclass_fields__)
    with open(out / "face_clips.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(fields + ["passes"])
        for r in rows:
            vals = [round(v, 4) if isinstance(v, float) else v for v in asdict(r).values()]
            w.writerow(vals + [" ".join(k for k, v in r.passes().items() if v)])
    grid_rows = [r for r in rows if r.clip != "demo"]
    summary = {
        "clips": len(grid_rows), "size": cfg.size,
        "spread_ratio_min": min(r.spread_ratio for r in grid_rows) if grid_rows else None,
        "spread_ratio_max": max(r.spread_ratio for r in grid_rows) if grid_rows else None,
        "closure_ratio_max": float(np.nanmax([r.closure_ratio for r in rows])) if rows else None,
        "offset_diff_ms_max_abs": float(np.nanmax([abs(r.offset_diff_ms) for r in grid_rows] + [np.nan]))
        if grid_rows and any(np.isfinite(r.offset_diff_ms) for r in grid_rows) else None,
        "offset_status": {k: sum(r.offset_status == k for r in grid_rows) for k in ("met", "missed", "undetermined")},
        "id_dist_max": max(r.id_dist_max for r in rows), "streak_max": max(r.streak_max for r in rows),
        "render_cpu_fps_min": min(r.render_cpu_fps for r in rows),
        "targets_met": {k: sum(r.passes()[k] for r in rows) for k in rows[0].passes()},
        "rows": len(rows),
    }
    (out / "face_summary.json").write_text(json.dumps(summary, indent=1))
    _plot(out, rows, curves, cfg.fps)
    return summary


def _sync_note(s) -> str:
    if s is None:
        return ""
    return f"peak {s.peak:.2f}, rival {s.rival:.2f}" + (f"; undetermined: {s.reason}" if s.reason else "")


def _ms(x: float) -> str:
    return "undetermined" if np.isnan(x) else f"{x:+.0f} ms"


def _demo_text() -> str:
    with open(DEMO / "transcript.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return " ".join(r["transcript"] for r in rows)


def _plot(out: Path, rows: list[FaceRow], curves: dict, fps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    g = [r for r in rows if r.clip != "demo"]
    x = np.arange(len(g))
    ax[0].bar(x - 0.2, [r.spread_real for r in g], 0.4, label="real clip")
    ax[0].bar(x + 0.2, [r.spread for r in g], 0.4, label="reconstruction")
    ax[0].set_xticks(x, [r.clip for r in g], rotation=45, fontsize=7)
    ax[0].set_title("articulation spread (p95 - p5 of inner-lip opening / width)", fontsize=9)
    ax[0].legend(fontsize=7)
    ax[1].bar(x, [r.offset_real_ms for r in g], 0.4, label="real clip")
    ax[1].bar(x + 0.4, [r.offset_ms for r in g], 0.4, label="reconstruction")
    ax[1].set_xticks(x + 0.2, [r.clip for r in g], rotation=45, fontsize=7)
    ax[1].set_title("lip-sync offset vs own speech (ms, + = mouth after sound; no bar: undetermined)", fontsize=9)
    ax[1].legend(fontsize=7)
    if g:
        name = g[0].clip
        o_r, o_c = curves[name]
        ax[2].plot(np.arange(o_r.size) / fps, o_r, label=f"real ({name})")
        ax[2].plot(np.arange(o_c.size) / fps, o_c, label="reconstruction")
        ax[2].set_xlabel("s")
        ax[2].set_title("inner-lip opening / mouth width (face mesh)", fontsize=9)
        ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "face_articulation.png", dpi=110)
    plt.close(fig)


def run_gsr(out: Path, limit: int = 0, cfg: ReconstructConfig | None = None, data: Path | None = None,
            progress=print, parts: tuple[str, ...] = ("face", "voice")) -> dict:
    """The face evaluation, then the voice evaluation (``evaluation.voice``), into ``out``."""
    summary: dict = {}
    if "face" in parts:
        progress("face: GRID clips and the demo sample")
        summary["face"] = run_face_eval(out, cfg, data, limit, progress=progress)
    if "voice" in parts:
        from .voice import run_voice_eval

        progress("voice: speaker similarity, identification, WER")
        summary["voice"] = run_voice_eval(out, data, cfg, progress=progress)
    return summary
