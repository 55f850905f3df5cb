#!/usr/bin/env bash
# Rebuild samples/demo/talking_face_demo.mp4 from public-domain/free data in data/:
# the official White House portrait of Barack Obama (US government work, public domain), cropped to the
# face, shown as a still 25 fps video, with three CMU ARCTIC utterances of speaker aew (BSD-style free
# licence) separated by 0.7 s pauses. See samples/README.md for attribution.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${LGMTSC_REAL_DATA:-$REPO/data}"
OUT="$REPO/samples/demo"
mkdir -p "$OUT"
ffmpeg -loglevel error -y \
  -i "$DATA/speech/cmu_arctic_us_aew_a0001.wav" -i "$DATA/speech/cmu_arctic_us_aew_a0002.wav" \
  -i "$DATA/speech/cmu_arctic_us_aew_a0003.wav" \
  -f lavfi -t 0.7 -i anullsrc=r=16000:cl=mono \
  -filter_complex "[0:a][3:a][1:a][3:a][2:a]concat=n=5:v=0:a=1[a]" -map "[a]" -ar 16000 -ac 1 /tmp/lgmtsc_demo_audio.wav
DUR="$(ffprobe -v error -show_entries format=duration -of csv=p=0 /tmp/lgmtsc_demo_audio.wav)"
ffmpeg -loglevel error -y -loop 1 -framerate 25 -t "$DUR" -i "$DATA/faces/face_recognition_obama.jpg" -i /tmp/lgmtsc_demo_audio.wav \
  -vf "crop=640:640:165:0,scale=512:512,format=yuv420p" -c:v libx264 -preset slow -crf 23 -tune stillimage \
  -c:a aac -b:a 48k -t "$DUR" -movflags +faststart \
  -metadata title="LGM-TSC demo talking-face sample" \
  -metadata comment="Portrait: official White House photo (public domain). Speech: CMU ARCTIC aew a0001-a0003 (BSD-style licence)." \
  "$OUT/talking_face_demo.mp4"
printf 'start_s\tend_s\ttranscript\n' > "$OUT/transcript.tsv"
# Ground truth: the utterances' transcripts (data/speech/transcripts.tsv) at their positions in the audio.
/usr/bin/python3 - "$DATA" >> "$OUT/transcript.tsv" <<'PY'
import csv, sys, wave
data = sys.argv[1]
rows = {r["file"]: r["transcript"] for r in csv.DictReader(open(f"{data}/speech/transcripts.tsv"), delimiter="\t")}
t = 0.0
for i, n in enumerate(("a0001", "a0002", "a0003")):
    f = f"cmu_arctic_us_aew_{n}.wav"
    with wave.open(f"{data}/speech/{f}") as w:
        d = w.getnframes() / w.getframerate()
    print(f"{t:.3f}\t{t + d:.3f}\t{rows[f]}")
    t += d + 0.7
PY
rm -f /tmp/lgmtsc_demo_audio.wav
echo "wrote $OUT/talking_face_demo.mp4"
