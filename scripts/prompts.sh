#!/bin/sh
# Regenerates the shipped prompts (dialplan/sounds/<lang>/cc-*.wav: the survey's, the
# queue callback's)
# from their source text (the .txt next to each), with Debian's espeak-ng and sox:
#   apt-get install -y espeak-ng sox && sh scripts/prompts.sh
# Output: 8 kHz, mono, 16-bit signed PCM WAV (Asterisk's "wav" format).
set -eu
here=$(dirname "$0")/../dialplan/sounds
voice() { case "$1" in zh) echo cmn ;; en) echo en-us ;; *) echo "$1" ;; esac; }
for lang in zh en; do
    for txt in "$here/$lang"/cc-*.txt; do
        wav="${txt%.txt}.wav"
        espeak-ng -v "$(voice "$lang")" -s 150 -f "$txt" -w "$wav.tmp.wav"
        sox -D "$wav.tmp.wav" -r 8000 -c 1 -b 16 -e signed-integer "$wav" norm -3
        rm -f "$wav.tmp.wav"
        echo "$wav"
    done
done
