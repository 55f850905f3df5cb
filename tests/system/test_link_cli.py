"""The link commands' bad-input paths: one line and a non-zero exit, before any model is loaded."""

from __future__ import annotations

from ..conftest import run_cli


def test_tx_with_a_missing_or_silent_input_exits_4(tmp_path):
    r = run_cli("tx", str(tmp_path / "nope.mp4"), "--user", "alice", "--log", str(tmp_path / "tx.jsonl"),
                env={"LGMTSC_DATA": str(tmp_path / "data")})
    assert r.returncode == 4 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "tx.jsonl").exists()
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    r = run_cli("tx", str(text), "--user", "alice", env={"LGMTSC_DATA": str(tmp_path / "data")})
    assert r.returncode == 4 and len(r.stderr.strip().splitlines()) <= 2, r.stderr


def test_keys_export_import_between_two_hosts(tmp_path):
    a, b = {"LGMTSC_DATA": str(tmp_path / "a")}, {"LGMTSC_DATA": str(tmp_path / "b")}
    assert "sender id 1" in run_cli("keys", "provision", "--user", "alice", env=a).stdout
    line = run_cli("keys", "export", "--user", "alice", env=a).stdout.strip()
    assert line.startswith("lgmtsc-key 1 alice 1 ")
    (tmp_path / "alice.key").write_text(line + "\n")
    r = run_cli("keys", "import", str(tmp_path / "alice.key"), env=b)
    assert r.returncode == 0 and "imported alice (sender id 1)" in r.stdout
    fingerprints = [run_cli("keys", "list", env=e).stdout for e in (a, b)]
    assert fingerprints[0] == fingerprints[1] and "alice" in fingerprints[0]
    (tmp_path / "bad.key").write_text("lgmtsc-key 1 mallory 2 xyz\n")
    r = run_cli("keys", "import", str(tmp_path / "bad.key"), env=b)
    assert r.returncode == 4 and "not an lgmtsc key line" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("keys", "export", "--user", "bob", env=a)
    assert r.returncode == 4 and "no key for user 'bob'" in r.stderr


def test_report_needs_both_logs(tmp_path):
    r = run_cli("report", str(tmp_path / "tx.jsonl"), str(tmp_path / "rx.jsonl"), "--out", str(tmp_path))
    assert r.returncode == 4 and "no such log" in r.stderr
