"""Fixtures of the live tests: an enrolled user in a private public-KB file and one Reconstructor for the session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def live_kb(tmp_path_factory, real_data):
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.enroll import Enroller
    from host_pipeline.publickb.store import PublicKb

    kb = PublicKb(PublicKbConfig(db_path=str(tmp_path_factory.mktemp("kb") / "publickb.sqlite")))
    kb.put(Enroller().enroll("speaker", image=real_data / "faces" / "face_recognition_obama.jpg",
                             audio=real_data / "speech" / "cmu_arctic_us_aew_a0001.wav"))
    return kb


@pytest.fixture(scope="session")
def reconstructor(live_kb):
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.pipeline import Reconstructor

    # a configured voice: the matched one is the voice helpers' concern, tested in tests/reconstruct
    return Reconstructor(ReconstructConfig(voice="af_heart"), kb=live_kb)
