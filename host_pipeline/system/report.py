"""The run report: the transmitter's and the receiver's logs merged by (sender id, sequence number) into
``report.json`` (and ``report.html``), with bitrate and latency summaries. Also ``lgmtsc report`` for logs
brought together from two machines."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

from ..errors import BackendError
from .protocol import read_log


def merge_logs(tx_log: Path, rx_log: Path, run: dict, events: list[dict] | None = None,
               input_duration_s: float | None = None, lost_reasons: dict | None = None) -> dict:
    """One report from the two logs. A sent message with no receiver outcome is "lost"; a received message
    that the transmitter's log does not list is reported as an event, never attributed to a sent one."""
    sent, done, arrived, notes, duplicates = {}, {}, {}, [], []
    for e in (*read_log(rx_log), *read_log(tx_log)):
        key = (e.get("sender_id"), e.get("seq"))
        if e.get("event") == "sent":
            sent[key] = e
        elif e.get("event") == "done":
            if key in done:  # a replayed or repeated burst: the genuine outcome stays, the copy is an event
                keep, extra = (done[key], e) if done[key]["status"] == "ok" else (e, done[key])
                done[key] = keep
                duplicates.append(extra)
            else:
                done[key] = e
        elif e.get("event") == "arrived":
            arrived.setdefault(key, e["t"])
        elif e.get("event") == "note":
            notes.append(e)
    t0 = min([e["t_sent"] for e in sent.values()] + [n["t"] for n in notes] + [time.time()])
    ev = [{"t": round(n["t"] - t0, 3), "source": n["source"], "message": n["message"]} for n in notes]
    ev += [{"t": round(e["t"] - t0, 3) if "t" in e else None, "source": e["source"], "message": e["message"]}
           for e in events or []]
    ev += [{"t": round(r["t_arrived"] - t0, 3), "source": "rx",
            "message": f"another copy of sender {r['sender_id']} seq {r['seq']}: {r['status']} ({r.get('reason', '')})"}
           for r in duplicates]
    for key in sorted(set(done) - set(sent), key=str):
        r = done[key]
        ev.append({"t": round(r["t_arrived"] - t0, 3), "source": "rx",
                   "message": f"a message from sender {key[0]} seq {key[1]} that this run did not send: "
                              f"{r['status']}"})
    utts = []
    for key in sorted(sent, key=lambda k: (sent[k]["t_sent"], k)):
        s = sent[key]
        r = done.get(key)
        u = {k: s[k] for k in ("seq", "sender_id", "mode", "start_s", "end_s", "transcript", "sent_text",
                                "prompt_class", "feedback_snr_db", "n_tokens", "channel_uses", "burst_channel_uses",
                                "payload_bits", "header_bits", "tag_bits")}
        u["reassociated"] = bool(s.get("reassociated", False))  # logs of earlier versions lack it
        u["preamble"] = s.get("preamble", "long")
        lat = dict(s.get("latency_s", {}))
        if r is None:
            reason = (lost_reasons or {}).get(key) or ("arrived, but the receiver stopped before finishing it"
                                                        if key in arrived else "no burst was received")
            u.update(status="lost", reason=reason, auth={"verified": False, "candidates_tried": 0},
                     received_text=None, restored_text=None, snr_db=None, video=None, user=None)
        else:
            u.update(status=r["status"], reason=r.get("reason", ""), user=r.get("user"),
                     auth={"verified": r["verified"], "candidates_tried": r["candidates_tried"]},
                     received_text=r["received_text"], restored_text=r["restored_text"], snr_db=r["snr_db"],
                     video=r["video"])
            lat.update(r.get("latency_s", {}))
            lat["link_s"] = round(r["t_arrived"] - s["t_sent"], 4)
            if r.get("t_first_frame") and s.get("t_speech_end"):
                lat["e2e_first_frame_s"] = round(r["t_first_frame"] - s["t_speech_end"], 3)
        rank = {k: i for i, k in enumerate(CRITICAL_PATH)}
        u["latency_s"] = {k: lat[k] for k in sorted(lat, key=lambda k: rank.get(k, len(rank)))}
        u["kb"] = {"tx": s.get("kb") or None, "rx": (r or {}).get("kb") or None}
        utts.append(u)
    _similarities(utts)
    return {"version": 1, "run": run, "utterances": utts, "summary": summarize(utts, input_duration_s),
            "events": sorted(ev, key=lambda e: (e["t"] is None, e["t"] or 0)), "video": None}


