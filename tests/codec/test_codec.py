"""The shipped codec: round trips on held-out sentences, accuracy under noise, and clear errors on bad input."""

import json
import shutil

import numpy as np
import pytest
import torch

from host_pipeline.codec import CodecConfig, SemanticCodec
from host_pipeline.codec import channel as ch
from host_pipeline.codec.codec import resolve_checkpoint
from host_pipeline.codec.corpus import load_corpus
from host_pipeline.codec.model import load_checkpoint
from host_pipeline.errors import InputError, ModelError

pytestmark = pytest.mark.slow  # loads MiniLM (a few seconds)


@pytest.fixture(scope="module")
def codec():
    return SemanticCodec.load(CodecConfig())


@pytest.fixture(scope="module")
def held_out(codec):
    texts = [t for t in load_corpus().test if codec.encoder.unk_id not in codec.encoder.tokenize(t, "replace")]
    return [t for t in texts if 5 <= len(codec.encoder.tokenize(t)) <= 40][:60]


def test_encoded_message_shape_and_power(codec, held_out):
    msg = codec.encode(held_out[0])
    assert msg.symbols.dtype == np.complex64
    assert msg.symbols.size == msg.n_tokens * codec.uses == len(msg.token_ids) * codec.uses
    assert float(np.mean(np.abs(msg.symbols) ** 2)) == pytest.approx(1.0, rel=1e-3)


def test_noiseless_round_trip_recovers_held_out_sentences(codec, held_out):
    exact = 0
    for t in held_out:
        msg = codec.encode(t)
        exact += codec.decode(msg.symbols, 0.0, msg.n_tokens) == codec.encoder.canonical(t)
    assert exact >= 0.95 * len(held_out), f"{exact}/{len(held_out)} exact"


def test_token_accuracy_at_high_and_moderate_snr(codec, held_out):
    gen = torch.Generator().manual_seed(5)
    for esn0_db, kind, floor in ((20.0, "awgn", 0.98), (10.0, "awgn", 0.95), (10.0, "rayleigh", 0.85)):
        right = total = 0
        for t in held_out:
            msg = codec.encode(t)
            out = ch.transmit(torch.as_tensor(msg.symbols), esn0_db, kind, generator=gen)
            got = codec.decode_token_ids(out.symbols.numpy(), out.noise_var.numpy(), msg.n_tokens)
            right += sum(a == b for a, b in zip(got, msg.token_ids))
            total += msg.n_tokens
        assert right / total >= floor, (esn0_db, kind, right / total)


def test_scalar_and_per_symbol_noise_variance_agree(codec, held_out):
    msg = codec.encode(held_out[1])
    y = msg.symbols + 0.1 * (1 + 1j)
    a = codec.decode_token_ids(y, 0.05, msg.n_tokens)
    b = codec.decode_token_ids(y, np.full(msg.symbols.size, 0.05, np.float32), msg.n_tokens)
    assert a == b


def test_long_text_is_chunked_not_truncated(codec, held_out):
    text = " ".join(held_out[:40])
    ids = codec.encoder.tokenize(text)
    assert len(ids) > 2 * codec.config.max_tokens_per_chunk
    msg = codec.encode(text)
    assert msg.n_tokens == len(ids) and sum(msg.chunk_lengths) == len(ids) and len(msg.chunk_lengths) >= 3
    assert max(msg.chunk_lengths) <= codec.config.max_tokens_per_chunk
    got = codec.decode_token_ids(msg.symbols, 0.0, msg.n_tokens)
    assert len(got) == len(ids)
    assert sum(a == b for a, b in zip(got, ids)) / len(ids) >= 0.98


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_refused(codec, text):
    with pytest.raises(InputError, match="empty"):
        codec.encode(text)


def test_non_ascii_text(codec):
    msg = codec.encode("Café in Zürich, naïve façade")  # accents are folded by the uncased vocabulary
    assert codec.decode(msg.symbols, 0.0, msg.n_tokens) == "cafe in zurich, naive facade"
    with pytest.raises(InputError, match="cannot spell"):
        codec.encode("see you 😀 later")
    lenient = SemanticCodec(codec.encoder, codec.model, codec.card, CodecConfig(unknown_chars="replace"))
    msg = lenient.encode("see you 😀 later")
    assert codec.encoder.unk_id in msg.token_ids


def test_decode_rejects_wrong_symbol_count_and_bad_noise(codec, held_out):
    msg = codec.encode(held_out[2])
    with pytest.raises(InputError, match="symbols"):
        codec.decode(msg.symbols[:-1], 0.1, msg.n_tokens)
    with pytest.raises(InputError, match="noise variance"):
        codec.decode(msg.symbols, np.ones(3), msg.n_tokens)
    with pytest.raises(InputError):
        codec.decode(msg.symbols, -1.0, msg.n_tokens)


def test_checkpoint_with_wrong_hash_is_refused(codec, tmp_path):
    src = resolve_checkpoint(CodecConfig().checkpoint)
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    data = bytearray(dst.read_bytes())
    data[-10] ^= 0xFF
    dst.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_checkpoint(dst, codec.encoder.hidden_size, codec.encoder.vocab_size)


def test_checkpoint_for_another_encoder_or_shape_is_refused(codec, tmp_path):
    from safetensors.torch import load_file, save_file

    from host_pipeline.codec.model import file_sha256

    src = resolve_checkpoint(CodecConfig().checkpoint)
    with pytest.raises(ModelError, match="hidden size"):
        load_checkpoint(src, 768, codec.encoder.vocab_size)
    tensors = load_file(str(src))
    tensors["decoder.out_bias"] = tensors["decoder.out_bias"][:-5].clone()
    dst = tmp_path / "bad.safetensors"
    save_file(tensors, str(dst))
    card = json.loads(src.with_suffix(".json").read_text())
    card["sha256"] = file_sha256(dst)
    dst.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not fit"):
        load_checkpoint(dst, codec.encoder.hidden_size, codec.encoder.vocab_size)


def test_channel_uses_setting_must_match_checkpoint(codec):
    with pytest.raises(ModelError, match="channel uses"):
        SemanticCodec.load(CodecConfig(channel_uses_per_token=codec.uses + 1))
    assert SemanticCodec.load(CodecConfig()) is codec  # loaded once per process


def test_unknown_checkpoint_name(codec):
    with pytest.raises(ModelError, match="unknown codec checkpoint"):
        SemanticCodec.load(CodecConfig(checkpoint="no-such-checkpoint"))
