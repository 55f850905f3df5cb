"""``report.html``: a self-contained page for one run, written beside ``report.json``.

Per utterance it shows the original frame (from the input video, at the utterance's midpoint) and the
reconstructed frame (from the utterance clip, at its midpoint) side by side, the texts at each stage with
word-level differences, the link figures and a stage-latency bar. Frames go to ``out_dir/frames/`` and every
reference is relative, so the folder can be moved. No JavaScript and no network: plain HTML and CSS. A missing or
unreadable video never fails the page; its place holds a placeholder saying why.
"""

from __future__ import annotations

import difflib
import html
import os
import re
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

from ..errors import InputError

FRAME_SIZE = 256
_WORD_KEY = re.compile(r"[^\w']+")

# Why an utterance was not rendered, when the receiver's log gives no reason.
_NOT_RENDERED = {
    "lost": "no burst was received",
    "unverified": "the message tag did not verify for the sender",
    "replay": "sequence number already seen (replay refused)",
    "undecodable": "the burst could not be decoded",
    "unknown_sender": "the sender is not enrolled",
}
# Fixed colours for the usual stages; any other stage gets one from the spare palette.
_STAGE_COLOURS = {"endpoint_s": "#a0cbe8", "asr_s": "#4e79a7", "wait_tx_s": "#bab0ac", "kb_tx_s": "#f28e2b",
                  "encode_s": "#e15759", "link_s": "#76b7b2", "queue_s": "#9c755f", "decode_s": "#59a14f",
                  "kb_rx_s": "#edc948", "tts_s": "#b07aa1", "tts_first_s": "#b07aa1", "render_s": "#ff9da7",
                  "render_wait_s": "#bab0ac", "first_frame_s": "#ff9da7"}
_SPARE_COLOURS = ("#86bcb6", "#d37295", "#8cd17d", "#f1ce63", "#499894", "#d4a6c8")
# end-to-end figures and work off the path to the first frame: shown as numbers, not bar segments
_TOTALS = {"e2e_first_frame_s", "render_all_s"}


# ---------------------------------------------------------------------------------------------- frames
def extract_frame(video_path: str | Path, t_s: float | None, out_jpg: str | Path, size: int = FRAME_SIZE) -> Path:
    """Save the frame of ``video_path`` nearest ``t_s`` seconds (None: the clip's midpoint) as a JPEG whose
    longer side is ``size`` pixels (aspect kept). Raises InputError for a missing or unreadable file, one
    without a video track, or one from which no frame decodes."""
    import av

    p = Path(video_path)
    if not p.is_file():
        raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
    try:
        with av.open(str(p)) as container:
            if not container.streams.video:
                raise InputError(f"{p}: has no video track")
            stream = container.streams.video[0]
            t = _midpoint_s(container, stream) if t_s is None else max(0.0, float(t_s))
            frame = _nearest_frame(container, stream, t)
            if frame is None:
                raise InputError(f"{p}: no video frame could be decoded")
            width, height = _fit(frame.width, frame.height, size)
            return _save_jpeg(frame, width, height, Path(out_jpg))
    except av.error.FFmpegError as e:
        raise InputError(f"{p}: not a readable video file ({getattr(e, 'strerror', None) or e})") from None


def _midpoint_s(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base) / 2
    return float(container.duration) / 2e6 if container.duration else 0.0


def _nearest_frame(container, stream, t: float):
    """Seek to the key frame at or before ``t`` and decode forward to the frame whose time is nearest ``t``."""
    if t > 0 and stream.time_base:
        try:
            container.seek(int(Fraction(t).limit_denominator(10**6) / stream.time_base), stream=stream)
        except Exception:  # a container that cannot seek: decode from the start
            container.seek(0)
    best, best_gap = None, float("inf")
    for frame in container.decode(stream):
        ft = frame.time if frame.time is not None else 0.0
        gap = abs(ft - t)
        if gap <= best_gap:
            best, best_gap = frame, gap
        elif ft > t:
            break
    return best


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _save_jpeg(frame, width: int, height: int, out: Path) -> Path:
    """JPEG with Pillow when installed, else with FFmpeg's MJPEG encoder through PyAV."""
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image
    except ImportError:
        return _save_jpeg_ffmpeg(frame, width, height, out)
    frame.to_image().resize((width, height), Image.BILINEAR).save(out, "JPEG", quality=88)
    return out


