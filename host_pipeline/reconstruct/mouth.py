"""The mouth interior drawn inside the moved inner lips: a shaded oral cavity, teeth, and the tongue.

Teeth come from the picture when it shows them (a smile or a mouth photographed open): the picture's mouth
interior is straightened along its upper and lower inner lip, so each column of the upper-teeth texture starts
at the upper lip and each column of the lower-teeth texture ends at the lower lip. When the picture shows no
teeth, the same textures are synthesised (ivory, with shaded gaps between teeth). Per frame the textures are
laid under the moved lips (the upper teeth hang from the upper lip, the lower teeth ride on the lower lip and
hide behind it while the jaw is nearly shut) in the middle of the mouth only (towards the corners the cheeks'
shadow hides them), over a dark cavity that is darker towards the throat and the corners and takes the lips'
shade at its edge, with the tongue raised towards the teeth for the sounds that show it (th, l).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..publickb import face as F

CAVITY = np.array([62, 22, 26], np.float32)
TONGUE = np.array([172, 84, 90], np.float32)
IVORY = np.array([238, 226, 204], np.float32)
TEETH_SPAN = 0.7  # teeth fade out from 0.4 to this fraction of the half-width from the mouth's middle


@dataclass
class Teeth:
    upper: np.ndarray  # (h, w, 3) float32: column x starts at the upper inner lip
    upper_alpha: np.ndarray  # (h, w) 0..1
    lower: np.ndarray  # (h, w, 3): row 0 at the lower inner lip, going up
    lower_alpha: np.ndarray
    from_picture: bool
    lip: np.ndarray | None = None  # (3,) the picture's lip colour: a hairline gap between the lips is its shadow


def _contour_y(pts: np.ndarray, xs: np.ndarray) -> np.ndarray:
    o = np.argsort(pts[:, 0])
    return np.interp(xs, pts[o, 0], pts[o, 1])


def synthetic_teeth(width: float, tone: float = 1.0) -> Teeth:
    """Ivory teeth textures for a mouth ``width`` px wide: upper 0.13 w high, lower 0.09 w; ``tone`` scales
    their brightness to the picture's light (teeth in a mouth are in shade: never brighter than the skin)."""
    w = max(8, int(round(width)))
    x = (np.arange(w) + 0.5) / w - 0.5  # -0.5 .. 0.5
    tooth = 0.085  # tooth width / mouth width near the middle, narrower to the sides
    phase = np.cumsum(1.0 / (tooth * w) * (1 + 1.5 * np.abs(2 * x)))
    seam = np.exp(-((phase - np.round(phase)) ** 2) / (2 * 0.06**2))
    side = 1 - 0.55 * (2 * np.abs(x)) ** 2

    def band(h: int, lower: bool) -> tuple[np.ndarray, np.ndarray]:
        r = (np.arange(h) + 0.5)[:, None] / h
        edge = 1 - 0.25 * r**3  # the biting edge is a little darker
        shade = (edge * side[None] * (1 - 0.2 * seam[None]))[..., None]
        tex = IVORY * tone * (0.88 if lower else 1.0) * (0.5 + 0.5 * shade)
        alpha = np.clip((1 - r) * 6, 0, 1) * np.ones((1, w))
        return tex.astype(np.float32), alpha.astype(np.float32)

    up, ua = band(max(2, int(round(0.13 * width))), False)
    lo, la = band(max(2, int(round(0.09 * width))), True)
    return Teeth(up, ua, lo, la, False)


def teeth_from_picture(rgb: np.ndarray, lm: np.ndarray) -> Teeth:
    """Teeth textures from the picture's open mouth, or synthetic ones when it shows none."""
    import cv2

    up = lm[F.LIPS_INNER_UP, :2].astype(np.float64)
    low = lm[[F.LIPS_INNER_UP[0], *F.LIPS_INNER_LOW, F.LIPS_INNER_UP[-1]], :2].astype(np.float64)
    width = float(np.linalg.norm(lm[F.MOUTH_CORNERS[1], :2] - lm[F.MOUTH_CORNERS[0], :2]))
    x0, x1 = up[:, 0].min(), up[:, 0].max()
    w = max(8, int(round(x1 - x0)))
    xs = np.linspace(x0, x1, w)
    yu, yl = _contour_y(up, xs), _contour_y(low, xs)
    gap = yl - yu
    tone = teeth_tone(rgb, lm)
    if np.percentile(gap, 80) < 0.2 * width:  # too little of the teeth shows to copy them sharply
        return synthetic_teeth(x1 - x0, tone)
    h = max(2, int(np.ceil(gap.max())))
    r = np.arange(h, dtype=np.float64)[:, None]
    mx = np.repeat(xs[None], h, 0).astype(np.float32)
    tex_u = cv2.remap(rgb, mx, (yu[None] + 0.5 + r).astype(np.float32), cv2.INTER_LINEAR).astype(np.float32)
    tex_l = cv2.remap(rgb, mx, (yl[None] - 0.5 - r).astype(np.float32), cv2.INTER_LINEAR).astype(np.float32)
    valid = (r < gap[None] - 1.0).astype(np.float32)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    inner = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(np.concatenate([up, low[::-1]])).astype(np.int32)], 1)
    sel = inner.astype(bool)
    bright = (hsv[..., 2] > 110) & (hsv[..., 1] < 110)
    if sel.sum() < 20 or bright[sel].mean() < 0.25:  # dark interior, no teeth showing
        return synthetic_teeth(x1 - x0, tone)

    def tooth_alpha(tex: np.ndarray) -> np.ndarray:
        v = tex.max(2)
        s = (tex.max(2) - tex.min(2)) / (v + 1e-6)
        return np.clip((v - 90) / 60, 0, 1) * np.clip((0.55 - s) / 0.25, 0, 1)

    ua = tooth_alpha(tex_u) * valid
    la = tooth_alpha(tex_l) * valid
    # upper teeth: down to the first row where the column stops being tooth; the same for the lower
    return Teeth(tex_u, cv2.GaussianBlur(ua, (3, 3), 0), tex_l, cv2.GaussianBlur(la, (3, 3), 0), True)


