# Memcheck over the real binaries: the decode + normalise + engine pipeline
# on every good and bad fixture (mnist-predict), the unit tests of the
# parsers that face client bytes, and mnist-eval. Valgrind sees no AVX-512,
# so the engine runs its AVX2 or plain kernels here (chosen at load).
. tests/lib.sh
B=${B:-build}
command -v valgrind >/dev/null || { not_ok "valgrind installed"; exit 1; }
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
out=$(tmpdir_make)

# mnist-predict answers good files and reports bad ones (exit 1), never a
# memcheck error (exit 99).
# The fixtures in two halves, one valgrind per core, then one report.
set -- tests/images/*
half=$((($# + 1) / 2))
$vg "$B/mnist-predict" $(printf '%s\n' "$@" | head -n $half) >"$out/p1.out" 2>"$out/p1.err" &
p1=$!
$vg "$B/mnist-predict" $(printf '%s\n' "$@" | tail -n +$((half + 1))) >"$out/p2.out" 2>"$out/p2.err"
rc2=$?
wait $p1
rc1=$?
cat "$out/p1.out" "$out/p2.out" >"$out/predict.out"
cat "$out/p1.err" "$out/p2.err" >"$out/predict.err"
rc=$((rc1 == 99 || rc2 == 99 ? 99 : 0))
check "mnist-predict on all fixtures ($# files): no memcheck errors (rc $rc1 $rc2)" [ "$rc" -ne 99 ]
check "mnist-predict answered the good fixtures" grep -q 'png_gray8.png 6 ' "$out/predict.out"
check "mnist-predict reported the bad fixtures" grep -q 'bad_truncated.png' "$out/predict.err"
if grep -q '==[0-9]*==' "$out/predict.err"; then
    not_ok "mnist-predict: valgrind output"; grep '==' "$out/predict.err" | head -20
else
    ok "mnist-predict: no valgrind reports"
fi

for t in t_sft t_proto t_proto_input t_multipart t_v2_codec t_config; do
    [ -x "$B/tests/$t" ] || { not_ok "$t built"; continue; }
    $vg "$B/tests/$t" >"$out/$t.out" 2>&1
    rc=$?
    check "$t under valgrind (rc $rc)" [ "$rc" -eq 0 ]
done
