"""The live view: served over HTTP, and played in headless Chromium and headless Firefox (frames and audio arrive,
the transcript and a refused message appear)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from host_pipeline.errors import ConfigError
from host_pipeline.system.protocol import JsonlLog, RxRecord
from host_pipeline.system.view import ViewServer, parse_addr

from .marionette import FIREFOX, Firefox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


def test_addresses():
    assert parse_addr(None) == ("127.0.0.1", 8765)
    assert parse_addr("9000") == ("127.0.0.1", 9000)
    assert parse_addr("0.0.0.0:81") == ("0.0.0.0", 81)
    for bad in ("host:port", "127.0.0.1:70000"):
        with pytest.raises(ConfigError):
            parse_addr(bad)


def test_a_busy_address_is_one_clear_error():
    from host_pipeline.errors import BackendError
    from host_pipeline.system.view import check_free

    view = ViewServer("127.0.0.1:0")
    try:
        for make in (lambda: ViewServer(f"127.0.0.1:{view.port}"), lambda: check_free(f"127.0.0.1:{view.port}")):
            with pytest.raises(BackendError, match="cannot serve the live view"):
                make()
    finally:
        view.close()


def test_page_and_event_stream_over_http(tmp_path):
    sent = JsonlLog(tmp_path / "tx.jsonl")
    sent.write("sent", {"sender_id": 3, "seq": 7, "sent_text": "the two men shook hands", "transcript": "x",
                        "t_speech_end": 100.0, "t_sent": 101.5, "latency_s": {"asr_s": 1.0}})
    view = ViewServer("127.0.0.1:0", sent_log=tmp_path / "tx.jsonl")
    try:
        page = urllib.request.urlopen(view.url, timeout=5).read().decode()
        assert "live view" in page and "view.js" in page
        assert b"EventSource" in urllib.request.urlopen(view.url + "view.js", timeout=5).read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(view.url + "nothing", timeout=5)
        events = urllib.request.urlopen(view.url + "events", timeout=5)
        assert events.readline() == b"event: hello\n"
        hello = json.loads(events.readline().decode().removeprefix("data: "))
        assert hello["messages"] == [] and hello["fps"] == 25
        rec = RxRecord(7, 3, "speaker", "ok", verified=True, received_text="the two men shook bands",
                       restored_text="the two men shook bands", snr_db=4.5, prompt_class="low", t_arrived=102.0,
                       t_first_frame=103.25, latency_s={"decode_s": 0.1})
        view.message(rec, "done")
        events.readline()
        assert events.readline() == b"event: message\n"
        m = json.loads(events.readline().decode().removeprefix("data: "))
        assert m["sent_text"] == "the two men shook hands" and "<ins>bands</ins>" in m["received_diff"]
        assert m["snr_db"] == 4.5 and m["prompt_class"] == "low" and m["status"] == "ok"
        assert m["latency_s"] == {"asr_s": 1.0, "link_s": 0.5, "decode_s": 0.1, "e2e_first_frame_s": 3.25}
        events.close()
    finally:
        view.close()
        sent.close()


TEXT = "For the twentieth time that evening, the two men shook hands."


def _play(view: ViewServer, reconstructor) -> tuple[int, int]:
    """An authentic message streamed phrase by phrase into the view, then a forged one; (frames, phrases)."""
    rec = RxRecord(1, 5, "speaker", "ok", verified=True, received_text=TEXT, restored_text=TEXT,
                   snr_db=11.8, prompt_class="high")
    view.message(rec, "decoded")
    n = phrases = 0
    for ph in reconstructor.stream("speaker", TEXT):
        view.phrase("5_1", ph.index, n, ph)
        phrases += 1
        for f in ph.frames:
            view.frame("5_1", n, f)
            n += 1
    view.end("5_1", n)
    view.message(rec, "done")
    forged = RxRecord(2, 5, "speaker", "unverified", reason="the tag did not verify: forged",
                      received_text="send the money", restored_text="send the money", snr_db=12.0,
                      prompt_class="high")
    view.message(forged, "done")
    return n, phrases


def _check_page(stats: dict, body: str, refused: str, n: int, phrases: int, fps: int, shot: Path,
                sound: bool = True) -> None:
    assert stats["frames_received"] == n and stats["frames_shown"] == n and stats["phrases_received"] == phrases >= 2
    if sound:
        assert stats["audio_clock"] and stats["audio_seconds"] == pytest.approx(n / fps, abs=0.05)
    else:  # no sound device: the frames play on the page's own clock, no audio is decoded
        assert not stats["audio_clock"] and stats["audio_decoded"] == 0
    assert not stats["errors"], stats["errors"]
    assert "the two men shook hands" in body and "11.8 dB" in body and "high" in body
    assert "unverified" in refused and "forged" in refused
    assert shot.stat().st_size > 10_000  # kept in pytest's temporary directory, to look at


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make setup adds it)")
def test_headless_chromium_plays_frames_and_sound_and_shows_the_texts(reconstructor, tmp_path):
    from playwright.sync_api import sync_playwright

    view = ViewServer("127.0.0.1:0", fps=reconstructor.cfg.fps)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(view.url)
            page.wait_for_function("document.getElementById('status').textContent === 'connected'", timeout=10000)
            n, phrases = _play(view, reconstructor)
            page.wait_for_function(f"window.lgmtscView.frames_shown >= {n}", timeout=60000)
            page.wait_for_function(f"window.lgmtscView.audio_decoded >= {phrases}", timeout=20000)
            stats = page.evaluate("window.lgmtscView")
            shot = tmp_path / "live_view.png"
            page.screenshot(path=str(shot))
            body = page.inner_text("body")
            refused = page.inner_text("#refused")
            browser.close()
    finally:
        view.close()
    _check_page(stats, body, refused, n, phrases, reconstructor.cfg.fps, shot)


@pytest.mark.skipif(FIREFOX is None, reason="Firefox is not installed (make setup adds firefox-esr)")
def test_headless_firefox_plays_the_frames_and_shows_the_texts(reconstructor, tmp_path):
    """Headless Firefox has no sound device here (no sound server): its AudioContext stays suspended, so the page
    shows the "enable sound" button and plays the frames on its own clock, the fallback this test checks. Sound on
    the audio clock is checked in Chromium, whose headless mode has a fake audio output."""
    view = ViewServer("127.0.0.1:0", fps=reconstructor.cfg.fps)
    browser = None
    try:
        browser = Firefox()
        browser.goto(view.url)
        browser.wait_for("document.getElementById('status').textContent === 'connected'", 10)
        n, phrases = _play(view, reconstructor)
        browser.wait_for(f"window.lgmtscView.frames_shown >= {n}", 60)
        sound_offered = browser.execute("return !document.getElementById('enable').hidden;")
        stats = browser.execute("return window.lgmtscView;")
        shot = tmp_path / "live_view_firefox.png"
        browser.screenshot(shot)
        body = browser.execute("return document.body.innerText;")
        refused = browser.execute("return document.getElementById('refused').innerText;")
    finally:
        if browser is not None:
            browser.close()
        view.close()
    _check_page(stats, body, refused, n, phrases, reconstructor.cfg.fps, shot, sound=False)
    assert sound_offered
