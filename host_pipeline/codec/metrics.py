"""Text metrics of received versus sent messages (both compared in the encoder's canonical form)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def token_accuracy(sent: list[int], received: list[int]) -> float:
    """Fraction of the sent token positions received with the same id (missing positions count as wrong)."""
    if not sent:
        return 1.0
    return sum(a == b for a, b in zip(sent, received)) / len(sent)


def bleu(hyps: list[str], refs: list[str], max_order: int) -> float:
    """Corpus BLEU-n in [0, 1] with sacrebleu (13a tokenisation, exponential smoothing)."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(max_ngram_order=max_order, effective_order=True)
    return metric.corpus_score(hyps, [refs]).score / 100.0


def word_error_rate(hyps: list[str], refs: list[str]) -> float:
    """Corpus WER (jiwer); an empty hypothesis counts every reference word as deleted."""
    import jiwer

    return float(jiwer.wer(refs, [h if h.strip() else "" for h in hyps]))


def similarity(encoder, hyps: list[str], refs: list[str]) -> torch.Tensor:
    """Cosine of mean-pooled sentence embeddings per pair (the encoder's own; a lost message scores 0)."""
    sims = torch.ones(len(hyps))  # identical text scores 1 without running the encoder
    todo = [i for i, (h, r) in enumerate(zip(hyps, refs)) if h != r and h.strip()]
    if todo:
        eh = encoder.sentence_embeddings([hyps[i] for i in todo])
        er = encoder.sentence_embeddings([refs[i] for i in todo])
        sims[todo] = (eh * er).sum(-1).clamp(-1.0, 1.0)
    lost = torch.tensor([not h.strip() for h in hyps], dtype=torch.bool)
    return sims.masked_fill(lost, 0.0)


@dataclass
class Scores:
    token_accuracy: float
    bleu1: float
    bleu4: float
    similarity: float
    wer: float
    delivered: float  # fraction of messages delivered (digital: CRC ok; semantic: always 1)


def score(encoder, sent_ids: list[list[int]], recv_ids: list[list[int]], refs: list[str], hyps: list[str],
          delivered: list[bool] | None = None) -> Scores:
    """All metrics of one condition (lists aligned per message)."""
    acc = sum(token_accuracy(s, r) * len(s) for s, r in zip(sent_ids, recv_ids)) / max(1, sum(map(len, sent_ids)))
    sims = similarity(encoder, hyps, refs)
    return Scores(acc, bleu(hyps, refs, 1), bleu(hyps, refs, 4), float(sims.mean()), word_error_rate(hyps, refs),
                  1.0 if delivered is None else sum(delivered) / max(1, len(delivered)))
