"""report.html: frames picked at the right time and size, texts escaped and diffed, refused utterances shown as
not rendered, and missing media giving placeholders instead of exceptions. Fast: no models."""

from __future__ import annotations

import re
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from host_pipeline.errors import InputError
from host_pipeline.system.report_html import extract_frame, latency_bar, word_diff, write_html

FPS, N_FRAMES, W, H = 10, 30, 64, 48


def _grey_of(i: int) -> int:
    return 8 * i  # frame i (at i / FPS seconds) is uniform grey 8*i, so a frame's brightness tells its time


@pytest.fixture(scope="module")
def ramp_video(tmp_path_factory) -> Path:
    """A real 3 s mp4 (MPEG-4 part 2, 10 fps, 64x48) whose frame i is uniform grey 8*i."""
    import av

    path = tmp_path_factory.mktemp("media") / "ramp.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.gop_size = 8
        s.codec_context.options = {"qscale": "2", "sc_threshold": "1000000000"}  # key frames only every 8
        for i in range(N_FRAMES):
            rgb = np.full((H, W, 3), _grey_of(i), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def _grey(jpg: Path) -> float:
    return float(np.asarray(Image.open(jpg).convert("L"), np.float32).mean())


@pytest.mark.parametrize("t_s, frame_index", [(0.0, 0), (1.52, 15), (1.56, 16), (2.04, 20), (50.0, N_FRAMES - 1)])
def test_extract_frame_takes_the_nearest_frame(ramp_video, tmp_path, t_s, frame_index):
    jpg = extract_frame(ramp_video, t_s, tmp_path / "f.jpg", size=32)
    assert Image.open(jpg).size == (32, 24)  # longer side = size, aspect kept
    assert abs(_grey(jpg) - _grey_of(frame_index)) < 3.5


def test_extract_frame_midpoint_and_jpeg_without_pillow(ramp_video, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import Image` now fails: PyAV's MJPEG encoder saves
    jpg = extract_frame(ramp_video, None, tmp_path / "mid.jpg", size=40)
    monkeypatch.undo()
    with Image.open(jpg) as im:
        assert im.format == "JPEG" and im.size == (40, 30)
    assert abs(_grey(jpg) - _grey_of(N_FRAMES // 2)) < 3.5


def test_extract_frame_bad_inputs_are_input_errors(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    silent = tmp_path / "tone.wav"
    import av

    with av.open(str(silent), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        c.mux(s.encode(frame))
        c.mux(s.encode(None))
    for bad, words in ((tmp_path / "none.mp4", "no such file"), (fake, "not a readable video"),
                       (silent, "no video track")):
        with pytest.raises(InputError, match=words):
            extract_frame(bad, 1.0, tmp_path / "x.jpg")
        assert not (tmp_path / "x.jpg").exists()


def test_word_diff_marks_changed_words_and_escapes():
    assert word_diff("the cat sat", "The cat sat.") == "The cat sat."  # case and punctuation do not count
    assert word_diff("the cat sat down", "the bat sat") == "the <del>cat</del> <ins>bat</ins> sat <del>down</del>"
    assert word_diff("a b", "a <b>") == "a &lt;b&gt;"  # same word once the markup characters are ignored
    assert word_diff("x", "x <i>y</i>") == "x <ins>&lt;i&gt;y&lt;/i&gt;</ins>"
    assert "(none)" in word_diff("x", None)


def test_latency_bar_widths_are_proportional():
    bar = latency_bar({"asr_s": 0.5, "encode_s": 1.0, "link_s": 0.0, "e2e_first_frame_s": 3.0}, 2.0,
                      ["asr_s", "encode_s"])
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", bar)]
    assert widths == [25.0, 50.0]  # zero stages and end-to-end totals are not segments
    assert "e2e_first_frame" in bar and "3.000 s" in bar


def _report(clip_rel: str | None) -> dict:
    base = dict(sender_id=7, prompt_class="high", feedback_snr_db=14.5, n_tokens=9, channel_uses=40,
                payload_bits=80, header_bits=48, tag_bits=64, snr_db=15.2)
    return {
        "version": 1,
        "run": {"input": "samples/demo/talking_face_demo.mp4", "channel": "awgn", "esn0_db": 15.0,
                "mode": "semantic", "kb": True, "user": "<b>mallory</b>", "seed": 1,
                "started_at": "2026-11-25T03:00:00Z", "duration_s": 41.2},
        "utterances": [
            {**base, "seq": 1, "start_s": 1.0, "end_s": 3.0,
             "transcript": "please open <script>alert('x')</script> & the door",
             "sent_text": "please open the door", "status": "ok",
             "auth": {"verified": True, "candidates_tried": 1}, "received_text": "please opan the door",
             "restored_text": "please open the door", "similarity": 0.97, "video": clip_rel,
             "latency_s": {"asr_s": 0.4, "encode_s": 0.1, "link_s": 0.2, "render_s": 1.3,
                           "e2e_first_frame_s": 2.4}},
            {**base, "seq": 2, "start_s": 4.0, "end_s": 6.0, "transcript": "transfer the money",
             "sent_text": "transfer the money", "status": "unverified",
             "auth": {"verified": False, "candidates_tried": 16}, "received_text": "transfer all money",
             "restored_text": None, "similarity": None, "video": None, "latency_s": {"asr_s": 0.3}},
            {**base, "seq": 3, "start_s": 7.0, "end_s": 8.5, "transcript": "see you soon",
             "sent_text": "see you soon", "status": "ok", "auth": {"verified": True, "candidates_tried": 1},
             "received_text": "see you soon", "restored_text": "see you soon", "similarity": 1.0,
             "video": "clips/utt_0003.mp4", "latency_s": {}},
        ],
        "summary": {"utterances": 3, "received": 3, "verified": 2, "mean_similarity": 0.985,
                    "mean_snr_db": 15.2, "bitrate_bps": 123.4, "channel_uses_per_s": 9.3},
        "events": [{"t": 12.5, "source": "rx", "message": "refused seq 2: tag <mismatch> for sender 7"}],
        "video": "video.mp4",
    }


def _section(page: str, seq: int) -> str:
    start = page.index(f'id="utt-{seq}"')
    end = page.find('id="utt-', start + 1)
    return page[start:end if end > 0 else len(page)]


def test_report_page(ramp_video, demo_video, tmp_path):
    out = tmp_path / "run"
    (out / "clips").mkdir(parents=True)
    shutil.copy(ramp_video, out / "clips" / "utt_0001.mp4")
    shutil.copy(ramp_video, out / "video.mp4")
    path = write_html(_report("clips/utt_0001.mp4"), out, str(demo_video))
    assert path == out / "report.html"
    page = path.read_text(encoding="utf-8")

    # all text escaped: the injected script is shown as text, and the page holds no script at all
    assert "<script" not in page.lower()
    assert "please open &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; the door" in page
    assert "&lt;b&gt;mallory&lt;/b&gt;" in page and "tag &lt;mismatch&gt; for sender 7" in page
    assert "<del>opan</del>" not in page and "<del>open</del> <ins>opan</ins>" in _section(page, 1)

    # utterance 1: both frames, original from the input at the midpoint (2.0 s), reconstructed from the clip
    orig, recon = out / "frames" / "orig_1.jpg", out / "frames" / "recon_1.jpg"
    assert Image.open(orig).size == (256, 256) and Image.open(recon).size == (256, 192)
    assert abs(_grey(recon) - _grey_of(N_FRAMES // 2)) < 3.5
    reference = extract_frame(demo_video, 2.0, tmp_path / "ref.jpg")
    assert np.abs(np.asarray(Image.open(orig), float) - np.asarray(Image.open(reference), float)).mean() < 1
    s1 = _section(page, 1)
    assert 'src="frames/orig_1.jpg"' in s1 and 'src="frames/recon_1.jpg"' in s1 and "not rendered" not in s1

    # utterance 2 was refused: an original frame, no reconstruction, and the reason
    s2 = _section(page, 2)
    assert (out / "frames" / "orig_2.jpg").exists() and not (out / "frames" / "recon_2.jpg").exists()
    assert "recon_2" not in page and "not rendered" in s2 and "did not verify" in s2 and "unverified" in s2

    # utterance 3 says it was rendered but its clip is gone: a placeholder naming it
    s3 = _section(page, 3)
    assert not (out / "frames" / "recon_3.jpg").exists() and "clip missing: clips/utt_0003.mp4" in s3

    assert '<video controls preload="metadata" src="video.mp4">' in page
    assert "123.4 bit/s" in page and "2 verified" in page and "<td>0.985</td>" in page

    # every reference is relative and resolves after the folder is moved
    moved = shutil.move(str(out), str(tmp_path / "elsewhere"))
    refs = re.findall(r'(?:src|href)="([^"]+)"', Path(moved, "report.html").read_text(encoding="utf-8"))
    assert len(refs) == 6 and all(not r.startswith(("/", "http")) and (Path(moved) / r).is_file() for r in refs)


def test_missing_input_video_gives_placeholders(ramp_video, tmp_path):
    out = tmp_path / "run"
    (out / "clips").mkdir(parents=True)
    shutil.copy(ramp_video, out / "clips" / "utt_0001.mp4")
    stale = out / "frames" / "orig_1.jpg"  # from an earlier run: must not be shown again
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    report = _report("clips/utt_0001.mp4")
    page = write_html(report, out, str(tmp_path / "gone.mp4")).read_text(encoding="utf-8")
    assert "gone.mp4: no such file" in page and not stale.exists() and "orig_" not in page
    assert (out / "frames" / "recon_1.jpg").exists()
    assert "joined video missing: video.mp4" in page

    page = write_html({**report, "video": None}, out, None).read_text(encoding="utf-8")
    assert "no input video was given" in page and "no joined video" in page

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    page = write_html(report, out, str(broken)).read_text(encoding="utf-8")
    assert "not a readable video file" in page or "no video" in page
