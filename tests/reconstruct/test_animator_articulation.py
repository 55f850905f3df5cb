"""The embedded animator articulates: closure on p/b/m, open vowels, coarticulation, continuation across chunks,
a neutral mouth from a smile, the picture's framing without streaks, and clear handling of bad enrollment faces."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.errors import InputError
from host_pipeline.reconstruct.animator import EmbeddedAnimator, check_enrollment_face
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.phonemes import PhonemeTiming, viseme
from host_pipeline.reconstruct.tts import Speech
from host_pipeline.reconstruct.visemes import PARAMS, tracks


def _timings(spec: list[tuple[str, float]]) -> list[PhonemeTiming]:
    out, t = [], 0.3
    for sym, d in spec:
        out.append(PhonemeTiming(sym, t, t + d, *viseme(sym)))
        t += d
    return out


def _speech(spec, tail=0.4) -> Speech:
    tim = _timings(spec)
    dur = tim[-1].end + tail
    sr = 16000
    t = np.arange(int(dur * sr)) / sr
    env = np.zeros_like(t)
    for p in tim:  # voiced where a vowel is
        if p.opening >= 0.4:
            env[(t >= p.start) & (t < p.end)] = 0.3
    return Speech((env * np.sin(2 * np.pi * 140 * t)).astype(np.float32), sr, tim, "")


def test_tracks_close_on_bilabials_and_anticipate():
    spec = [("a", 0.15), ("b", 0.07), ("a", 0.15), ("u", 0.2)]
    tim = _timings(spec)
    t = np.arange(0, 1.2, 0.01)
    tr = tracks(tim, 1.2, t)
    b = tim[1]
    at_b = np.argmin(np.abs(t - 0.5 * (b.start + b.end)))
    at_a = np.argmin(np.abs(t - 0.5 * (tim[0].start + tim[0].end)))
    assert tr["closure"][at_b] == pytest.approx(1.0) and tr["gap"][at_b] == pytest.approx(0.0)
    assert tr["gap"][at_a] > 0.35
    # anticipation: the rounding of /u/ starts before /u/ does, and rises smoothly
    u0 = np.argmin(np.abs(t - tim[3].start))
    assert 0.2 < tr["round"][u0 - 5] < tr["round"][u0] < tr["round"][u0 + 10]
    assert np.abs(np.diff(tr["round"])).max() < 0.2
    assert set(tr) == set(PARAMS)


def test_lead_moves_the_articulation_earlier_and_the_animator_reads_it_from_its_configuration():
    """``articulation_lead_s``: every target is reached that long before its sound; the bilabial still shuts at
    its sound's centre whatever the lead."""
    tim = _timings([("a", 0.2), ("m", 0.1), ("a", 0.2)])
    t = np.arange(0, 1.2, 0.005)
    late, early = tracks(tim, 1.2, t, lead_s=0.0), tracks(tim, 1.2, t, lead_s=0.05)

    def first_shut(tr):  # the first time the closure passes 0.5
        return t[np.argmax(tr["closure"] > 0.5)]

    assert first_shut(late) - first_shut(early) == pytest.approx(0.05, abs=0.006)
    centre = np.argmin(np.abs(t - 0.5 * (tim[1].start + tim[1].end)))
    assert late["closure"][centre] == pytest.approx(1.0) and early["closure"][centre] == pytest.approx(1.0)


def test_animator_takes_its_lead_from_the_configuration(obama):
    speech = _speech([("a", 0.2), ("m", 0.1), ("a", 0.2)])
    closure = {}
    for lead in (0.0, 0.08):
        an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0, articulation_lead_s=lead))
        closure[lead] = an.drive(an.rig(obama), speech, 25)["tracks"]["closure"]
    t = (np.arange(25) + 0.5) / 25
    first = {k: t[np.argmax(v > 0.5)] for k, v in closure.items()}
    assert first[0.0] - first[0.08] >= 0.04  # 80 ms more lead: shut two frames (at least) earlier


