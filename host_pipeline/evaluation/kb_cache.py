"""A shared SQLite cache of the private KB's deterministic outputs, so evaluations never redo an LLM step."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

KB_STEP_TIMEOUT_S = 90.0  # per KB step in evaluations: a loaded machine must not turn LLM steps into fall-backs


class KbCache:
    """Outputs of the private KB's transmitter/receiver, keyed by (step, text, length class, KB settings).

    The KB decodes greedily with a fixed seed, so its outputs are deterministic; SQLite lets several worker
    processes share the cache, and an interrupted evaluation keeps every finished LLM step. Outputs in which a
    step timed out are not cached (they depend on the machine's load, not on the text).
    """

    def __init__(self, path: Path, settings: str, cfg=None):
        self.cfg = cfg
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS kb (key TEXT PRIMARY KEY, output TEXT, sources TEXT, "
                        "seconds REAL)")
        self.db.commit()
        self.settings = settings
        self._kb = None

    def kb(self):
        if self._kb is None:
            from ..config import load_config
            from ..kb.private_kb import PrivateKnowledgeBase

            cfg = self.cfg or load_config()
            cfg.kb.step_timeout_s = max(cfg.kb.step_timeout_s, KB_STEP_TIMEOUT_S)
            cfg.llm.timeout_s = max(cfg.llm.timeout_s, KB_STEP_TIMEOUT_S)
            self._kb = PrivateKnowledgeBase.load(cfg.kb, cfg.llm)
        return self._kb

    def run(self, step: str, text: str, length_class: str) -> tuple[str, list[str]]:
        """(output text, step sources such as 'llm' or 'fallback:input') of ``kb.transmit``/``kb.receive``."""
        key = hashlib.sha256(json.dumps([step, text, length_class, self.settings]).encode()).hexdigest()
        row = self.db.execute("SELECT output, sources FROM kb WHERE key = ?", (key,)).fetchone()
        if row:
            return row[0], json.loads(row[1])
        t0 = time.time()
        fn = self.kb().transmit if step == "tx" else self.kb().receive
        res = fn(None, text, length_class=length_class)
        sources = [f"{s.step}:{s.source}" for s in res.steps]
        # a step that timed out or whose LLM failed (endpoint down) may answer on a later run: not cached
        if not any("timeout" in s.reason or s.reason.startswith("LLM ") for s in res.steps):
            self.db.execute("INSERT OR REPLACE INTO kb VALUES (?, ?, ?, ?)",
                            (key, res.text, json.dumps(sources), time.time() - t0))
            self.db.commit()
        return res.text, sources
