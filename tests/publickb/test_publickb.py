"""Public KB: enrollment of real portraits and speech, signatures, bad inputs."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from PIL import Image

from host_pipeline.errors import InputError
from host_pipeline.publickb.config import PublicKbConfig
from host_pipeline.publickb.face import MOUTH_CORNERS
from host_pipeline.publickb.signing import Signer
from host_pipeline.publickb.store import PublicKb


def test_enrolled_portrait_has_face_landmarks_and_voice(obama):
    assert obama.image.shape == (512, 512, 3)
    assert obama.landmarks.shape == (478, 3)
    xy = obama.landmarks[:, :2]
    assert (xy > 0).all() and (xy < 512).all()
    width = np.linalg.norm(xy[MOUTH_CORNERS[1]] - xy[MOUTH_CORNERS[0]])
    assert 40 < width < 160  # a mouth of a face about 210 px high
    assert abs(obama.meta["yaw"]) < 0.15 and abs(obama.meta["roll_deg"]) < 10
    v = obama.voice
    assert len(v.embedding) == 256 and abs(np.linalg.norm(v.embedding) - 1) < 1e-3
    assert 80 < v.f0_median_hz < 150  # CMU ARCTIC aew is a male speaker
    assert 2.0 < v.rate_syllables_s < 7.0
    assert obama.signer.startswith(("ed25519:", "hmac-sha256:"))


@pytest.mark.slow
def test_video_enrollment_picks_a_face_frame(enroller, demo_video):
    p = enroller.enroll("demo", video=demo_video)
    assert p.landmarks.shape == (478, 3) and p.meta["face_height_px"] > 100
    assert p.voice.speech_s > 5


def test_tampered_entry_fails_signature(obama, kb):
    with sqlite3.connect(kb.db_path) as db:
        doc = json.loads(db.execute("SELECT doc FROM profiles WHERE user_id='obama'").fetchone()[0])
        doc["voice"]["f0_median_hz"] = 300.0
        doc["user_id"] = "forged"
        db.execute("INSERT OR REPLACE INTO profiles SELECT 'forged', ?, algorithm, key_id, signature, updated FROM "
                   "profiles WHERE user_id='obama'", (json.dumps(doc),))
    with pytest.raises(InputError, match="signature"):
        kb.get("forged")


def test_a_genuine_profile_copied_to_another_user_is_refused(obama, kb):
    """Alice's signed face and voice must never be shown for messages from Mallory."""
    with sqlite3.connect(kb.db_path) as db:
        db.execute("INSERT OR REPLACE INTO profiles SELECT 'mallory', doc, algorithm, key_id, signature, updated "
                   "FROM profiles WHERE user_id='obama'")
    with pytest.raises(InputError, match="holds the signed profile of 'obama'"):
        kb.get("mallory")


def test_planted_profile_from_another_key_is_refused(obama, kb, tmp_path):
    stranger = Signer(tmp_path / "stranger.key")
    planted = type(obama)("planted", obama.image, obama.landmarks, obama.voice, {})
    kb.put(planted, stranger)
    # put() trusts the signer it used, as the enrolling party does; a receiver's trust list does not
    receiver = PublicKb(PublicKbConfig(db_path=str(kb.db_path), trusted_keys_path=str(tmp_path / "trusted.txt")))
    (tmp_path / "trusted.txt").write_text(obama.signer + "\n")
    assert receiver.get("obama").user_id == "obama"
    with pytest.raises(InputError, match="untrusted"):
        receiver.get("planted")


def test_hmac_signature_round_trip(obama, tmp_path):
    cfg = PublicKbConfig(db_path=str(tmp_path / "kb.sqlite"), signature="hmac-sha256")
    kb = PublicKb(cfg)
    kb.put(type(obama)("u", obama.image, obama.landmarks, obama.voice, {}))
    assert kb.get("u").signer.startswith("hmac-sha256:")
    other = PublicKb(PublicKbConfig(db_path=str(tmp_path / "kb.sqlite"), signing_key_path=str(tmp_path / "other.key"),
                                    signature="hmac-sha256"))
    Signer(tmp_path / "other.key", "hmac-sha256")
    with pytest.raises(InputError, match="signature"):
        other.get("u")  # the receiver holds a different secret


def test_altered_face_file_is_detected(obama, kb):
    row = sqlite3.connect(kb.db_path).execute("SELECT doc FROM profiles WHERE user_id='obama'").fetchone()
    sha = json.loads(row[0])["face"]["image_sha256"]
    f = kb.objects / sha[:2] / f"{sha}.png"
    data = f.read_bytes()
    try:
        f.write_bytes(data[:-10] + b"0123456789")
        with pytest.raises(InputError, match="altered"):
            kb.get("obama")
    finally:
        f.write_bytes(data)


