"""A cheap sweep cell: token accuracy of the semantic codec on a fixed set of held-out messages at one
(checkpoint, channel, SNR, seed). Used by the sweep benchmark (200 cells) and the sweep engine's tests."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4)
def _messages(checkpoint: str, n: int):
    from ..codec import CodecConfig, SemanticCodec
    from .codec import held_out_messages

    codec = SemanticCodec.load(CodecConfig(checkpoint=checkpoint))
    return codec, [codec.encode(t) for t in held_out_messages(codec.encoder, n, seed=0)]


def codec_cell(params: dict, seed: int) -> dict:
    """Token accuracy (same id at the same position) over ``params['n']`` messages, channel seeded by ``seed``."""
    import torch

    from ..codec.codec import through_channel

    codec, msgs = _messages(params.get("checkpoint", "minilm-l6-u16"), int(params.get("n", 20)))
    gen = torch.Generator().manual_seed(seed)
    right = total = 0
    for m in msgs:
        x = torch.from_numpy(m.symbols).reshape(1, m.n_tokens, m.channel_uses_per_token)
        y, nv = through_channel(x, float(params["snr_db"]), params["channel"], gen)
        got = codec.decode_token_ids(y.reshape(-1).numpy(), nv.reshape(-1).numpy(), m.n_tokens)
        right += sum(a == b for a, b in zip(got, m.token_ids))
        total += m.n_tokens
    return {"token_accuracy": right / total, "tokens": total}
