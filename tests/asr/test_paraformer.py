"""FunASR Paraformer backend against FunASR's real code: tiny SeACo-Paraformer and CT-Transformer punctuation
folders with random weights, built from FunASR's own model registry (the real weights are not in any package).

The text is garbage (random weights); what is checked is the plumbing: the loader, hotword phrases, confidences,
timestamps, thread count and the refusals."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("funasr")
torch = pytest.importorskip("torch")

from host_pipeline.asr.config import AsrConfig  # noqa: E402
from host_pipeline.asr.paraformer import ParaformerAsr, check_model_dir, hotword_phrases, token_times  # noqa: E402
from host_pipeline.errors import ConfigError, ModelError  # noqa: E402

TOKENS = ["<blank>", "<s>", "</s>", *"你好世界达摩院语音识别", "hello", "world", "<unk>"]
LFR_DIM = 80 * 7  # fbank bins x stacked frames (lfr_m), the encoder's input


def _save(root: Path, cfg: dict, tokens: list[str], seed: int = 0, **model_kwargs) -> None:
    import yaml
    from funasr.register import tables

    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    (root / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    torch.manual_seed(seed)
    model = tables.model_classes[cfg["model"]](**cfg, **cfg["model_conf"], vocab_size=len(tokens), **model_kwargs)
    torch.save(model.state_dict(), root / "model.pt")


def build_seaco(root: Path) -> Path:
    """SeACo-Paraformer in FunASR's template layout (funasr/models/seaco_paraformer/template.yaml), tiny sizes."""
    import funasr.models.seaco_paraformer.model  # noqa: F401 - registers the classes

    d = 32
    sanm = {"kernel_size": 11, "sanm_shfit": 0}
    cfg = {
        "model": "SeacoParaformer",
        "model_conf": {"ctc_weight": 0.0, "predictor_bias": 1, "inner_dim": d, "bias_encoder_type": "lstm",
                       "NO_BIAS": len(TOKENS) - 1},
        "encoder": "SANMEncoder",
        "encoder_conf": {"output_size": d, "attention_heads": 2, "linear_units": 64, "num_blocks": 2,
                         "input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True,
                         "selfattention_layer_type": "sanm", **sanm},
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 2, "att_layer_num": 2, **sanm},
        "seaco_decoder": "ParaformerSANMDecoder",
        "seaco_decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1, "kernel_size": 21,
                               "sanm_shfit": 0, "use_output_layer": False, "wo_input_layer": True},
        "predictor": "CifPredictorV3",
        "predictor_conf": {"idim": d, "threshold": 1.0, "l_order": 1, "r_order": 1, "tail_threshold": 0.45,
                           "smooth_factor2": 0.25, "noise_threshold2": 0.01, "upsample_times": 3,
                           "use_cif1_cnn": False, "upsample_type": "cnn_blstm"},
        "frontend": "WavFrontend",
        "frontend_conf": {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25, "frame_shift": 10,
                          "lfr_m": 7, "lfr_n": 6, "dither": 0.0},
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }
    _save(root, cfg, TOKENS, seed=2, input_size=LFR_DIM)  # a seed whose random decoder does not loop
    ones = " ".join(["0"] * LFR_DIM)
    (root / "am.mvn").write_text(f"<Nnet>\n<AddShift> {LFR_DIM} {LFR_DIM}\n<LearnRateCoef> 0 [ {ones} ]\n"
                                 f"<Rescale> {LFR_DIM} {LFR_DIM}\n<LearnRateCoef> 0 [ {ones.replace('0', '0.1')} ]\n"
                                 "</Nnet>\n")
    words = [t for t in TOKENS if not t.startswith("<")]  # each word or character -> its tokens, as in the zh model
    (root / "seg_dict").write_text("".join(f"{w} {w}\n" for w in words), encoding="utf-8")
    return root


def build_punc(root: Path) -> Path:
    """CT-Transformer punctuation (funasr/models/ct_transformer/template.yaml), tiny sizes."""
    import funasr.models.ct_transformer.model  # noqa: F401

    cfg = {"model": "CTTransformer",
           "model_conf": {"ignore_id": 0, "embed_unit": 16, "att_unit": 16, "dropout_rate": 0.1,
                          "punc_list": ["<unk>", "_", ",", "。", "?", "、"], "punc_weight": [1.0] * 6,
                          "sentence_end_id": 3},
           "encoder": "SANMEncoder",
           "encoder_conf": {"input_size": 16, "output_size": 16, "attention_heads": 2, "linear_units": 32,
                            "num_blocks": 1, "input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder",
                            "normalize_before": True, "kernel_size": 11, "sanm_shfit": 0,
                            "selfattention_layer_type": "sanm", "padding_idx": 0},
           "tokenizer": "CharTokenizer", "tokenizer_conf": {"unk_symbol": "<unk>"}}
    _save(root, cfg, ["<blank>", "<s>", "</s>", *"你好世界达摩院语音识别", "<unk>"])
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("funasr")
    return build_seaco(root / "seaco"), build_punc(root / "punc")