def _save_jpeg_ffmpeg(frame, width: int, height: int, out: Path) -> Path:
    import av

    enc = av.CodecContext.create("mjpeg", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuvj420p"
    enc.time_base = Fraction(1, 25)
    enc.options = {"qmin": "2", "qmax": "6"}
    img = frame.reformat(width=width, height=height, format="yuvj420p")
    img.pts = 0
    packets = list(enc.encode(img)) + list(enc.encode(None))
    out.write_bytes(b"".join(bytes(pk) for pk in packets))
    return out


# ---------------------------------------------------------------------------------------------- text
def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def word_diff(reference: str | None, text: str | None) -> str:
    """``text`` as HTML with the words that differ from ``reference`` marked: <ins> for words replaced or added,
    and <del> for reference words missing from ``text``. Matching ignores case and punctuation."""
    if text is None:
        return '<span class="none">(none)</span>'
    ref_words, words = (reference or "").split(), text.split()
    key = lambda w: _WORD_KEY.sub("", w.lower()) or w  # noqa: E731
    matcher = difflib.SequenceMatcher(None, [key(w) for w in ref_words], [key(w) for w in words], autojunk=False)
    parts = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(esc(" ".join(words[j1:j2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{esc(' '.join(ref_words[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{esc(' '.join(words[j1:j2]))}</ins>")
    return " ".join(parts)


def _num(value, unit: str = "", digits: int | None = 2) -> str:
    """A figure for the page: '–' for None, ``digits`` decimals (None: up to 6 significant digits)."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return esc(value)
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        text = f"{value:.6g}" if digits is None else f"{value:.{digits}f}"
    return f"{text}{' ' + unit if unit else ''}"


# ---------------------------------------------------------------------------------------------- page parts
def _href(rel: str | Path) -> str:
    return esc(quote(Path(rel).as_posix()))


def _relative(path: str, out_dir: Path) -> Path:
    """A report path (relative to ``out_dir``, or absolute) as one relative to ``out_dir``."""
    p = Path(path)
    return Path(os.path.relpath(p, out_dir)) if p.is_absolute() else p


def _frame_cell(label: str, video: Path | None, t_s: float | None, out_jpg: Path, out_dir: Path,
                missing_reason: str | None) -> str:
    """One figure: the extracted frame, or a placeholder with the reason there is none."""
    out_jpg.unlink(missing_ok=True)  # never show a stale frame from an earlier run
    reason = missing_reason
    if reason is None and video is not None:
        try:
            extract_frame(video, t_s, out_jpg)
        except InputError as e:
            reason = e.message
    if reason is None:
        return (f'<figure><img src="{_href(out_jpg.relative_to(out_dir))}" alt="{esc(label)}" '
                f'width="{FRAME_SIZE}"><figcaption>{esc(label)}</figcaption></figure>')
    return (f'<figure><div class="placeholder">{esc(reason)}</div>'
            f'<figcaption>{esc(label)}</figcaption></figure>')


def _colour(stage: str, order: list[str]) -> str:
    if stage in _STAGE_COLOURS:
        return _STAGE_COLOURS[stage]
    extras = [s for s in order if s not in _STAGE_COLOURS]
    return _SPARE_COLOURS[extras.index(stage) % len(_SPARE_COLOURS)]


def latency_bar(latency: dict, scale_s: float, order: list[str]) -> str:
    """A stacked bar of the stage latencies, widths in percent of ``scale_s`` seconds, plus the figures."""
    stages = [(k, float(v)) for k, v in latency.items()
              if k not in _TOTALS and isinstance(v, (int, float)) and v > 0]
    if not stages:
        return '<div class="none">no stage latencies logged</div>'
    segs = "".join(f'<span class="seg" style="width:{100 * v / scale_s:.2f}%;background:{_colour(k, order)}" '
                   f'title="{esc(k)}: {v:.3f} s"></span>' for k, v in stages)
    figures = " · ".join(f'<span class="key" style="border-color:{_colour(k, order)}">{esc(k.removesuffix("_s"))}'
                         f"</span> {v:.3f} s" for k, v in stages)
    totals = " · ".join(f"<b>{esc(k.removesuffix('_s'))}</b> {_num(latency[k], 's', 3)}"
                        for k in latency if k in _TOTALS)
    return f'<div class="bar">{segs}</div><div class="figures">{figures}{" · " + totals if totals else ""}</div>'


def _kv_table(items: dict, units: dict | None = None) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_num(v, (units or {}).get(k, ''), None)}</td></tr>"
                   for k, v in items.items() if not isinstance(v, (dict, list)))
    return f"<table class='kv'>{rows}</table>"


def _utterance_row(u: dict, name: str, out_dir: Path, input_video: str | None, scale_s: float,
                   order: list[str]) -> str:
    status = u.get("status") or "unknown"
    rendered = status == "ok"
    start, end = u.get("start_s"), u.get("end_s")
    mid = (start + end) / 2 if start is not None and end is not None else None
    frames = out_dir / "frames"

    if input_video is None:
        orig_reason = "no input video was given for this report"
    elif mid is None:
        orig_reason = "the utterance has no start/end time"
    else:
        orig_reason = None
    original = _frame_cell(f"original at {_num(mid, 's')}", Path(input_video) if input_video else None, mid,
                           frames / f"orig_{name}.jpg", out_dir, orig_reason)

    clip = _relative(u["video"], out_dir) if u.get("video") else None
    if not rendered:
        recon_reason = f"not rendered: {u.get('reason') or _NOT_RENDERED.get(status, status)}"
    elif clip is None:
        recon_reason = "not rendered: the receiver wrote no clip for this utterance"
    elif not (out_dir / clip).is_file():
        recon_reason = f"clip missing: {clip.as_posix()}"
    else:
        recon_reason = None
    recon = _frame_cell("reconstructed (clip midpoint)", out_dir / clip if clip else None, None,
                        frames / f"recon_{name}.jpg", out_dir, recon_reason)
    clip_link = (f' · <a href="{_href(clip)}">clip</a>' if clip and recon_reason is None else "")

    auth = u.get("auth") or {}
    badge = "verified" if rendered else f"{status} — not rendered"
    sent = u.get("sent_text")
    texts = (f"<tr><th>heard (ASR)</th><td>{esc(u.get('transcript'))}</td></tr>"
             f"<tr><th>sent (after KB)</th><td>{word_diff(u.get('transcript'), sent)}</td></tr>"
             f"<tr><th>received</th><td>{word_diff(sent, u.get('received_text'))}</td></tr>"
             f"<tr><th>restored (after KB)</th><td>{word_diff(sent, u.get('restored_text'))}</td></tr>")
    figures = {
        "prompt class": u.get("prompt_class"), "feedback SNR": _num(u.get("feedback_snr_db"), "dB"),
        "measured SNR": _num(u.get("snr_db"), "dB"), "similarity": _num(u.get("similarity"), digits=3),
        "tokens": _num(u.get("n_tokens")), "channel uses": _num(u.get("channel_uses")),
        "channel uses on air": (f"{_num(u.get('burst_channel_uses'))} (the {u.get('preamble', 'long')} burst format: "
                                "preamble, header, tag, pilots, payload, guard"
                                + (", and the link association sent again before it: no report had come on an "
                                   "earlier message)" if u.get("reassociated") else ")")),
        "bits (payload + header + tag)": f"{_num(u.get('payload_bits'))} + {_num(u.get('header_bits'))} + "
                                         f"{_num(u.get('tag_bits'))}",
        "tag": (f"{'verified' if auth.get('verified') else 'not verified'}, "
                f"{_num(auth.get('candidates_tried'))} candidate(s) tried") if auth else None,
        "speech": f"{_num(start, 's')} – {_num(end, 's')}",
        "identified user": esc(u["user"]) if u.get("user") else None,
    }
    fig_rows = "".join(f"<tr><th>{esc(k)}</th><td>{v if k != 'prompt class' else esc(v)}</td></tr>"
                       for k, v in figures.items() if v is not None)
    return f"""
<section class="utt status-{esc(status)}" id="utt-{esc(name)}">
 <h3>#{esc(u.get('seq'))} <small>sender {esc(u.get('sender_id'))}</small>
  <span class="badge {'ok' if rendered else 'bad'}">{esc(badge)}</span>{clip_link}</h3>
 <div class="frames">{original}{recon}</div>
 <div class="info">
  <table class="texts">{texts}</table>
  <table class="kv">{fig_rows}</table>
  <div class="latency"><h4>stage latency</h4>{latency_bar(u.get('latency_s') or {}, scale_s, order)}</div>
 </div>
</section>"""


def _joined_video(report: dict, out_dir: Path) -> str:
    video = report.get("video")
    if not video:
        return '<div class="placeholder wide">no joined video: no utterance was rendered</div>'
    rel = _relative(video, out_dir)
    if not (out_dir / rel).is_file():
        return f'<div class="placeholder wide">joined video missing: {esc(rel.as_posix())}</div>'
    return f'<video controls preload="metadata" src="{_href(rel)}"></video>'


def _latency_table(summary: dict) -> str:
    """Per stage: median, 90th percentile and maximum over the utterances (report.summarize's latency_s)."""
    dist = summary.get("latency_s") or {}
    if not dist:
        return "<p class='none'>no latencies logged</p>"
    rows = "".join(f"<tr><th>{esc(k.removesuffix('_s'))}</th><td>{_num(d.get('median'), 's', 3)}</td>"
                   f"<td>{_num(d.get('p90'), 's', 3)}</td><td>{_num(d.get('max'), 's', 3)}</td>"
                   f"<td>{_num(d.get('n'))}</td></tr>" for k, d in dist.items())
    share = summary.get("kb_share_of_e2e")
    note = (f"<p>The private KB's steps took {_num(100 * share, '%', 1)} of the time to the first frame (mean)."
            "</p>" if share is not None else "")
    return (f"<table class='kv lat'><tr><th>stage</th><th>median</th><th>p90</th><th>max</th><th>n</th></tr>{rows}"
            f"</table>{note}")


def _events(events: list[dict]) -> str:
    if not events:
        return "<p class='none'>no events</p>"
    items = "".join(f"<li><span class='t'>{_num(e.get('t'), 's', 3)}</span> <b>{esc(e.get('source'))}</b> "
                    f"{esc(e.get('message'))}</li>" for e in events)
    return f"<ol class='events'>{items}</ol>"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h3{margin:.2em 0} h4{margin:.4em 0 .2em}
table.lat td{padding:0 .8em;text-align:right}
table.kv th,table.texts th{text-align:left;font-weight:600;padding-right:1em;vertical-align:top;white-space:nowrap}
.head{display:flex;gap:2em;flex-wrap:wrap} .head>div{flex:1 1 300px}
.big{font-size:1.3em} video{max-width:100%;width:512px;background:#000}
.utt{border-top:1px solid #ccc;padding:1em 0;display:flex;flex-wrap:wrap;gap:1em}
.utt h3{flex:1 1 100%} .frames{display:flex;gap:.5em} .info{flex:1 1 400px}
figure{margin:0;text-align:center} figcaption{font-size:.85em;color:#555}
.placeholder{width:256px;height:256px;display:flex;align-items:center;justify-content:center;text-align:center;
 background:#eee;color:#733;border:1px dashed #b99;box-sizing:border-box;padding:1em;overflow-wrap:anywhere}
.placeholder.wide{width:512px;height:auto;min-height:4em}
.badge{font-size:.75em;padding:.1em .5em;border-radius:.8em;vertical-align:middle}
.badge.ok{background:#d8efd8;color:#185c18} .badge.bad{background:#f8d7d7;color:#8a1c1c}
.utt:not(.status-ok){background:#fff8f8}
ins{background:#d8efd8;text-decoration:none;border-bottom:2px solid #3a3}
del{background:#f8d7d7;color:#8a1c1c}
.none{color:#888;font-style:italic}
.bar{display:flex;height:14px;background:#f2f2f2;border:1px solid #ddd;width:100%}
.seg{display:block;height:100%}
.figures{font-size:.85em;color:#444;margin-top:.2em}
.key{border-left:10px solid;padding-left:3px}
.events{font-family:ui-monospace,monospace;font-size:.85em} .events .t{color:#777}
"""


def write_html(report: dict, out_dir: Path, input_video: str | None) -> Path:
    """Write ``out_dir/report.html`` (and its frames under ``out_dir/frames/``) for ``report``; its path."""
    out_dir = Path(out_dir)
    (out_dir / "frames").mkdir(parents=True, exist_ok=True)
    run, summary = report.get("run") or {}, report.get("summary") or {}
    utts = report.get("utterances") or []
    seqs = [u.get("seq") for u in utts]
    unique = len(set(seqs)) == len(seqs)
    names = [str(u.get("seq")) if unique else f"{u.get('sender_id')}_{u.get('seq')}_{i}" for i, u in enumerate(utts)]

    stage_order = list(dict.fromkeys(k for u in utts for k in (u.get("latency_s") or {}) if k not in _TOTALS))
    totals = [sum(v for k, v in (u.get("latency_s") or {}).items()
                  if k not in _TOTALS and isinstance(v, (int, float)) and v > 0) for u in utts]
    scale_s = max(totals, default=0.0) or 1.0
    rows = "".join(_utterance_row(u, n, out_dir, input_video, scale_s, stage_order) for u, n in zip(utts, names))

    received, verified, n = summary.get("received"), summary.get("verified"), summary.get("utterances")
    headline = (f"<p class='big'>{_num(received)} of {_num(n)} utterances received, {_num(verified)} verified "
                f"and rendered · mean similarity {_num(summary.get('mean_similarity'), digits=3)} · "
                f"mean SNR {_num(summary.get('mean_snr_db'), 'dB')} · "
                f"bitrate {_num(summary.get('bitrate_bps'), 'bit/s', 1)} · "
                f"{_num(summary.get('channel_uses_per_s'), 'channel uses/s', 1)}</p>")
    title = f"LGM-TSC run: {Path(str(run.get('input') or 'unknown input')).name}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
{headline}
<div class="head">
 <div><h2>Run</h2>{_kv_table(run, {"esn0_db": "dB", "duration_s": "s"})}</div>
 <div><h2>Summary</h2>{_kv_table(summary, {"mean_snr_db": "dB", "bitrate_bps": "bit/s", "input_duration_s": "s"})}</div>
 <div><h2>Video</h2>{_joined_video(report, out_dir)}</div>
</div>
<h2>Latency: end of speech to the first reconstructed frame</h2>
<p class="none">endpoint: the VAD's trailing silence; asr; wait_tx: behind the previous utterance; kb_tx; encode;
link: flowgraph and air; queue: behind earlier messages at the receiver; decode; kb_rx; tts_first: the first
phrase's speech (synthesised while the previous message's frames are made); render_wait: that speech waiting for
them; first_frame: its first frame; e2e_first_frame: all of it; render_all: the whole clip (not on the
path). A file read faster than real time starts at its transcript.</p>
{_latency_table(summary)}
<h2>Utterances</h2>
<p class="none">Words marked <ins>green</ins> differ from the line above (sent vs heard; received and restored vs
sent); <del>red</del> marks words of the line above that this line lacks. Latency bars share one scale
({scale_s:.2f} s full width).</p>
{rows or "<p class='none'>no utterances</p>"}
<h2>Events</h2>
{_events(report.get("events") or [])}
</body></html>
"""
    path = out_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