def _similarities(utts: list[dict]) -> None:
    """Sentence similarity (MiniLM cosine) of what the ASR heard and what the receiver restored."""
    pairs = [(u["transcript"], u["restored_text"]) for u in utts if u["restored_text"]]
    for u in utts:  # received as nothing at all: nothing of the meaning arrived
        u["similarity"] = 0.0 if u["restored_text"] == "" else None
    if not pairs:
        return
    from ..codec.encoder import BertSemanticEncoder

    enc = BertSemanticEncoder.from_name("minilm-l6", "cpu")
    emb = enc.sentence_embeddings([t for p in pairs for t in p]).numpy()
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    sims = iter((emb[0::2] * emb[1::2]).sum(1))
    for u in utts:
        if u["restored_text"]:
            u["similarity"] = round(float(next(sims)), 4)


def summarize(utts: list[dict], duration_s: float | None) -> dict:
    ok = [u for u in utts if u["status"] == "ok"]
    got = [u for u in utts if u["received_text"] is not None]
    bits = sum(u["payload_bits"] + u["header_bits"] + u["tag_bits"] for u in utts)
    uses = sum(u["burst_channel_uses"] for u in utts)
    e2e = [u["latency_s"]["e2e_first_frame_s"] for u in utts if "e2e_first_frame_s" in u["latency_s"]]
    rate = (lambda x: round(x / duration_s, 1)) if duration_s else (lambda x: None)
    return {
        "utterances": len(utts), "received": len(got), "verified": len(ok),
        "refused": sum(u["status"] in ("unverified", "replay", "unknown_sender") for u in utts),
        "lost": sum(u["status"] == "lost" for u in utts),
        "mean_similarity": round(float(np.mean(sims)), 4) if (sims := [u["similarity"] for u in got
                                                                        if u["similarity"] is not None]) else None,
        "mean_snr_db": round(float(np.mean([u["snr_db"] for u in got if u["snr_db"] is not None])), 2)
        if any(u["snr_db"] is not None for u in got) else None,
        "input_duration_s": duration_s,
        "bits_sent": bits, "bitrate_bps": rate(bits),  # channel bits of payload, header and tag block, Fig. 8's way
        "payload_channel_uses": sum(u["channel_uses"] for u in utts),
        "burst_channel_uses": uses, "channel_uses_per_s": rate(uses),
        "median_e2e_first_frame_s": round(float(np.median(e2e)), 3) if e2e else None,
        "max_e2e_first_frame_s": round(float(np.max(e2e)), 3) if e2e else None,
        "latency_s": latency_distribution(utts),
        "kb_share_of_e2e": round(float(np.mean(shares)), 3) if (shares := [
            (u["latency_s"].get("kb_tx_s", 0) + u["latency_s"].get("kb_rx_s", 0)) / u["latency_s"]["e2e_first_frame_s"]
            for u in utts if u["latency_s"].get("e2e_first_frame_s")]) else None,
    }


# The stages from the end of speech to the first reconstructed frame, in order (live or --realtime runs; a file
# read as fast as possible starts at its transcript, so endpoint_s is absent): the VAD's endpoint, the ASR, the wait
# behind the previous utterance at the transmitter, its private KB, the semantic encoder, the air (flowgraph and
# channel, link_s), the wait at the receiver, the decoder, its private KB, the first phrase's speech (synthesised
# while the previous message's frames are made), its wait for them, and its first frame. render_all_s (the whole
# clip) and e2e_first_frame_s are not stages of that path.
CRITICAL_PATH = ("endpoint_s", "asr_s", "wait_tx_s", "kb_tx_s", "encode_s", "link_s", "queue_s", "decode_s", "kb_rx_s",
                 "tts_first_s", "render_wait_s", "first_frame_s")


def latency_distribution(utts: list[dict]) -> dict:
    """Per stage (and end to end): median, 90th percentile and maximum over the utterances that logged it (s)."""
    out = {}
    for k in (*CRITICAL_PATH, "render_all_s", "e2e_first_frame_s"):
        v = [float(u["latency_s"][k]) for u in utts if isinstance(u["latency_s"].get(k), (int, float))]
        if v:
            out[k] = {"median": round(float(np.median(v)), 3), "p90": round(float(np.percentile(v, 90)), 3),
                      "max": round(float(np.max(v)), 3), "n": len(v)}
    return out


def write_report(out_dir: Path, report: dict, input_video: str | None) -> Path:
    """report.json, the joined video and report.html in ``out_dir``."""
    clips = [out_dir / u["video"] for u in report["utterances"] if u.get("video")]
    if clips:
        report["video"] = concat_clips(clips, out_dir / "video.mp4").name
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    from .report_html import write_html

    write_html(report, out_dir, input_video)
    return path


def concat_clips(clips: list[Path], out: Path) -> Path:
    """Join per-utterance mp4 clips (same encoder settings) without re-encoding."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{c.name}'\n" for c in clips))
    r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                        str(listing), "-c", "copy", "-movflags", "+faststart", str(out)], capture_output=True,
                       text=True)
    listing.unlink(missing_ok=True)
    if r.returncode != 0:
        raise BackendError(f"ffmpeg could not join the utterance videos: {r.stderr.strip()[-300:]}")
    return out
