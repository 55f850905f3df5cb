"""Merging the two hosts' logs: each (sender id, seq) keeps its genuine outcome, whatever else arrives."""

from __future__ import annotations

import json

from host_pipeline.system.protocol import JsonlLog, read_log
from host_pipeline.system.report import merge_logs


def _sent(seq, text):
    return {"seq": seq, "sender_id": 1, "mode": "semantic", "start_s": seq, "end_s": seq + 1.0, "transcript": text,
            "sent_text": text, "prompt_class": "high", "feedback_snr_db": None, "n_tokens": 4, "channel_uses": 64,
            "burst_channel_uses": 1200, "payload_bits": 128, "header_bits": 192, "tag_bits": 64,
            "t_sent": 100.0 + seq, "t_speech_end": 99.0 + seq}


def _done(seq, status, text, t):
    return {"seq": seq, "sender_id": 1, "user": "alice", "status": status, "reason": "" if status == "ok" else status,
            "verified": status == "ok", "candidates_tried": 1, "received_text": text, "restored_text": text,
            "snr_db": 10.0, "prompt_class": "high", "video": None, "t_arrived": t, "t_first_frame": None,
            "latency_s": {}, "kb": {}}


def test_a_replayed_copy_does_not_replace_the_genuine_outcome_and_empty_text_scores_zero(tmp_path):
    tx, rx = JsonlLog(tmp_path / "tx.jsonl"), JsonlLog(tmp_path / "rx.jsonl")
    tx.write("sent", _sent(1, "meet me at the station"))
    tx.write("sent", _sent(2, "see you tomorrow"))
    rx.write("done", _done(1, "ok", "meet me at the station", 101.5))
    rx.write("done", _done(1, "replay", "meet me at the station", 103.0))  # the same burst sent again
    rx.write("done", _done(2, "unverified", "", 102.5))  # decoded to nothing at all
    tx.close(), rx.close()
    report = merge_logs(tmp_path / "tx.jsonl", tmp_path / "rx.jsonl", {})
    u1, u2 = report["utterances"]
    assert u1["status"] == "ok" and u1["similarity"] > 0.99
    assert u2["status"] == "unverified" and u2["similarity"] == 0.0
    assert report["summary"]["verified"] == 1 and report["summary"]["refused"] == 1
    assert any("another copy of sender 1 seq 1: replay" in e["message"] for e in report["events"])
    json.dumps(report)


def test_a_torn_last_line_does_not_swallow_the_next_writer_s_first_line(tmp_path):
    path = tmp_path / "rx.jsonl"
    path.write_text('{"event": "arrived", "sender_id": 1, "seq": 1, "t": 1.0}\n{"event": "done", "sen')  # killed
    log = JsonlLog(path)
    log.write("arrived", {"sender_id": 1, "seq": 2, "t": 2.0})
    log.close()
    assert [(e["event"], e["seq"]) for e in read_log(path)] == [("arrived", 1), ("arrived", 2)]