def teeth_tone(rgb: np.ndarray, lm: np.ndarray) -> float:
    """Brightness of synthetic teeth for this picture: the cheeks' luma over ivory's (0.5-1)."""
    pts = lm[[205, 425, 50, 280], :2]  # cheeks, beside the nose
    r = max(2, int(0.04 * np.linalg.norm(lm[F.EYE_CORNERS[1], :2] - lm[F.EYE_CORNERS[0], :2])))
    H, W = rgb.shape[:2]
    px = [rgb[max(0, int(y) - r):min(H, int(y) + r), max(0, int(x) - r):min(W, int(x) + r)].reshape(-1, 3)
          for x, y in pts]
    skin = np.median(np.concatenate(px), 0) if sum(p.size for p in px) else IVORY
    luma = lambda c: float(c @ [0.299, 0.587, 0.114])  # noqa: E731
    return float(np.clip(luma(skin) / luma(IVORY), 0.5, 1.0))


def smooth_contour(pts: np.ndarray, k: int = 4, passes: int = 2) -> np.ndarray:
    """A lip contour resampled ``k`` times denser and smoothed (ends kept): round, not angular, mouth corners."""
    n = len(pts)
    s = np.linspace(0, n - 1, (n - 1) * k + 1)
    out = np.stack([np.interp(s, np.arange(n), pts[:, j]) for j in range(2)], 1)
    for _ in range(passes):
        out[1:-1] = 0.25 * out[:-2] + 0.5 * out[1:-1] + 0.25 * out[2:]
    return out


def lip_colour(rgb: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Median colour of the picture's lower lip (between its inner and outer contours)."""
    import cv2

    poly = np.concatenate([lm[[61, *F.LIPS_OUTER_LOW, 291], :2], lm[[308, *F.LIPS_INNER_LOW[::-1], 78], :2]])
    m = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    px = rgb[m.astype(bool)]
    return np.median(px, 0).astype(np.float32) if px.size else np.array([150, 80, 80], np.float32)


def fill_interior(rgb: np.ndarray, lm: np.ndarray, margin: float = 0.04) -> np.ndarray:
    """The picture with its open mouth's interior filled in from the lips around it (a closed-mouth picture is
    returned as it is); the teeth textures are taken before this."""
    import cv2

    up = lm[F.LIPS_INNER_UP, :2]
    low = lm[[F.LIPS_INNER_UP[0], *F.LIPS_INNER_LOW, F.LIPS_INNER_UP[-1]], :2]
    m = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(np.concatenate([up, low[::-1]]) * 16).astype(np.int32)], 255, shift=4)
    if m.sum() < 255 * 8:
        return rgb
    # the inner margins of the lips, where they are in the mouth's shadow (darker than the lips), are filled too,
    # or the shut lips meet on a dark seam (that the face mesh reads as parted lips)
    width = float(np.linalg.norm(lm[F.MOUTH_CORNERS[1], :2] - lm[F.MOUTH_CORNERS[0], :2]))
    k = 2 * max(1, int(round(margin * width))) + 1
    ring = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) & ~m
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    dark = luma < 0.7 * float(lip_colour(rgb, lm) @ [0.299, 0.587, 0.114])
    m = cv2.dilate(m, np.ones((3, 3), np.uint8)) | (ring & (dark * 255).astype(np.uint8))
    return cv2.inpaint(rgb, m, 3, cv2.INPAINT_TELEA)


