"""A piecewise-affine warp of a picture over MediaPipe's face mesh, with the articulation bases that move it.

At set-up (:func:`build_mesh`) the 468 face-mesh landmarks (irises left out: the lids pass over them) plus two
rings of points around the head and points on the frame border are triangulated (Delaunay, on the picture's
own positions). Each articulation parameter has a displacement of every vertex (a basis, in pixels per unit):
the landmarks that the parameter drives are displaced explicitly, the others follow through a normalised
Gaussian interpolation that is anchored at zero on the nose, eye corners, upper face and outer ring, so the
motion fades out smoothly and the frame border never moves. A rest displacement turns a smiling or open
mouth into a closed, neutral one to speak from.

Per frame (:meth:`MeshRig.map`), the vertices are moved (rest + bases mixed by the frame's parameters, then a
small 3-D head rotation using MediaPipe's depth, weighted to fade out between the two rings), each triangle's
affine map from output to picture is solved in one batch, the triangle index map is drawn at half resolution
(affine maps agree on shared edges, so a half-resolution index map costs no visible error), and the dense
sampling map is upsampled to full resolution and applied with one ``cv2.remap`` inside the head's box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..publickb import face as F

N_MESH = 468
LOWER_LIP_CONTOUR = [61, *F.LIPS_OUTER_LOW, 291, 308, *F.LIPS_INNER_LOW[::-1], 78]
UPPER_LIP_CONTOUR = [*F.LIPS_OUTER_UP, *F.LIPS_INNER_UP[::-1]]
BROW_ALL = [46, 53, 52, 65, 55, 70, 63, 105, 66, 107, 276, 283, 282, 295, 285, 300, 293, 334, 296, 336]
ANCHORS = [*F.NOSE, 6, 197, 195, 5, 4, 1, 19, 94, 33, 133, 263, 362, 234, 454, 93, 323, 127, 356]
ROUND_FALLOFF = 0.15  # rounding moves the lips and the skin within ~a lip thickness, not the cheeks and jaw line
GAP_W = 0.34  # inner-lip gap (mouth widths) opened by gap = 1 beyond the jaw
LENS_FLOOR = 0.2  # near the mouth corners the lips open this fraction of their opening in the middle
BASES = ("jaw", "gap", "round", "spread", "labiodental", "blink", "brow")


def _inside(poly: np.ndarray, pts: np.ndarray, tol: float = 1.0) -> np.ndarray:
    import cv2

    c = poly.astype(np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(c, (float(x), float(y)), True) >= -tol for x, y in pts])


def spread(pos: np.ndarray, driven: dict[int, np.ndarray], zero: list[int], sigma: float) -> np.ndarray:
    """Displacement of every vertex: ``driven`` ones exact, ``zero`` ones fixed, others a normalised Gaussian mix."""
    disp = np.zeros_like(pos)
    ids = np.array(list(driven), int)
    if not ids.size:
        return disp
    d_ids = np.array([driven[i] for i in ids])
    z = np.array([i for i in zero if i not in driven], int)
    src = np.concatenate([pos[ids], pos[z]])
    val = np.concatenate([d_ids, np.zeros((z.size, 2))])
    d2 = ((pos[:, None, :] - src[None]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma**2))
    disp = (w @ val) / (w.sum(1, keepdims=True) + 0.02)
    disp[ids] = d_ids
    disp[z] = 0
    return disp


@dataclass
class MeshRig:
    """A picture prepared for articulation at output size S."""

    source: np.ndarray  # (S, S, 3) uint8: the picture at output size
    src_pos: np.ndarray  # (V, 2) vertex positions in the picture
    depth: np.ndarray  # (V,) depth (px, toward the camera negative), 0 for ring/border points
    rest: np.ndarray  # (V, 2) rest displacement (neutral closed mouth)
    bases: np.ndarray  # (K, V, 2) px per unit of each parameter in BASES
    pose_weight: np.ndarray  # (V,) how much each vertex follows the head rotation
    tris: np.ndarray  # (T, 3) vertex indices
    moving: np.ndarray  # (Tm,) indices of triangles that may move
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (even) of the region that may change
    static_ids: np.ndarray  # (h/2, w/2) int32: triangle index map of the unmoving triangles at half resolution
    centre: np.ndarray  # (3,) head rotation centre (x, y, z)
    down: np.ndarray  # (2,) the face's down axis
    mouth_width: float
    face_height: float
    mouth_gap0: float  # the picture's own inner-lip gap (px)
    smile: float  # how far the picture's mouth was widened/lifted beyond neutral (0 = neutral)
    jaw_gap: float  # inner-lip gap (px) opened by jaw = 1 alone
    _half_grid: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def size(self) -> int:
        return self.source.shape[0]

    def vertices(self, c: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Vertex positions for parameters ``c`` (len BASES) and head pose (yaw, pitch, roll in degrees)."""
        q = self.src_pos + self.rest + np.tensordot(c, self.bases, axes=(0, 0))
        yaw, pitch, roll = np.radians(pose[:3])
        if yaw or pitch or roll:
            cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
            ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
            rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
            rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
            p3 = np.column_stack([q - self.centre[:2], self.depth - self.centre[2]])
            moved = p3 @ (rz @ rx @ ry).T
            q = q + self.pose_weight[:, None] * (moved[:, :2] - p3[:, :2])
        if len(pose) > 3:
            q = q + self.pose_weight[:, None] * np.asarray(pose[3:5])[None]
        return q

    def map(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sampling maps (map_x, map_y) over the ROI for output vertex positions ``q``."""
        import cv2

        x0, y0, x1, y1 = self.roi
        tri_q = q[self.tris]  # (T, 3, 2)
        tri_p = self.src_pos[self.tris]
        e1, e2 = tri_q[:, 1] - tri_q[:, 0], tri_q[:, 2] - tri_q[:, 0]
        det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
        bad = np.abs(det) < 1e-3
        inv_det = 1.0 / np.where(bad, 1.0, det)
        # inverse of [e1 e2] (columns), times the picture's edges: the linear part output -> picture
        i00, i01, i10, i11 = e2[:, 1] * inv_det, -e2[:, 0] * inv_det, -e1[:, 1] * inv_det, e1[:, 0] * inv_det
        f1, f2 = tri_p[:, 1] - tri_p[:, 0], tri_p[:, 2] - tri_p[:, 0]
        lin = np.empty((len(det), 2, 2))
        lin[:, :, 0] = f1 * i00[:, None] + f2 * i10[:, None]
        lin[:, :, 1] = f1 * i01[:, None] + f2 * i11[:, None]
        aff = np.empty((len(det), 2, 3))
        aff[:, :, :2] = lin
        aff[:, :, 2] = tri_p[:, 0] - np.einsum("tij,tj->ti", lin, tri_q[:, 0])
        if bad.any():  # a collapsed triangle samples its picture centroid
            aff[bad] = 0
            aff[bad, :, 2] = tri_p[bad].mean(1)
        ids = self.static_ids.copy()
        qh = np.round((q - [x0, y0]) * 2).astype(np.int32)  # half resolution (/2) with shift=2 (x4)
        order = self.moving[np.argsort(np.abs(det[self.moving]))]  # thin (collapsed) triangles first: overdrawn
        for t, pts in zip(order.tolist(), qh[self.tris[order]]):
            cv2.fillConvexPoly(ids, pts, t, lineType=cv2.LINE_8, shift=2)
        if self._half_grid is None:
            hh, hw = ids.shape
            yy, xx = np.mgrid[0:hh, 0:hw].astype(np.float32)
            self._half_grid = (xx * 2 + 0.5 + x0, yy * 2 + 0.5 + y0)
        xx, yy = self._half_grid
        a6 = aff.astype(np.float32).reshape(-1, 6)
        mx = a6[:, 0][ids]
        mx *= xx
        mx += a6[:, 1][ids] * yy
        mx += a6[:, 2][ids]
        my = a6[:, 3][ids]
        my *= xx
        my += a6[:, 4][ids] * yy
        my += a6[:, 5][ids]
        size = (x1 - x0, y1 - y0)
        return (cv2.resize(mx, size, interpolation=cv2.INTER_LINEAR),
                cv2.resize(my, size, interpolation=cv2.INTER_LINEAR))

    def warp(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The warped frame, and the ROI's sampling maps."""
        import cv2

        x0, y0, x1, y1 = self.roi
        mx, my = self.map(q)
        out = self.source.copy()
        out[y0:y1, x0:x1] = cv2.remap(self.source, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        return out, mx, my


def _ring(lm: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    oval = lm[F.FACE_OVAL]
    return centre + (oval - centre) * scale


def build_mesh(source: np.ndarray, landmarks: np.ndarray) -> MeshRig:
    """Triangulate the picture's face mesh and derive the articulation bases (``landmarks`` in output px)."""
    import cv2
    from scipy.spatial import Delaunay

    S = source.shape[0]
    lm = landmarks[:N_MESH, :2].astype(np.float64)
    z = landmarks[:N_MESH, 2].astype(np.float64)
    width = float(np.linalg.norm(lm[F.MOUTH_CORNERS[1]] - lm[F.MOUTH_CORNERS[0]]))
    eye_d = float(np.linalg.norm(lm[F.EYE_CORNERS[1]] - lm[F.EYE_CORNERS[0]]))
    face_h = float(np.linalg.norm(lm[152] - lm[10]))
    down = lm[152] - lm[168]
    down /= np.linalg.norm(down)
    right = np.array([-down[1], down[0]])
    if right @ (lm[F.EYE_CORNERS[1]] - lm[F.EYE_CORNERS[0]]) < 0:
        right = -right
    centre = lm[F.FACE_OVAL].mean(0)
    # rings: A just outside the face (hair, ears, upper neck: moves with the head), B further out (fixed)
    up_part = ((lm[F.FACE_OVAL] - centre) @ down) < 0
    scale_a = np.where(up_part, 1.35, 1.22)[:, None]
    ring_a = _ring(lm, centre, scale_a)
    ring_b = _ring(lm, centre, np.where(up_part, 1.9, 1.7)[:, None])
    k = np.linspace(0, S - 1, 5)
    border = np.array([(x, y) for x in k for y in k if x in (0, S - 1) or y in (0, S - 1)], np.float64)
    extra = np.concatenate([ring_a, ring_b])
    extra = extra[(extra.min(1) > 2) & (extra.max(1) < S - 3)]
    pos = np.concatenate([lm, extra, border])
    keep = np.ones(len(pos), bool)  # drop points closer than 3 px to an earlier one (Delaunay needs distinct)
    for i in range(N_MESH, len(pos)):
        if np.min(np.linalg.norm(pos[:i][keep[:i]] - pos[i], axis=1)) < 3:
            keep[i] = False
    keep[:N_MESH] = True
    pos = pos[keep]
    n_a = int(keep[N_MESH:N_MESH + len(ring_a)].sum()) if len(extra) else 0
    is_ring_a = np.zeros(len(pos), bool)
    # ring A points are those within 1.5x the face oval radius of the centre
    r = np.linalg.norm(pos - centre, axis=1)
    r_oval = np.interp(np.arctan2(*(pos - centre).T[::-1]),
                       *_polar(lm[F.FACE_OVAL] - centre))
    is_ring_a[N_MESH:] = r[N_MESH:] < 1.45 * r_oval[N_MESH:]
    depth = np.concatenate([z, np.zeros(len(pos) - N_MESH)])
    below = ((pos - centre) @ down) / face_h  # ~0.5 at the chin
    pose_w = np.zeros(len(pos))
    pose_w[:N_MESH] = 1
    pose_w[is_ring_a] = np.clip(1.0 - 2.5 * (below[is_ring_a] - 0.25), 0.3, 1.0)
    del n_a

    fixed = [i for i in range(N_MESH, len(pos)) if not is_ring_a[i]]
    mouth_c = lm[[*F.MOUTH_CORNERS]].mean(0)
    lower = np.flatnonzero(_inside(lm[LOWER_LIP_CONTOUR], lm))
    upper = np.flatnonzero(_inside(lm[UPPER_LIP_CONTOUR], lm))
    corner_ids = [*F.MOUTH_CORNERS, 78, 308]
    both = np.intersect1d(upper, lower)  # a closed mouth: the inner contours touch; decide by the mouth line
    mid_v = ((lm[both] - lm[[*F.MOUTH_CORNERS]].mean(0)) @ down) if both.size else np.zeros(0)
    line_v = float((lm[[13, 14]].mean(0) - lm[[*F.MOUTH_CORNERS]].mean(0)) @ down)
    upper = np.setdiff1d(upper, [*corner_ids, *both[mid_v >= line_v], *F.LIPS_INNER_LOW, *F.LIPS_OUTER_LOW])
    lower = np.setdiff1d(lower, [*corner_ids, *upper, *F.LIPS_INNER_UP, *F.LIPS_OUTER_UP])
    upper = np.union1d(upper, np.setdiff1d([*F.LIPS_INNER_UP, *F.LIPS_OUTER_UP], corner_ids)).astype(int)
    lower = np.union1d(lower, [*F.LIPS_INNER_LOW, *F.LIPS_OUTER_LOW]).astype(int)
    corners = [*F.MOUTH_CORNERS, 78, 308]
    lips = [*upper, *lower, *corners]
    anchors = [*ANCHORS, *F.EYE_R_UP, *F.EYE_R_LOW, *F.EYE_L_UP, *F.EYE_L_LOW, *BROW_ALL, *fixed,
               *[i for i in F.FACE_OVAL if below[i] < 0.1]]

    def along(p):  # (u right, v down) relative to the mouth centre, in mouth widths
        d = p - mouth_c
        return d @ right / width, d @ down / width

    hinge_v = ((lm[234] + lm[454]) / 2 - mouth_c) @ down
    chin_v = (lm[152] - mouth_c) @ down
    rel = pos - mouth_c
    U, V = rel @ right, rel @ down  # px
    # the mouth line (between the inner lips), extended flat beyond the corners
    inner = np.concatenate([lm[F.LIPS_INNER_UP], lm[F.LIPS_INNER_LOW]])
    iu_ = (inner - mouth_c) @ right
    iv_ = (inner - mouth_c) @ down
    o = np.argsort(iu_)
    line = np.interp(U, iu_[o], iv_[o])
    beyond = np.maximum(np.abs(U) - 0.5 * width, 0)
    band = 0.03 * width + 0.8 * beyond
    below_line = np.clip(0.5 + (V - line) / (2 * band), 0, 1)
    below_line[lower] = 1
    below_line[upper] = 0
    lateral = np.clip(1 - (np.abs(U) / (0.6 * face_h)) ** 2, 0.15, 1)
    movable = np.ones(len(pos))
    movable[N_MESH:] = np.where(is_ring_a[N_MESH:], 0.5, 0.0)
    movable[[*ANCHORS]] = 0
    # the vertical motions are in widths of the neutral mouth: a smile's wide mouth does not open wider
    ratio = width / eye_d
    narrow = max(0.0, ratio - 0.60) * 0.35  # fraction of the eye distance to take off a smile's width (rest pose)
    w_neutral = width * (1 - narrow / ratio)
    # jaw = 1: the chin drops 0.33 mouth widths; below the mouth line points follow their distance from the hinge
    rot = np.clip((V - hinge_v) / (chin_v - hinge_v), 0, 1.0)
    # the lips are tied at the corners: near the mouth line they open less towards the corners, so the opening
    # is a lens (an ellipse's profile), not a slot of even height; the chin below moves as a whole
    ell = np.sqrt(np.clip(1 - (U / (0.5 * width)) ** 2, 0, 1))
    near_line = np.exp(-((V - line) / (0.25 * width)) ** 2)
    lens = 1 - (1 - (LENS_FLOOR + (1 - LENS_FLOOR) * ell)) * near_line
    b_jaw = (0.33 * w_neutral * below_line * rot * lateral * lens * movable)[:, None] * down
    b_jaw[[*F.MOUTH_CORNERS, 78, 308]] *= 0.6
    jaw_gap = float((b_jaw[14] - b_jaw[13]) @ down)

    # gap = 1: lips part by GAP_W mouth widths beyond the jaw (lower lip 80 %, upper lip 20 %), fading towards
    # the chin and the nose
    g = GAP_W * w_neutral
    side = np.exp(-(beyond / (0.3 * width)) ** 2)
    low_v = max(((lm[F.LIPS_OUTER_LOW] - mouth_c) @ down).max(), 1.0)
    up_v = min(((lm[F.LIPS_OUTER_UP] - mouth_c) @ down).min(), -1.0)
    nose_v = min(((lm[2] - mouth_c) @ down), up_v - 1)
    dec_low = np.clip(1 - 0.75 * (V - low_v) / max(chin_v - low_v, 1), 0.25, 1)
    dec_up = np.clip((V - nose_v) / (up_v - nose_v), 0, 1)
    m_all = movable > 0
    b_gap = ((0.8 * g * below_line * dec_low - 0.2 * g * (1 - below_line) * dec_up) * side * lens * m_all)[:, None] \
        * down
    corner_in = np.sign(U) * np.exp(-((np.abs(U) - 0.5 * width) / (0.25 * width)) ** 2 - (V / (0.3 * width)) ** 2)
    b_gap -= (0.06 * g * corner_in * m_all)[:, None] * right

    # round = 1: lips pulled 20 % towards the centre (and thicker); spread = 1: corners 10 % out
    outer = np.concatenate([lm[F.LIPS_OUTER_UP], lm[F.LIPS_OUTER_LOW][::-1]]).astype(np.float32).reshape(-1, 1, 2)
    dist = np.array([cv2.pointPolygonTest(outer, (float(x), float(y)), True) for x, y in pos])
    lipness = np.where(dist >= 0, 1.0, np.exp(-(dist / (ROUND_FALLOFF * width)) ** 2)) * m_all
    uu = np.clip(U / width, -0.7, 0.7)
    vv = np.clip(V / width, -0.4, 0.4)
    b_round = (lipness * -0.20 * uu * width)[:, None] * right + (lipness * 0.10 * vv * width)[:, None] * down
    b_spread = (lipness * 0.10 * uu * width)[:, None] * right - (lipness * 0.03 * (2 * uu) ** 2 * width)[:, None] * down

    # labiodental = 1: the upper lip rises (its teeth show), the lower lip tucks up and in under them
    b_lab = ((-0.07 * (1 - below_line) * dec_up - 0.02 * below_line * dec_low) * side * m_all * width)[:, None] * down

    # blink = 1: upper lids onto the lower lids; the lid skin above follows
    bl: dict[int, np.ndarray] = {}
    for up, low in ((F.EYE_R_UP, F.EYE_R_LOW), (F.EYE_L_UP, F.EYE_L_LOW)):
        for a, b in zip(up, low):
            gap = lm[b] - lm[a]
            bl[a] = gap  # the lids meet exactly: the closed eye shows no sliver of its white
            bl[b] = np.zeros(2)
    b_blink = spread(pos, bl, [i for i in anchors if i not in bl] + [33, 133, 263, 362], 0.05 * eye_d)
    # brow = 1: brows up by 1.5 % of the face height, the forehead less (more moves dlib's identity descriptor)
    br = {i: -0.015 * face_h * down for i in BROW_ALL}
    b_brow = spread(pos, br, [i for i in anchors if i not in BROW_ALL] + [*F.EYE_R_LOW, *F.EYE_L_LOW],
                    0.12 * face_h)
    bases = np.stack([b_jaw, b_gap, b_round, b_spread, b_lab, b_blink, b_brow])

    # rest: a closed, neutral mouth from a smiling or open one
    rest = np.zeros_like(pos)
    gap0 = float((lm[14] - lm[13]) @ down)
    lift = float(((lm[13] + lm[14]) / 2 - mouth_c) @ down) / width
    drop = max(0.0, lift - 0.03) * 0.45
    smile = float(narrow + drop)
    neutral: dict[int, np.ndarray] = {}
    for i in lips:
        u, v = along(lm[i])
        neutral[i] = -u * (narrow * eye_d / ratio) * right + drop * width * (2 * u) ** 2 * down
    # close the lips: the inner contours meet in the middle (open mouth in the picture)
    iu, il = F.LIPS_INNER_UP, F.LIPS_INNER_LOW
    uu = np.array([along(lm[i])[0] for i in iu])
    vu = np.array([along(lm[i])[1] for i in iu])
    ul = np.array([along(lm[i])[0] for i in il])
    vl = np.array([along(lm[i])[1] for i in il])
    o = np.argsort(ul)
    vl_at_u = np.interp(uu, ul[o], vl[o], left=vu[0], right=vu[-1])
    o2 = np.argsort(uu)
    vu_at_l = np.interp(ul, uu[o2], vu[o2])
    shut: dict[int, np.ndarray] = {}
    for i in lips:
        shut[i] = np.zeros(2)
    for k_, i in enumerate(iu):
        mid = 0.5 * (vu[k_] + vl_at_u[k_])
        shut[i] = (mid - vu[k_]) * width * down * 0.999
    for k_, i in enumerate(il):
        mid = 0.5 * (vu_at_l[k_] + vl[k_])
        shut[i] = (mid - vl[k_]) * width * down * 0.999
    if gap0 > 0.02 * width:  # the rest of each lip follows half of its inner edge's motion
        for i in upper:
            if i not in iu:
                j = iu[int(np.argmin(np.abs(uu - along(lm[i])[0])))]
                shut[i] = 0.5 * shut[j]
        for i in lower:
            if i not in il:
                j = il[int(np.argmin(np.abs(ul - along(lm[i])[0])))]
                shut[i] = 0.5 * shut[j]
    drv = {i: neutral[i] + shut[i] for i in lips}
    rest = spread(pos, drv, anchors, 0.35 * width)

    tri = Delaunay(pos).simplices.astype(np.int32)
    area = np.abs(np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]]))
    tri = tri[area > 1e-6]
    moves = (np.abs(bases).max((0, 2)) > 1e-3) | (np.abs(rest).max(1) > 1e-3) | (pose_w > 0)
    moving = np.flatnonzero(moves[tri].any(1)).astype(np.int32)
    # ROI: the moving triangles' box, padded for the largest motion, even-sized
    span = pos[np.unique(tri[moving])]
    pad = 0.12 * face_h
    x0, y0 = np.floor(np.maximum(span.min(0) - pad, 0) / 2).astype(int) * 2
    x1, y1 = np.minimum(np.ceil((span.max(0) + pad) / 2).astype(int) * 2, S)
    x0, y0, x1, y1 = int(x0), int(y0), int(x1), int(y1)
    static_ids = np.zeros(((y1 - y0) // 2, (x1 - x0) // 2), np.int32)
    ph = np.round((pos - [x0, y0]) * 2).astype(np.int32)
    for t in np.setdiff1d(np.arange(len(tri)), moving):
        cv2.fillConvexPoly(static_ids, ph[tri[t]], int(t), lineType=cv2.LINE_8, shift=2)
    head_c = np.array([*centre, float(np.median(z[F.FACE_OVAL]))])
    head_c[2] = float(np.mean(z)) + 0.5 * face_h  # rotate about a point inside the head, behind the face
    return MeshRig(source, pos, depth, rest, bases, pose_w, tri, moving, (x0, y0, x1, y1), static_ids, head_c,
                   down, width * (1 - narrow / ratio), face_h, gap0, smile, jaw_gap)


def _polar(rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(angles, radii) of points around a centre, sorted and wrapped for np.interp."""
    ang = np.arctan2(rel[:, 1], rel[:, 0])
    rad = np.linalg.norm(rel, axis=1)
    o = np.argsort(ang)
    ang, rad = ang[o], rad[o]
    return np.concatenate([ang[-1:] - 2 * np.pi, ang, ang[:1] + 2 * np.pi]), np.concatenate([rad[-1:], rad, rad[:1]])
