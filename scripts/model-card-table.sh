#!/bin/sh
# The per-digit TEST accuracy table of weights/MODEL_CARD.md: fp32 beside
# int8 (the kernels this CPU runs by default, and --isa avx2: AVX-VNNI int8
# with the float32 attention, what a CPU without AVX-512 BF16 computes), from
# build/mnist-eval on the weights given (default weights/model.safetensors),
# so the card's figures are computed, never typed.
#   sh scripts/model-card-table.sh            print the table
#   sh scripts/model-card-table.sh --write    replace it in weights/MODEL_CARD.md
#                                             (between the accuracy-table markers)
#   sh scripts/model-card-table.sh --check    exit 1 if the card's table differs
B=${B:-build}
W=${WEIGHTS:-weights/model.safetensors}
CARD=weights/MODEL_CARD.md
t=$(mktemp -d "${TMPDIR:-/tmp}/mnist-card.XXXXXX")
trap 'rm -rf "$t"' EXIT
row() { # LABEL ARGS...: "| LABEL | overall | digit 0 | ... | digit 9 |", with
    # KERNELS in LABEL replaced by the kernels mnist-eval names in its first line
    label=$1; shift
    "$B/mnist-eval" --weights "$W" "$@" >"$t/out" || exit 1
    awk -v l="$label" '
        NR == 1 && match($0, /\([^ ]+ kernels\)/) { sub("KERNELS", substr($0, RSTART + 1, RLENGTH - 10), l) }
        /^accuracy / { sub("%", "", $2); all = $2 }
        /^digit / { sub("%", "", $3); d[++n] = sprintf("%.1f", $3) }
        END { printf "| %s | %s |", l, all; for (i = 1; i <= n; i++) printf " %s |", d[i]; print "" }' "$t/out"
}
{
    echo "<!-- accuracy-table: made by scripts/model-card-table.sh, do not edit -->"
    echo "| TEST accuracy % | all | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    row "fp32 (KERNELS)" --precision fp32
    row "int8 (KERNELS; bf16 attention where the CPU has AVX-512 BF16)" --precision int8
    row "int8 (KERNELS, --isa avx2; float32 attention)" --precision int8 --isa avx2
    echo "<!-- accuracy-table: end -->"
} >"$t/table"
case "$1" in
--write | --check)
    awk -v f="$t/table" '
        /^<!-- accuracy-table: made by/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /^<!-- accuracy-table: end -->/ { skip = 0; next }
        !skip' "$CARD" >"$t/card"
    if [ "$1" = --check ]; then
        cmp -s "$t/card" "$CARD" || { diff "$CARD" "$t/card"; exit 1; }
    else
        cp "$t/card" "$CARD"
    fi ;;
*) cat "$t/table" ;;
esac
