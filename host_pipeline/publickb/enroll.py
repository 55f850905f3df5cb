"""Enrollment: the best frontal, sharp face frame of a video (or an image), the vocal features of the speech, and
the TTS voice matched to that speech (stored in the signed profile, so receivers speak it without matching)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from .config import PublicKbConfig
from .face import Face, FaceAnalyzer, aligned_crop, load_image, sharpness
from .store import Profile
from .voice import VoiceAnalyzer

log = logging.getLogger(__name__)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # undecodable bytes of a file name or argument (surrogate escapes)
        return False


def _printable(name: str) -> str:
    """A file name as signable text (undecodable bytes replaced)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
PROFILE_SIZE = 512  # side of the stored face image P
MIN_FACE_PX = 40  # smaller faces carry too little detail to animate


class Enroller:
    """Builds a :class:`Profile` from media. Models (face mesh, speaker encoder, TTS) are loaded once.

    ``match_voice``: search the Kokoro voice most like the enrolled speech (a minute or two on 2 cores, progress
    shown) and store it in the profile; ``tts_cfg`` gives the language and the matching limits.
    """

    def __init__(self, cfg: PublicKbConfig | None = None, match_voice: bool = False, tts_cfg=None):
        self.cfg = cfg or PublicKbConfig()
        self.faces = FaceAnalyzer(max_faces=5)
        self.voices = VoiceAnalyzer()
        self.warnings: list[str] = []
        self.match_voice = match_voice
        self.tts_cfg = tts_cfg
        self._matcher = None

    @property
    def matcher(self):
        if self._matcher is None:
            from ..reconstruct.config import ReconstructConfig
            from ..reconstruct.tts import KokoroTts
            from ..reconstruct.voicematch import VoiceMatcher

            cfg = self.tts_cfg or ReconstructConfig()
            self._matcher = VoiceMatcher(KokoroTts(cfg), self.voices, cfg)
        return self._matcher

    def other_voices(self, user_id: str) -> np.ndarray | None:
        """Real-voice embeddings (``voice.embedding``) of the other users already in this public KB, verified; the
        voice match keeps away from them (``reconstruct.voice_match_discriminate``). None when there are none."""
        from .store import PublicKb, default_paths

        if not default_paths(self.cfg)[0].exists():
            return None
        kb = PublicKb(self.cfg)
        found = []
        try:
            for u in kb.users():
                if u == user_id:
                    continue
                try:
                    found.append(kb.get(u).voice.vector)
                except InputError as e:  # unverifiable profiles are not trusted to steer the match
                    log.warning("voice match: %s is left out (%s)", u, e.message)
        finally:
            kb.close()
        return np.stack(found) if found else None

    def _warn(self, msg: str) -> None:
        log.warning(msg)
        self.warnings.append(msg)

    @staticmethod
    def frame_score(rgb: np.ndarray, face: Face) -> float:
        """Sharpness of the face region times a frontal-pose factor."""
        x0, y0, x1, y1 = (int(v) for v in face.box)
        h, w = rgb.shape[:2]
        region = rgb[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
        if region.size == 0:
            return 0.0
        grey = region.mean(2)
        scale = 128.0 / max(1, region.shape[0])  # compare sharpness at a common scale
        step = max(1, int(round(1 / scale))) if scale < 1 else 1
        yaw, pitch = face.yaw_pitch()
        frontal = np.exp(-(yaw**2 + pitch**2) / (2 * 0.08**2))
        return float(sharpness(grey[::step, ::step]) * frontal)

    def _faces_any_rotation(self, rgb: np.ndarray, name: str) -> tuple[np.ndarray, list[Face]]:
        for k in range(4):
            img = np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb
            faces = self.faces.faces(img)
            if faces:
                if k:
                    self._warn(f"{name}: the face was found after rotating the image by {90 * k} degrees")
                return img, faces
        return rgb, []

    def face_from_image(self, rgb: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, dict]:
        """(P, landmarks, meta) from one image; InputError naming ``name`` when no usable face is found."""
        if rgb.ndim != 3 or min(rgb.shape[:2]) < 32:
            raise InputError(f"{name}: the image is too small ({rgb.shape[1]}x{rgb.shape[0]} px) to hold a face")
        rgb, faces = self._faces_any_rotation(rgb, name)
        if not faces:
            raise InputError(f"{name}: no face found", hint="use a well-lit, frontal picture of the user's face")
        if len(faces) > 1:
            self._warn(f"{name}: {len(faces)} faces found; the largest is enrolled")
        face = faces[0]
        if face.height < MIN_FACE_PX:
            raise InputError(f"{name}: the face is too small ({face.height:.0f} px high; at least {MIN_FACE_PX} "
                             "needed)",
                             hint="use a closer or higher-resolution picture")
        if face.height < 150:
            self._warn(f"{name}: the face is only {face.height:.0f} px high; it is upscaled and will look soft")
        crop, m = aligned_crop(rgb, face, PROFILE_SIZE)
        again = self.faces.largest(crop)
        if again is not None:
            lm = again.landmarks
        else:  # map the original landmarks through the crop's affine
            lm = face.landmarks.copy()
            lm[:, :2] = face.landmarks[:, :2] @ m[:, :2].T + m[:, 2]
            lm[:, 2] *= np.sqrt(abs(np.linalg.det(m[:, :2])))
        yaw, pitch = face.yaw_pitch()
        meta = {"face_height_px": round(face.height, 1), "yaw": round(yaw, 3), "pitch": round(pitch, 3),
                "roll_deg": round(face.roll_deg(), 2), "faces_found": len(faces)}
        return crop, lm.astype(np.float32), meta

    def best_video_frame(self, path: str | Path) -> tuple[np.ndarray, float]:
        """The best frontal, sharp face frame of a video and its time (s)."""
        import av

        try:
            c = av.open(str(path))
        except (av.error.FFmpegError, FileNotFoundError) as e:
            raise InputError(f"{path}: not a readable video ({type(e).__name__})") from None
        with c:
            if not c.streams.video:
                raise InputError(f"{path}: has no video track", hint="use --image FILE --audio FILE instead")
            vs = c.streams.video[0]
            total = vs.frames or int((float(c.duration or 0) / 1e6) * float(vs.average_rate or 25))
            stride = max(1, int(np.ceil(max(total, 1) / self.cfg.max_video_frames)))
            best, best_t, best_s = None, 0.0, -1.0
            try:
                for i, frame in enumerate(c.decode(video=0)):
                    if i % stride:
                        continue
                    rgb = frame.to_ndarray(format="rgb24")
                    face = self.faces.largest(rgb)
                    if face is None or face.height < MIN_FACE_PX:
                        continue
                    s = self.frame_score(rgb, face)
                    if s > best_s:
                        best, best_s, best_t = rgb, s, float(frame.time or 0.0)
            except av.error.FFmpegError as e:  # corrupt or cut short: the best face before it, or a clear error
                if best is None:
                    raise InputError(f"{path}: the video is corrupt ({e.__class__.__name__}) before any usable "
                                     "face frame") from None
                log.warning("%s: the video is corrupt after %.1f s; using the best face before that", path, best_t)
        if best is None:
            raise InputError(f"{path}: no face found in any of its frames",
                             hint="the video must show the user's face (frontal, well lit)")
        return best, best_t

    def enroll(self, user_id: str, video: str | Path | None = None, image: str | Path | None = None,
               audio: str | Path | None = None) -> Profile:
        """A profile from ``video`` (face and speech) or ``image`` + ``audio`` (``audio`` may also be a video)."""
        from ..media import read_audio

        if not user_id or any(ch in user_id for ch in "/\\\0") or not _is_utf8(user_id):
            raise InputError(f"bad user id {user_id!r}", hint="use a short name without slashes")
        self.warnings = []
        meta: dict = {}
        if video is not None:
            speech_src = audio or video
            rgb, t = self.best_video_frame(video)
            img_name = f"{video} (frame at {t:.2f} s)"
            meta["source_video"] = _printable(Path(video).name)
            meta["frame_time_s"] = round(t, 3)
        elif image is not None and audio is not None:
            rgb, img_name, speech_src = load_image(image), str(image), audio
            meta["source_image"] = _printable(Path(image).name)
        else:
            raise InputError("enrollment needs --video FILE, or --image FILE and --audio FILE")
        pcm = read_audio(speech_src, max_s=600)
        voice = self.voices.analyze(pcm, min_speech_s=self.cfg.min_speech_s, name=str(speech_src))
        p_img, lm, fmeta = self.face_from_image(rgb, img_name)
        meta.update(fmeta)
        meta["source_audio"] = _printable(Path(speech_src).name)
        tts_voice, style = {}, None
        if self.match_voice:
            log.info("%s: matching the TTS voice to the enrolled speech", user_id)
            others = self.other_voices(user_id) if self.matcher.cfg.voice_match_discriminate > 0 else None
            v, report = self.matcher.match(pcm, voice, others=others)
            tts_voice = {**v.to_dict(), "language": self.matcher.cfg.language, "report": report}
            tts_voice.pop("style_sha256", None)
            style = v.style
            log.info("%s: voice %s (Resemblyzer %.3f on the enrollment speech, %d renders, %.0f s)", user_id,
                     {k: round(w, 2) for k, w in v.weights.items()}, report["similarity_enrollment"],
                     report["renders"], report["seconds"])
        meta["warnings"] = list(self.warnings)
        return Profile(user_id, p_img, lm, voice, meta, tts_voice=tts_voice, tts_style=style)
