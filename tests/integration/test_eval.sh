# The C engine's TEST-split accuracy with the shipped weights (issue 15: at
# least 99.3 %; test_parity.py checks PyTorch's is the same), fp32 with
# every kernel variant this CPU has; the int8
# engine's gates (issue 14): TEST accuracy at least 98.9 % and within 0.15
# points of fp32, argmax agreement with fp32 at least 99.7 % on TEST and on
# the image fixtures (tests/images/, through mnist-predict); and both
# engines under valgrind on a batch that crosses max_batch. The int8 plain
# C kernels are too slow for the whole TEST split here; test_int8.py and
# t_kernels_int8 check them.
. tests/lib.sh
B=${B:-build}
acc() { sed -n 's/^accuracy \([0-9.]*\)% .*/\1/p'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
has() { grep -q " $1 " /proc/cpuinfo; }
for isa in default generic avx2 avx512; do
    case $isa in
    avx2) has avx2 || continue ;;
    avx512) has avx512f || continue ;;
    esac
    args=
    [ "$isa" = default ] || args="--isa $isa"
    a=$("$B/mnist-eval" --precision fp32 $args | acc)
    check "mnist-eval fp32 $isa: TEST accuracy ${a:-?}% >= 99.3%" at_least "${a:-0}" 99.3
done
f=$("$B/mnist-eval" --precision fp32 | acc)
for isa in default avx2; do
    [ "$isa" = avx2 ] && { has avx_vnni || continue; }
    args=
    [ "$isa" = default ] || args="--isa $isa"
    "$B/mnist-eval" --precision int8 $args >"$T_TMP/int8.txt"
    q=$(acc <"$T_TMP/int8.txt")
    check "mnist-eval int8 $isa: TEST accuracy ${q:-?}% >= 98.9%" at_least "${q:-0}" 98.9
    check "mnist-eval int8 $isa: ${q:-?}% within 0.15 points of fp32 ${f:-?}%" \
        awk -v a="${q:-0}" -v b="${f:-0}" 'BEGIN { d = a - b; exit !(d <= 0.15 && d >= -0.15) }'
    check "mnist-eval int8 $isa: prints a throughput line" \
        grep -Eq '^throughput: [0-9]+ images/s \(batch 32, 1 thread\)$' "$T_TMP/int8.txt"
done
# Argmax agreement on TEST, from the logits of both engines.
"$B/mnist-eval" --precision fp32 --raw "$B/data/test.images" --out "$T_TMP/f.f32" >/dev/null
"$B/mnist-eval" --precision int8 --raw "$B/data/test.images" --out "$T_TMP/q.f32" >/dev/null
agree=$(/usr/bin/python3 -c "
import numpy as np
a = np.fromfile('$T_TMP/f.f32', '<f4').reshape(-1, 10)
b = np.fromfile('$T_TMP/q.f32', '<f4').reshape(-1, 10)
print(f'{100 * (a.argmax(1) == b.argmax(1)).mean():.2f} {len(a)}' if a.shape == b.shape else '0 0')")
check "int8 and fp32 argmax agree on ${agree#* } TEST images: ${agree% *}% >= 99.7%" \
    at_least "${agree% *}" 99.7
# The image fixtures: every file the pipeline reads gets the same digit.
set -- $(grep -v '^#' tests/images/MANIFEST | awk '{print "tests/images/" $1}')
"$B/mnist-predict" --precision fp32 "$@" 2>/dev/null | awk '{print $1, $2}' >"$T_TMP/pf.txt"
"$B/mnist-predict" --precision int8 "$@" 2>/dev/null | awk '{print $1, $2}' >"$T_TMP/pq.txt"
n=$(wc -l <"$T_TMP/pf.txt")
same=$(paste -d' ' "$T_TMP/pf.txt" "$T_TMP/pq.txt" | awk '$1 == $3 && $2 == $4' | wc -l)
check "int8 and fp32 agree on $same of $n readable fixtures (>= 99.7%, > 30 read)" \
    awk -v s="$same" -v n="$n" 'BEGIN { exit !(n > 30 && s >= 0.997 * n) }'
# Memcheck over both engines: 10 TEST images in batches of 4 (crossing
# max_batch), logits compared with the plain run's (under valgrind, which
# has no AVX-512 or VNNI, the int8 engine runs its plain C kernels and the
# float32 attention: the plain run uses --isa avx2, the same attention, as
# the bf16 one of the AVX-512 kernels differs by more than 1e-4).
head -c $((10 * 784 * 4)) "$B/data/test.images" >"$T_TMP/in.f32"
for prec in fp32 int8; do
    "$B/mnist-eval" --precision $prec --batch 4 --isa avx2 --raw "$T_TMP/in.f32" \
        --out "$T_TMP/plain.f32" >/dev/null 2>&1
    valgrind -q --error-exitcode=99 "$B/mnist-eval" --precision $prec --batch 4 \
        --raw "$T_TMP/in.f32" --out "$T_TMP/vg.f32" >/dev/null 2>"$T_TMP/vg.err"
    check "mnist-eval $prec under valgrind: exit 0, no memcheck errors" [ $? -eq 0 ]
    check "mnist-eval $prec under valgrind: 100 logits written" \
        [ "$(wc -c <"$T_TMP/vg.f32")" -eq 400 ]
    check "mnist-eval $prec under valgrind: logits match the plain run within 1e-4" \
        /usr/bin/python3 -c "
import numpy as np, sys
a = np.fromfile('$T_TMP/plain.f32', '<f4'); b = np.fromfile('$T_TMP/vg.f32', '<f4')
sys.exit(not (a.size == b.size == 100 and np.abs(a - b).max() <= 1e-4))"
done
