"""A clone stands on its own: nothing reads ../shared, the data it needs is in the repo with its provenance."""

from __future__ import annotations

import csv
import subprocess

from host_pipeline.paths import REPO_ROOT, real_data_dir


def _tracked_text_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if f.endswith((".py", ".sh", ".md", ".toml", ".txt", ".grc", ".yml"))
            or f in ("Makefile", ".ci/run")]


def test_nothing_reads_the_folder_beside_the_clone():
    offenders = []
    for f in _tracked_text_files():
        if f.startswith("data/") or f == "tests/repo/test_self_contained.py":
            continue
        text = (REPO_ROOT / f).read_text(errors="replace")
        if "../shared" in text or "shared/data" in text:
            offenders.append(f)
    assert not offenders, f"these files read ../shared, which a clone does not have: {offenders}"


def test_real_data_is_in_the_repo_with_provenance_for_every_file():
    root = real_data_dir()
    assert root == REPO_ROOT / "data"
    with open(root / "PROVENANCE.tsv", newline="") as f:
        listed = {r["file"]: r for r in csv.DictReader(f, delimiter="\t")}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"PROVENANCE.tsv", "README.md"}
    missing_provenance = sorted(f for f in on_disk if f not in listed and not f.endswith("transcripts.tsv"))
    assert not missing_provenance, f"data files without a PROVENANCE.tsv row: {missing_provenance}"
    assert all(listed[f]["licence"].strip() for f in listed), "every file names its licence"
    for f, row in listed.items():
        assert (root / f).is_file(), f"PROVENANCE.tsv lists {f}, which is not in data/"
        if row.get("size_bytes", "").isdigit():
            assert (root / f).stat().st_size == int(row["size_bytes"]), f"{f} differs from its recorded size"
    total = sum((root / f).stat().st_size for f in on_disk)
    assert total < 25 * 2**20, f"data/ holds {total / 2**20:.1f} MiB (budget 25 MiB)"
    assert len([f for f in on_disk if f.startswith("video/grid/") and f.endswith(".mpg")]) == 10
