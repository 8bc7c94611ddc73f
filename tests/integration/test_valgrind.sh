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
$vg "$B/mnist-predict" tests/images/* >"$out/predict.out" 2>"$out/predict.err"
rc=$?
check "mnist-predict on all fixtures: no memcheck errors (rc $rc)" [ "$rc" -ne 99 ]
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