def paint(out: np.ndarray, upper: np.ndarray, lower: np.ndarray, teeth: Teeth, width: float, jaw: float,
          tongue: float, labiodental: float) -> None:
    """Draw the interior in place inside the polygon of the moved inner lips (``upper`` corner to corner,
    ``lower`` without the corners)."""
    import cv2

    upper = smooth_contour(upper)
    low_full = smooth_contour(np.concatenate([upper[:1], lower, upper[-1:]]))
    poly = np.concatenate([upper, low_full[::-1]])
    x0, y0 = np.floor(poly.min(0)).astype(int) - 1
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 2
    H, W = out.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 - x0 < 3 or y1 - y0 < 2:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    if mask.max() == 0:
        return
    a = mask.astype(np.float32) / 255
    xs = np.arange(x0, x1) + 0.5
    ys = (np.arange(y0, y1) + 0.5)[:, None]
    yu = _contour_y(upper, xs)[None]
    yl = _contour_y(low_full, xs)[None]
    gap = np.maximum(yl - yu, 1e-3)
    lx0, lx1 = upper[:, 0].min(), upper[:, 0].max()
    xn = np.clip((xs - lx0) / max(lx1 - lx0, 1e-3), 0, 1)[None]  # 0..1 across the mouth
    depth = np.clip((ys - yu) / gap, 0, 1)
    shade = (0.55 + 0.45 * np.abs(2 * depth - 1)) * (1 - 0.45 * (2 * xn - 1) ** 2)
    img = CAVITY[None, None] * shade[..., None] * np.ones((1, 1, 3), np.float32)
    if tongue > 0.02 or jaw > 0.3:  # the tongue lies low, or rises to the teeth for th/l
        tcx = 0.5 * (lx0 + lx1)
        twid = 0.36 * (lx1 - lx0)
        ty = yl - (0.25 + 0.75 * tongue) * 0.55 * gap
        top = ty + 0.5 * gap * ((xs[None] - tcx) / twid) ** 2  # a rounded tip, lowest at the sides
        ta = np.clip(ys - top, 0, 1.5) / 1.5 * np.clip((1.3 - np.abs(xs[None] - tcx) / twid) * 3, 0, 1)
        ta = ta * np.clip(0.35 + tongue + 0.4 * jaw, 0, 1)
        tshade = (0.75 + 0.25 * np.clip((ys - ty) / (0.3 * gap + 1), -1, 1))[..., None]
        img = img * (1 - ta[..., None]) + TONGUE * tshade * ta[..., None]

    # no teeth in a hairline gap (only its shadow), nor towards the corners, where the cheeks' shadow hides them
    show = np.clip((gap - 2.0) / 4.0, 0, 1) * np.clip((TEETH_SPAN - np.abs(2 * xn - 1)) / 0.3, 0, 1)

    def lay(tex: np.ndarray, alpha: np.ndarray, rows: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
        th, tw = alpha.shape
        mx = np.repeat((xn * (tw - 1)).astype(np.float32), rows.shape[0], 0)
        my = rows.astype(np.float32)
        t = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        al = cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        al = al * ((rows >= 0) & (rows <= th - 1)) * strength * show
        return t, al

    # lower teeth ride on the lower lip, hidden behind it until the jaw drops
    hide_l = (1 - np.clip((jaw - 0.15) / 0.6, 0, 1)) * teeth.lower.shape[0]
    t_l, a_l = lay(teeth.lower, teeth.lower_alpha, (yl - ys) + hide_l - 1.0, 0.9)
    img = img * (1 - a_l[..., None]) + t_l * a_l[..., None] * (0.7 + 0.3 * (1 - depth[..., None]))
    # upper teeth hang from the upper lip (a little hidden under it unless the lip is raised for f/v)
    hide_u = 0.01 * width * (1 - labiodental)
    t_u, a_u = lay(teeth.upper, teeth.upper_alpha, np.maximum((ys - yu) + hide_u, 0), 1.0)
    # the upper lip's shadow on the teeth just under it (no dark outline between lip and teeth)
    lit = 0.72 + 0.28 * np.clip((ys - yu) / (0.05 * width), 0, 1)
    img = img * (1 - a_u[..., None]) + t_u * a_u[..., None] * lit[..., None] * (1 - 0.3 * (2 * xn - 1) ** 2)[..., None]
    if teeth.lip is not None:  # the lips' wet inner edge, in their own shade, where no tooth covers the cavity
        edge = np.exp(-np.minimum(ys - yu, yl - ys).clip(0) / max(1.5, 0.025 * width))
        k = (edge * (1 - np.maximum(a_u, a_l)) * 0.7)[..., None]
        img = img * (1 - k) + teeth.lip * 0.55 * k
    roi = out[y0:y1, x0:x1].astype(np.float32)
    if teeth.lip is not None:  # a hairline gap is the shadow between the lips, not a view into the mouth
        k = np.clip((gap - 1.0) / 3.0, 0, 1)[..., None]
        img = img * k + teeth.lip * 0.6 * (1 - k)
    a3 = a[..., None]
    out[y0:y1, x0:x1] = np.clip(roi * (1 - a3) + img * a3, 0, 255).astype(np.uint8)