def test_lips_part_as_a_lens_and_the_corners_show_no_teeth(obama):
    """The opening is widest in the middle and narrows towards the corners (not a slot of even height), and
    teeth are drawn in the middle of the mouth only."""
    from host_pipeline.publickb import face as F
    from host_pipeline.reconstruct import mouth

    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    rig = an.rig(obama)
    q = rig.mesh.vertices(np.array([0.5, 0.6, 0, 0, 0, 0, 0.0]), np.zeros(3))
    up, low = q[F.LIPS_INNER_UP], q[F.LIPS_INNER_LOW]
    x0, x1 = up[:, 0].min(), up[:, 0].max()

    def opening(x):
        return (np.interp(x, *zip(*sorted(zip(low[:, 0], low[:, 1])))) -
                np.interp(x, *zip(*sorted(zip(up[:, 0], up[:, 1])))))

    middle, near_corner = opening(0.5 * (x0 + x1)), opening(x0 + 0.12 * (x1 - x0))
    assert near_corner < 0.85 * middle, (near_corner, middle)  # the slot of commit cfa5804: 0.99

    # synthetic teeth in an open lens-shaped mouth on a grey picture: bright in the middle, none at the corners
    img = np.full((120, 200, 3), 128, np.uint8)
    xs = np.linspace(40, 160, 25)
    half = 30 * np.sqrt(np.clip(1 - ((xs - 100) / 60) ** 2, 0, 1))
    teeth = mouth.synthetic_teeth(120)
    mouth.paint(img, np.stack([xs, 60 - half], 1), np.stack([xs, 60 + half], 1)[1:-1], teeth, 120.0, 0.6, 0.0, 0.0)
    luma = img.astype(float) @ [0.299, 0.587, 0.114]
    assert luma[36:44, 95:105].mean() > 150  # the upper teeth under the upper lip in the middle
    corners = np.r_[luma[50:70, 44:54].ravel(), luma[50:70, 146:156].ravel()]
    assert corners.max() < 100  # the cavity's shade, no tooth


def test_chunk_continues_from_the_previous_state():
    a = _timings([("a", 0.2)])
    tr = tracks(a, 0.5, np.array([0.4, 0.45]))
    from host_pipeline.reconstruct.visemes import ArticulationState

    state = ArticulationState(np.array([tr[k][0] for k in PARAMS]), 3.0)
    nxt = tracks(_timings([("m", 0.1)]), 0.5, np.array([0.0, 0.01, 0.4]), start=state)
    fresh = tracks(_timings([("m", 0.1)]), 0.5, np.array([0.0, 0.01, 0.4]))
    assert nxt["jaw"][0] > fresh["jaw"][0] + 0.2  # still open where the previous chunk left the jaw
    assert nxt["jaw"][2] == pytest.approx(fresh["jaw"][2], abs=0.02)  # and free of it later


def test_rendered_mouth_opens_on_vowels_and_shuts_on_bilabials(obama):
    """Measured on the rendered frames with the face mesh (the same measure as ``lgmtsc eval gsr``)."""
    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.reconstruct import metrics as M

    sp = _speech([("a", 0.2), ("m", 0.12), ("a", 0.2), ("p", 0.12), ("ɑ", 0.24), ("b", 0.12), ("æ", 0.2)])
    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    frames = list(an.render(obama, sp))
    op = M.mouth_openings(frames, FaceAnalyzer(max_faces=1))
    ratio, n = M.closure_ratio(op, sp.phoneme_timings, 25)
    assert n == 3 and ratio <= 0.25, (ratio, op.round(2))
    assert M.articulation_spread(op) > 0.2
    assert an.state is not None and an.state.time_s == pytest.approx(len(frames) / 25)
    # continuing with the next chunk starts where this one ended: no jump between the last and first frame
    nxt = next(an.render(obama, _speech([("a", 0.2)], tail=0.1), start=an.state))
    jump = np.abs(nxt.astype(int) - frames[-1].astype(int)).mean()
    assert jump < 3, jump


def test_smiling_picture_speaks_from_a_neutral_closed_mouth(obama):
    from host_pipeline.publickb import face as F

    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    m = an.rig(obama).mesh
    assert m.smile > 0.05  # Obama's portrait smiles with his teeth showing
    rest = m.src_pos + m.rest
    w_src = np.linalg.norm(m.src_pos[F.MOUTH_CORNERS[1]] - m.src_pos[F.MOUTH_CORNERS[0]])
    w_rest = np.linalg.norm(rest[F.MOUTH_CORNERS[1]] - rest[F.MOUTH_CORNERS[0]])
    assert w_rest < 0.93 * w_src
    gap = lambda p: float(np.linalg.norm(p[14] - p[13]))  # noqa: E731
    assert gap(m.src_pos) > 8 and gap(rest) < 1.0
    assert an.rig(obama).teeth.from_picture  # his own teeth fill the mouth when it opens


