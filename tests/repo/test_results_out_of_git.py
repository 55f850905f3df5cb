"""Results stay out of git (issue 20): every benchmark writes to an ignored folder unless told otherwise; the folders
the docs cite are refreshed by passing them with --out."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _out_default(path: Path) -> str | None:
    """The --out default of a benchmark's argument parser, as a path relative to the repo (None: no --out)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args and \
                isinstance(node.args[0], ast.Constant) and node.args[0].value == "--out":
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            parts = [n.value for n in sorted((n for n in ast.walk(default) if isinstance(n, ast.Constant) and
                                              isinstance(n.value, str)), key=lambda n: n.col_offset)]
            return "/".join(p.strip("/") for p in parts)
    return None


def test_every_benchmark_writes_to_an_ignored_folder_by_default():
    defaults = {p.name: _out_default(p) for p in sorted((REPO / "benchmarks").glob("*.py"))}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    assert len(defaults) >= 20
    unreadable = [k for k, v in defaults.items() if not v]
    assert not unreadable, f"--out defaults that are not a literal path: {unreadable}"
    probe = [f"{v}/probe.json" for v in defaults.values()]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *probe], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    tracked_by_default = [name for name, p in zip(defaults, probe) if p not in ignored]
    assert not tracked_by_default, f"these write into tracked folders by default: {tracked_by_default}"
