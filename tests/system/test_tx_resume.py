"""A restarted transmitter resumes after what it already sent, without transcribing that part again."""

from __future__ import annotations

import pytest

from .test_link_hosts import _cfg


@pytest.mark.slow
def test_resume_yields_the_same_later_utterances_with_file_times(tmp_path, demo_video):
    from host_pipeline.system.tx import Transmitter

    tx = Transmitter(_cfg(tmp_path), "alice", use_kb=False, progress=lambda m: None)
    full = [seg for seg, _, _ in tx._segments(str(demo_video), realtime=False)]
    assert len(full) == 3
    resume = full[0].end
    later = [seg for seg, _, _ in tx._segments(str(demo_video), realtime=False, start_after_s=resume)]
    assert [s.text for s in later] == [s.text for s in full[1:]]  # the first utterance is not heard again
    assert all(abs(a.start - b.start) < 0.1 and abs(a.end - b.end) < 0.1 for a, b in zip(later, full[1:]))