def test_framing_is_the_picture_without_streaks(enroller, real_data):
    """A GRID frame (360x288) is enrolled at its full height; the frames keep that framing, with no border
    repeated; the streak measure itself catches a replicated border."""
    import av
    import cv2

    from host_pipeline.publickb.store import Profile
    from host_pipeline.reconstruct.metrics import border_streaks

    with av.open(str(real_data / "video" / "grid" / "bbaf2n.mpg")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    P, lm, _ = enroller.face_from_image(first, "bbaf2n")
    assert border_streaks(P) == 0
    # the 288-px height is the crop's side: the picture's bottom rows (shoulders) are in P, scaled by 512/288
    assert np.abs(cv2.resize(P, (288, 288), interpolation=cv2.INTER_AREA).astype(int)[-3:].mean(0)
                  - first[-3:, 36:324].astype(int).mean(0)).mean() < 25
    an = EmbeddedAnimator()
    frames = list(an.render(Profile("g", P, lm, None), _speech([("a", 0.2), ("b", 0.1), ("i", 0.2)])))
    assert max(border_streaks(f) for f in frames) == 0
    replicated = cv2.copyMakeBorder(first[:230], 0, 58, 0, 0, cv2.BORDER_REPLICATE)
    assert border_streaks(replicated) >= 50


def test_bad_enrollment_faces_are_named(obama):
    lm = obama.landmarks.copy()
    side = obama.image.shape[0]
    assert check_enrollment_face(lm, side) and any("mouth is open" in n for n in check_enrollment_face(lm, side))
    small = lm.copy()
    small[:, :2] = small[:, :2] * 0.08
    with pytest.raises(InputError, match="too small"):
        check_enrollment_face(small, side)
    turned = lm.copy()
    eye_d = np.linalg.norm(lm[263, :2] - lm[33, :2])
    turned[[1, 2, 4, 5, 19, 94], 0] += 0.5 * eye_d  # the nose far off the eyes' middle: a profile view
    with pytest.raises(InputError, match="turned too far"):
        check_enrollment_face(turned, side)
    shut = lm.copy()
    for up, low in (((159, 158, 160), (145, 153, 144)), ((386, 385, 387), (374, 380, 373))):
        shut[list(up), :2] = shut[list(low), :2]
    notes = check_enrollment_face(shut, side)
    assert any("eyes are closed" in n for n in notes)
    an = EmbeddedAnimator()
    from host_pipeline.publickb.store import Profile

    an.rig(Profile("closed", obama.image, shut, None))
    p = an.drive(an.rig(Profile("closed", obama.image, shut, None)), _speech([("a", 3.0)]), 80)
    assert np.all(p["c"][:, 5] == 0)  # documented fallback: no blinks on closed eyes


def test_open_mouth_enrollment_frame_speaks_from_shut_lips(enroller, real_data):
    """A real GRID first frame with the mouth open (lbbc2a: teeth showing) is noted and closed for the rest pose;
    the face mesh reads the shut lips as shut (the lips' shadowed inner margins are filled, no dark seam), so the
    bilabials can close."""
    import av

    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.publickb.store import Profile
    from host_pipeline.reconstruct.face_mesh_warp import BASES

    with av.open(str(real_data / "video" / "grid" / "lbbc2a.mpg")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    P, lm, _ = enroller.face_from_image(first, "lbbc2a")
    mesh = FaceAnalyzer(max_faces=1)
    assert mesh.largest(P).mouth_opening() > 0.1  # the picture's mouth is open
    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    rig = an.rig(Profile("lbbc2a", P, lm, None))
    assert any("mouth is open" in n for n in an.notes)
    rest = an.frame(rig, np.zeros(len(BASES)), np.zeros(3))
    assert mesh.largest(rest).mouth_opening() < 0.04
    c = np.zeros(len(BASES))
    c[BASES.index("jaw")] = c[BASES.index("gap")] = 0.6
    assert mesh.largest(an.frame(rig, c, np.zeros(3), jaw=0.6)).mouth_opening() > 0.2
