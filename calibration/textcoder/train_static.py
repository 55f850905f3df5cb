"""Count the static text coder's byte-context table on the training split of the shared text data.

    python calibration/textcoder/train_static.py [--order 4] [--min-count 2] [--name order4]

The training split (IMDB reviews 500-999, SMS messages 2787-5573) never overlaps the evaluation sentences
(host_pipeline/textcoder/corpus.py). Writes host_pipeline/textcoder/tables/<name>.npz and its JSON card (SHA-256).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host_pipeline.textcoder.corpus import training_text  # noqa: E402
from host_pipeline.textcoder.static_model import TABLE_DIR, count_ngrams, save_table  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order", type=int, default=4)
    ap.add_argument("--min-count", type=int, default=2, help="drop n-grams of order >= 2 seen fewer times")
    ap.add_argument("--name", default=None, help="table name (default order<k>)")
    args = ap.parse_args()
    corpus = training_text().encode("utf-8")
    tables = count_ngrams(corpus, args.order, args.min_count)
    path = TABLE_DIR / f"{args.name or f'order{args.order}'}.npz"
    card = {"corpus": "IMDB reviews 500-999 + SMS messages 2787-5573 (data/text)",
            "corpus_bytes": len(corpus), "min_count": args.min_count,
            "ngrams": [int(len(k)) for k, _ in tables], "script": "calibration/textcoder/train_static.py"}
    sha = save_table(path, tables, card)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB, {card['ngrams']} n-grams, sha256 {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
