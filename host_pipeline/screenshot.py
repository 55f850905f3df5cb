"""Screenshots of the lab window: a virtual X display (Xvfb), the screen grabbed with xwd, written as PNG, and what
it shows: the plot canvases and the data drawn in them.

Qt's plots (qwt) draw on white canvases; the data of the first curve is blue. A canvas is a large white region of
the screen; a constellation is a square-ish canvas with blue points spread over it, the spectrum a wide canvas with
a blue trace across its whole width.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BackendError

APT_HINT = "`make setup` installs them (Debian's xvfb and x11-apps)"


@contextmanager
def virtual_display(width: int = 1280, height: int = 1024):
    """A fresh Xvfb display for the duration of the block: yields its DISPLAY value (e.g. ':3')."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise BackendError("Xvfb is not installed, so no virtual display can be made", hint=APT_HINT)
    rfd, wfd = os.pipe()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([exe, "-displayfd", str(wfd), "-screen", "0", f"{width}x{height}x24",
                                 "-nolisten", "tcp"], pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=err)
        os.close(wfd)
        with os.fdopen(rfd) as r:
            number = r.readline().strip()   # written once the server accepts clients
        try:
            if not number:
                err.seek(0)
                raise BackendError("Xvfb did not start: " + err.read().decode(errors="replace").strip()[-300:])
            yield f":{number}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def read_xwd(data: bytes) -> np.ndarray:
    """The image of a ZPixmap XWD file with 24 or 32 bits per pixel (TrueColor), as uint8 [height, width, 3]."""
    if len(data) < 100:
        raise ValueError("not an XWD file: shorter than its header")
    h = struct.unpack(">25I", data[:100])
    header_size, version, pixmap_format = h[0], h[1], h[2]
    width, height, byte_order, bits_per_pixel, bytes_per_line = h[4], h[5], h[7], h[11], h[12]
    masks, ncolors = h[14:17], h[19]
    if version != 7 or pixmap_format != 2:
        raise ValueError(f"not a ZPixmap XWD version 7 file (version {version}, format {pixmap_format})")
    if bits_per_pixel not in (24, 32):
        raise ValueError(f"{bits_per_pixel} bits per pixel: only TrueColor dumps (24/32) are read")
    start = header_size + 12 * ncolors
    raw = np.frombuffer(data, np.uint8, count=height * bytes_per_line, offset=start).reshape(height, bytes_per_line)
    nbytes = bits_per_pixel // 8
    px = raw[:, :width * nbytes].reshape(height, width, nbytes).astype(np.uint32)
    weights = 256 ** (np.arange(nbytes) if byte_order == 0 else np.arange(nbytes)[::-1])
    value = (px * weights.astype(np.uint32)).sum(axis=2, dtype=np.uint32)
    out = np.empty((height, width, 3), np.uint8)
    for i, mask in enumerate(masks):
        shift = (mask & -mask).bit_length() - 1
        out[..., i] = ((value & mask) >> shift).astype(np.uint8)
    return out


def grab(display: str) -> np.ndarray:
    """The whole screen of an X display (``xwd -root``, from x11-apps) as RGB."""
    if shutil.which("xwd") is None:
        raise BackendError("xwd is not installed, so no screenshot can be taken", hint=APT_HINT)
    r = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise BackendError(f"xwd failed on {display}: {r.stderr.decode(errors='replace').strip()}")
    return read_xwd(r.stdout)


def crop_to_windows(img: np.ndarray) -> np.ndarray:
    """The screen cut to the windows on it (Xvfb's root window is black)."""
    drawn = img.any(axis=2)
    if not drawn.any():
        return img
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    return img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def write_png(path: Path | str, img: np.ndarray) -> None:
    """An RGB uint8 array as a PNG file (no imaging library needed)."""
    h, w, _ = img.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


@dataclass
class Canvas:
    top: int
    left: int
    height: int
    width: int
    data: np.ndarray  # bool [height, width]: the curve's pixels

    @property
    def wide(self) -> bool:
        return self.width > 1.8 * self.height

    @property
    def data_fraction(self) -> float:
        return float(self.data.mean())

    def spread(self) -> tuple[float, float]:
        """The fraction of the canvas's width and height that the data spans."""
        ys, xs = np.nonzero(self.data)
        if xs.size == 0:
            return 0.0, 0.0
        return float(np.ptp(xs) / self.width), float(np.ptp(ys) / self.height)

    def columns_covered(self) -> float:
        return float(self.data.any(axis=0).mean())

    def trace_rise(self) -> float:
        """How much higher (fraction of the canvas height) the trace is in the middle fifth than in the outer
        fifths: a signal's band above the noise floor in a spectrum centred on the carrier."""
        rows = np.arange(self.height, dtype=float)[:, None]
        n = self.data.sum(axis=0)
        y = np.where(n > 0, (self.data * rows).sum(axis=0) / np.maximum(n, 1), np.nan)   # the trace's row per column
        w = self.width
        middle = np.nanmedian(y[2 * w // 5:3 * w // 5])
        edges = np.nanmedian(np.r_[y[:w // 5], y[-(w // 5):]])
        return float((edges - middle) / self.height)


def canvases(img: np.ndarray, min_side: int = 120) -> list[Canvas]:
    """The plot canvases of a screenshot (RGB uint8), top to bottom, left to right."""
    from scipy import ndimage

    px = img.astype(np.int16)
    white = px.min(axis=2) >= 245
    # grid lines and data points split a canvas's white: close them over
    regions, _ = ndimage.label(ndimage.binary_closing(white, structure=np.ones((7, 7), bool)))
    out = []
    for i, sl in enumerate(ndimage.find_objects(regions), 1):
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if h < min_side or w < min_side or (regions[sl] == i).mean() < 0.8:
            continue
        sub = px[sl]
        blue = (sub[..., 2] > 150) & (sub[..., 0] < 110) & (sub[..., 1] < 110)
        out.append(Canvas(sl[0].start, sl[1].start, h, w, blue))
    return sorted(out, key=lambda c: (c.top, c.left))


def constellations(found: list[Canvas]) -> list[Canvas]:
    """Square-ish canvases with points over at least a third of their width and height."""
    return [c for c in found if not c.wide and c.data_fraction > 0.01 and min(c.spread()) > 0.3]


def spectra(found: list[Canvas]) -> list[Canvas]:
    """Wide canvases with a trace across their width that rises in the middle (a band above the noise floor)."""
    return [c for c in found if c.wide and c.columns_covered() > 0.9 and c.trace_rise() > 0.05]


def lab_window_drawn(found: list[Canvas]) -> bool:
    """The lab window shows both constellations and the spectrum, with data in them."""
    return len(constellations(found)) >= 2 and len(spectra(found)) >= 1


def describe(found: list[Canvas]) -> str:
    return "; ".join(f"{'wide' if c.wide else 'square'} canvas {c.width}x{c.height} at ({c.left},{c.top}): "
                     f"{c.data_fraction:.1%} data, spread {c.spread()[0]:.2f}x{c.spread()[1]:.2f}, "
                     f"columns {c.columns_covered():.2f}, rise {c.trace_rise():.2f}" for c in found) or "no plot canvas"
