"""Mandarin round trip: Kokoro speaks 20 Mandarin sentences (reconstruct.language=zh), Whisper base transcribes
them (language zh, converted to simplified characters), character error rate against the text.

    python benchmarks/voice_mandarin.py --out out/voice [--voices zf_xiaoxiao zm_yunxi]
    python benchmarks/voice_mandarin.py --out out/voice --rescore   # score voice_mandarin.csv again, no synthesis

The sentences were written for this benchmark: everyday topics, polyphones (行 长 还 得 重 乐 觉 都), numbers,
neutral tones and erhua-free standard Mandarin. CER = character edit distance / reference characters, punctuation
and spaces removed on both sides, and the third-person pronouns 他/她/它 (all pronounced tā, told apart only in
writing) counted as one; Arabic numerals in Whisper's output are read as Chinese numerals (320 -> 三百二十), as
the TTS reads them. Writes voice_mandarin.csv (one row per sentence and voice) and prints the pooled
CER and the TTS real-time factor per voice.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCES = [
    "今天天气很好，我们一起去公园散步吧。",
    "银行行长说明天上午九点开会。",
    "他还没还我上个月借给他的钱。",
    "这家饭店的菜做得非常好吃。",
    "我觉得这个问题比较重要，需要重新讨论。",
    "孩子们都在操场上快乐地玩游戏。",
    "请问去火车站应该坐几路公共汽车？",
    "她每天早上六点起床，然后跑步半个小时。",
    "这本书一共有三百二十页，我已经看完了一半。",
    "我们公司明年打算在上海开一家新的分店。",
    "医生告诉我要多喝水，少吃辣的东西。",
    "周末我想和朋友一起去看电影。",
    "这个城市的交通越来越方便了。",
    "老师让学生们把作业写在本子上。",
    "音乐会的票已经全部卖完了。",
    "你能帮我把窗户关上吗？外面太冷了。",
    "爷爷喜欢在院子里种花和养鱼。",
    "我们应该保护环境，节约用水。",
    "这条河的长度大约是五千米。",
    "他长得很高，跑得也很快。",
]
_STRIP = re.compile(r"[\s，。？！、：；,.?!:;\"'“”（）()]")


def char_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance, reference length) over characters, punctuation and spaces removed."""
    from host_pipeline.reconstruct.phonemes import _zh_number

    a, b = (_STRIP.sub("", re.sub(r"\d+(?:\.\d+)?", _zh_number, t)).replace("她", "他").replace("它", "他")
            for t in (ref, hyp))
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1], len(a)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/voice_mandarin")
    ap.add_argument("--voices", nargs="+", default=["zf_xiaoxiao", "zm_yunxi"])
    ap.add_argument("--rescore", action="store_true", help="score the hypotheses in voice_mandarin.csv again")
    args = ap.parse_args()
    if args.rescore:
        with open(Path(args.out) / "voice_mandarin.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for name in dict.fromkeys(r["voice"] for r in rows):
            mine = [r for r in rows if r["voice"] == name]
            errs, refs = (sum(x) for x in zip(*(char_errors(r["text"], r["hypothesis"]) for r in mine)))
            rtf = sorted(float(r["tts_rtf"]) for r in mine)[len(mine) // 2]
            print(f"{name}: CER {errs / refs:.1%} ({errs}/{refs} characters, {len(mine)} sentences), "
                  f"median TTS RTF {rtf:.2f}")
        return 0
    import zhconv

    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tts, asr = KokoroTts(ReconstructConfig(language="zh")), load_asr(AsrConfig())
    rows = []
    for name in args.voices:
        errs = refs = 0
        synth = dur = 0.0
        for s in SENTENCES:
            sp = tts.synthesize(s, Voice.parse(name))
            hyp = zhconv.convert(asr.recognize(_resample(sp.audio, 16000 / sp.sample_rate), [], "zh").text, "zh-cn")
            e, n = char_errors(s, hyp)
            errs, refs, synth, dur = errs + e, refs + n, synth + sp.synthesis_s, dur + sp.duration_s
            rows.append([name, s, hyp, e, n, round(sp.rtf, 3)])
            print(f"{name}: {e}/{n}  {s} -> {hyp}", flush=True)
        print(f"{name}: CER {errs / refs:.1%} ({errs}/{refs} characters), TTS RTF {synth / dur:.2f}", flush=True)
    with open(out / "voice_mandarin.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["voice", "text", "hypothesis", "char_errors", "chars", "tts_rtf"])
        w.writerows(rows)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: wrote {out / 'voice_mandarin.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