@pytest.fixture(scope="module")
def asr(folders):
    seaco, punc = folders
    # random weights repeat a few tokens: the loop guards are off so the text itself comes through
    return ParaformerAsr(seaco, AsrConfig(backend="paraformer", model=str(seaco), punc_model=str(punc), threads=1,
                                          max_repeats=10_000, compression_ratio_threshold=1e9))


def _speechlike(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.2 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
            ).astype(np.float32)


def test_random_weights_run_end_to_end_with_confidences_and_timestamps(asr):
    before = torch.get_num_threads()
    rec = asr.recognize(_speechlike(), [], None)
    assert torch.get_num_threads() == before  # asr.threads=1 held only while FunASR ran
    assert asr.language == "zh"
    assert rec.outcome == "words", rec.reason
    assert rec.text and 0.0 < rec.confidence < 1.0
    bare = re.sub(r"<unk>|[\W_]", "", rec.text).lower()  # the random punctuation model also writes <unk>
    assert "".join(t.token for t in rec.tokens).lower() == bare  # a time for every token of the text
    starts = [t.start for t in rec.tokens]
    assert starts == sorted(starts) and all(0 <= t.start <= t.end <= 2.5 for t in rec.tokens)
    assert all(0.0 < t.probability <= 1.0 for t in rec.tokens)
    geo = float(np.exp(np.mean(np.log([t.probability for t in rec.tokens]))))
    assert rec.confidence == pytest.approx(geo, abs=0.02)  # the tokens' probabilities, not a constant
    again = asr.recognize(_speechlike(), [], None)
    assert (again.text, again.confidence) == (rec.text, rec.confidence)  # deterministic


class _Counter(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802
        _Counter.hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello\n")

    def log_message(self, *a):
        pass


def test_hotword_phrases_stay_whole_and_urls_are_not_fetched(asr, tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/hotwords.txt"
        asr.recognize(_speechlike(1.0), ["hello world", "达摩院", url], None)
    finally:
        srv.shutdown()
        srv.server_close()
    hw = asr.model.model.hotword_list  # what FunASR made of them: one entry per phrase, then <s>
    assert len(hw) == 4, hw
    ids = {t: i for i, t in enumerate(TOKENS)}
    assert hw[0] == [ids["hello"], ids["world"]]  # two words, one hotword
    assert hw[1] == [ids["达"], ids["摩"], ids["院"]]
    assert _Counter.hits == 0


def test_hotword_file(folders, tmp_path):
    seaco, _ = folders
    f = tmp_path / "hot.txt"
    f.write_text("# names\n达摩院\n\n  hello   world \n达摩院\n", encoding="utf-8")
    a = ParaformerAsr(seaco, AsrConfig(backend="paraformer", model=str(seaco), hotword_file=str(f), threads=1))
    assert a.file_hotwords == ["达摩院", "hello world"]
    a.recognize(_speechlike(1.0), ["你好"], None)
    assert len(a.model.model.hotword_list) == 4
    with pytest.raises(ConfigError, match="does not exist"):
        ParaformerAsr(seaco, AsrConfig(backend="paraformer", model=str(seaco), hotword_file=str(tmp_path / "no")))
    with pytest.raises(ConfigError, match="transcribes 'zh'"):
        ParaformerAsr(seaco, AsrConfig(backend="paraformer", model=str(seaco), language="en"))


def test_a_folder_without_weights_is_refused(folders, tmp_path):
    seaco, _ = folders
    onnx = tmp_path / "onnx_only"
    onnx.mkdir()
    for name in ("config.yaml", "tokens.json", "am.mvn"):
        (onnx / name).write_bytes((seaco / name).read_bytes())
    (onnx / "model.onnx").write_bytes(b"\0")
    (onnx / "configuration.json").write_text(json.dumps(
        {"framework": "pytorch", "file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                                                     "tokenizer_conf": {"token_list": "tokens.json"}}}))
    with pytest.raises(ModelError, match="model.pt is missing .model.onnx is for FunASR's ONNX runtime"):
        check_model_dir(onnx)
    with pytest.raises(ModelError, match="random weights"):
        ParaformerAsr(onnx, AsrConfig(backend="paraformer", model=str(onnx)))
    (onnx / "configuration.json").write_text("{not json")
    with pytest.raises(ModelError, match="not readable JSON"):
        check_model_dir(onnx)


def test_phrases_and_token_times_pairing():
    assert hotword_phrases(["a  b", "a b", "", "c\nd", " "]) == ["a b", "c d"]
    t = token_times(["你", "好"], np.array([0.5, 0.25]), [[100, 200], [200, 340]])
    assert [(x.token, x.start, x.end, x.probability) for x in t] == [("你", 0.1, 0.2, 0.5), ("好", 0.2, 0.34, 0.25)]
    w = token_times(["hel@@", "lo", "world"], np.array([0.5, 0.5, 0.8]), [[0, 300], [300, 600]])
    assert [(x.token, x.probability) for x in w] == [("hello", 0.25), ("world", 0.8)]
    assert token_times(["a", "b"], np.array([0.5, 0.5]), []) == []
