#!/bin/sh
# Fuzz edustat's decoders of untrusted input with libFuzzer (clang):
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default 600 s each; targets: proto csv xlsx
# New inputs go to a scratch copy of the corpus; anything that crashes is
# left as crash-* in the current directory: add it to tests/fuzz/corpus/<target>/
# and fix the code, so every later test run replays it.
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-600}
[ $# -gt 0 ] && shift
TARGETS=${*:-proto csv xlsx}
OUT=${FUZZ_OUT:-build-fuzz}
mkdir -p "$OUT"
CFLAGS="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Ilib
        -Itests/fuzz"
LIBSRC="lib/util.c lib/log.c lib/proto.c lib/csvread.c lib/textenc.c lib/strmap.c lib/xlsx.c
        tests/fuzz/xlsx_build.c"
for t in $TARGETS; do
        # shellcheck disable=SC2086
        clang $CFLAGS $LIBSRC "tests/fuzz/fuzz_$t.c" -lmsgpackc -lcsv -lzip -lexpat -lm \
                -o "$OUT/fuzz_$t"
        rm -rf "$OUT/corpus_$t" && mkdir -p "$OUT/corpus_$t"
        cp tests/fuzz/corpus/"$t"/* "$OUT/corpus_$t/"
        echo "fuzz: $t for $SECS s" >&2
        "$OUT/fuzz_$t" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 \
                -print_final_stats=1 "$OUT/corpus_$t"
done