def test_unknown_user_names_the_enrolled_ones(obama, kb):
    with pytest.raises(InputError, match="not enrolled") as e:
        kb.get("nobody")
    assert "obama" in e.value.hint


@pytest.fixture(scope="module")
def portrait(real_data):
    return Image.open(real_data / "faces" / "face_recognition_obama.jpg")


def test_no_face_names_the_file(enroller, tmp_path):
    p = tmp_path / "wall.png"
    Image.fromarray((np.random.default_rng(0).random((300, 300, 3)) * 255).astype(np.uint8)).save(p)
    from host_pipeline.publickb.face import load_image

    with pytest.raises(InputError, match="wall.png: no face found"):
        enroller.face_from_image(load_image(p), str(p))


def test_several_faces_take_the_largest_with_a_warning(enroller, real_data):
    from host_pipeline.publickb.face import load_image

    a = load_image(real_data / "faces" / "face_recognition_obama.jpg")
    b = np.asarray(Image.fromarray(load_image(real_data / "faces" / "face_recognition_biden2.jpg")).resize((500, 500)))
    canvas = np.zeros((a.shape[0], a.shape[1] + 500, 3), np.uint8)
    canvas[:, :a.shape[1]] = a
    canvas[:500, a.shape[1]:] = b
    enroller.warnings = []
    crop, lm, meta = enroller.face_from_image(canvas, "two.png")
    assert meta["faces_found"] == 2 and any("largest" in w for w in enroller.warnings)
    assert meta["face_height_px"] > 250  # Obama's face (about 280 px), not the 500-px Biden's (about 180 px)


@pytest.mark.parametrize("kind", ["grey", "rotated", "upside-down", "huge"])
def test_odd_images_still_enroll(enroller, portrait, kind):
    im = {"grey": lambda: portrait.convert("L").convert("RGB"), "rotated": lambda: portrait.rotate(90, expand=True),
          "upside-down": lambda: portrait.rotate(180),
          "huge": lambda: portrait.resize((portrait.width * 4, portrait.height * 4))}[kind]()
    crop, lm, meta = enroller.face_from_image(np.asarray(im), kind)
    assert crop.shape == (512, 512, 3) and lm.shape == (478, 3)
    assert abs(meta["roll_deg"]) < 100 and meta["face_height_px"] > 100
    # the enrolled face is upright (found directly, or after turning the image): eyes above the mouth
    assert lm[[33, 263], 1].mean() < lm[[13, 14], 1].mean()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16"])
def test_image_files_of_any_mode_load_as_rgb(portrait, tmp_path, mode):
    from host_pipeline.publickb.face import load_image

    p = tmp_path / f"face_{mode.replace(';', '')}.png"
    im = portrait.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else portrait.convert(mode)
    im.save(p)
    rgb = load_image(p)
    assert rgb.dtype == np.uint8 and rgb.shape == (portrait.height, portrait.width, 3)
    assert rgb.std() > 20  # not flattened to a blank picture


def test_unreadable_image_and_faceless_video_name_the_file(enroller, tmp_path):
    from host_pipeline.publickb.face import load_image
    from host_pipeline.reconstruct.output import write_mp4
    from host_pipeline.reconstruct.tts import Speech

    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(InputError, match="notes.jpg: not a readable image"):
        load_image(bad)
    noise = (np.random.default_rng(0).random((10, 128, 128, 3)) * 255).astype(np.uint8)
    video = tmp_path / "noise.mp4"
    write_mp4(video, iter(noise), Speech(np.zeros(6400, np.float32), 16000, []), 25)  # 0.4 s = 10 frames
    with pytest.raises(InputError, match="noise.mp4: no face found in any of its frames"):
        enroller.best_video_frame(video)


def test_tiny_image_is_refused(enroller, portrait):
    with pytest.raises(InputError, match="too small"):
        enroller.face_from_image(np.asarray(portrait.resize((60, 75))), "tiny.jpg")


def test_audio_without_speech_is_refused(enroller):
    with pytest.raises(InputError, match="no usable speech"):
        enroller.voices.analyze(np.zeros(48000, np.float32), name="silence.wav")
    with pytest.raises(InputError, match="no usable speech"):
        enroller.voices.analyze(np.random.default_rng(0).normal(0, 0.01, 48000).astype(np.float32), name="hiss.wav")
