"""One way to import gr-lgmtsc across the host: ``from gnuradio import lgmtsc`` (installed by `make setup`).

No module loads it from the source tree (``gnuradio.__path__`` edits, ``sys.path`` additions pointing at
gr-lgmtsc/python, file-path imports of its modules, stand-in namespace packages), and computing a message's tag
needs neither pyzmq nor the ZeroMQ client.
"""

from __future__ import annotations

import re
import subprocess
import sys

from host_pipeline.paths import REPO_ROOT

# ways to reach gr-lgmtsc's modules other than the installed package
OTHER_PATHS = [
    re.compile(r"gnuradio\.__path__"),
    re.compile(r"\b__path__\s*=\s*\["),                                  # a stand-in namespace package
    re.compile(r"sys\.path\.(append|insert)\(.*gr-lgmtsc"),
    re.compile(r"spec_from_file_location\(.*(lgmtsc|pdu_format|frame)"),
    re.compile(r"""["']gr-lgmtsc["'].*["']\w+\.py["']"""),                 # a module of the source tree by file name
    re.compile(r"_lgmtsc_phy_src"),
]

def _python_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return [f for f in out if not f.startswith("gr-lgmtsc/") and f != "tests/repo/test_import_paths.py"]


def test_gr_lgmtsc_is_imported_one_way():
    offenders = []
    for f in _python_files():
        path = REPO_ROOT / f
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if any(p.search(line) for p in OTHER_PATHS):
                offenders.append(f"{f}:{n}: {line.strip()}")
    assert not offenders, "gr-lgmtsc reached other than by `from gnuradio import lgmtsc`:\n" + "\n".join(offenders)


def test_a_message_tag_needs_no_pyzmq():
    probe = ("import sys\n"
             "from host_pipeline.link.auth import compute_tag, verify_tag\n"
             "from gnuradio.lgmtsc import pdu_format as pf\n"
             "meta = dict(version=pf.FORMAT_VERSION, mode='digital', sender_id=3, seq=9, n_tokens=4,"
             " prompt_class=1, flags=0, checkpoint=0)\n"
             "tag = compute_tag(bytes(32), meta, b'abcd')\n"
             "assert verify_tag(bytes(32), dict(meta, auth_tag=tag), b'abcd')\n"
             "assert not verify_tag(bytes(32), dict(meta, auth_tag=tag), b'abce')\n"
             "print(sorted(m for m in sys.modules if m == 'zmq' or m.startswith(('zmq.', 'host_pipeline.link.zmq'))"
             "))\n")
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", f"computing a tag imported {r.stdout.strip()}"


def test_the_link_package_offers_only_the_zmq_client():
    import host_pipeline.link as link

    assert link.__all__ == ["PhyLink"]
