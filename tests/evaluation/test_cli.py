"""``lgmtsc eval compression|downstream``: real rows on a real clip, and one-line errors on bad input."""

from __future__ import annotations

import csv
import subprocess

import pytest

from tests.conftest import run_cli


def _one_error_line(res) -> str:
    errors = [l for l in res.stderr.splitlines() if l.startswith("lgmtsc: error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    return errors[0]


def test_unknown_dataset_exits_4_with_one_line():
    res = run_cli("eval", "downstream", "--dataset", "mnist", timeout=120)
    assert res.returncode == 4 and "unknown dataset" in _one_error_line(res)


def test_missing_video_exits_4_with_one_line(tmp_path):
    res = run_cli("eval", "compression", str(tmp_path / "nope.mp4"), "--out", str(tmp_path), timeout=120)
    assert res.returncode == 4 and "video not found" in _one_error_line(res)


def test_compression_rows_are_present_and_ordered(demo_video, tmp_path):
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(demo_video), "-t", "3.88", "-c", "copy", str(clip)],
                   check=True)
    res = run_cli("eval", "compression", str(clip), "--transcript", "Author of the danger trail, Philip Steels, etc.",
                  "--crf", "26,30,34", "--out", str(tmp_path / "out"), timeout=600)
    assert res.returncode == 0, res.stderr
    table = list(csv.DictReader(open(tmp_path / "out" / "compression.csv")))
    rows = {r["scheme"]: float(r["bit_per_s"]) for r in table}
    uses = {r["scheme"]: float(r["channel_uses_per_s"]) for r in table if r["channel_uses_per_s"]}
    assert (tmp_path / "out" / "compression.png").stat().st_size > 10000
    h264 = [rows[f"H.264 CRF {c} + AAC 16k"] for c in (26, 30, 34)]
    assert rows["raw (RGB24 + PCM16)"] > h264[0] > h264[1] > h264[2]  # higher CRF, fewer bits
    av1 = next(v for k, v in rows.items() if k.startswith("AV1"))
    codec2 = rows["Codec2 700C speech only"]
    text = rows["Txt2Vid-style UTF-8 transcript"]
    assert min(h264 + [av1]) > codec2 > text
    assert 700 <= codec2 < 900  # 700C: 28-bit frames every 40 ms, stored in 4 bytes
    assert rows["Codec2 700C + one JPEG still"] > codec2
    assert 60 < text < 120  # 47 characters over 3.88 s
    semantic = [v for k, v in rows.items() if k.startswith("this system, semantic")]
    assert len(semantic) == 6 and all(v < min(h264) / 100 for v in semantic)
    for scheme in ("this system, semantic u16", "this system, digital QPSK+cc"):
        # the short burst format (a good link) carries the same information bits in fewer channel uses
        assert rows[f"{scheme}, short burst format (all-in)"] == rows[f"{scheme} (all-in)"]
        assert uses[f"{scheme}, short burst format (all-in)"] < uses[f"{scheme} (all-in)"] - 40
    assert rows["this system, semantic u8 (payload only)"] < rows["this system, semantic u16 (payload only)"]
    assert rows["this system, digital QPSK+cc (all-in)"] > rows["this system, digital QPSK+cc (payload only)"]
    # like for like on the same PHY: the text coder's bytes are fewer than UTF-8's, the header is the same
    utf8_phy, digital = (rows[f"{s} (payload only)"] for s in ("Txt2Vid-style UTF-8 over this PHY, QPSK+cc",
                                                             "this system, digital QPSK+cc"))
    # information bits: the UTF-8 bytes themselves (no CRC: the message tag checks them), more than the text coder's
    assert utf8_phy == pytest.approx(text, abs=0.02) and digital < utf8_phy
    assert rows["Codec 2 450 speech only (nominal rate)"] == pytest.approx(450, rel=0.01)
    assert (rows["Txt2Vid-style UTF-8 over this PHY, QPSK+cc (all-in)"] - utf8_phy
            == pytest.approx(rows["this system, digital QPSK+cc (all-in)"] - digital, abs=0.02))  # 2-decimal rows
