#!/bin/sh
# Image intake end to end: every file listed in tests/images/MANIFEST goes
# through build/mnist-predict (and its ASan build) and must give the digit
# or the error code listed; scripts/gen-test-images.py must reproduce the
# committed files byte for byte; the large photos (generated here, too big
# to commit) must give their digits; blank and frame-only uploads get a low
# confidence, from mnist-predict and from the service, and the service
# reads the digits in the framed fixtures.
. tests/lib.sh
B=${B:-build}
WEIGHTS=${WEIGHTS:-weights/model.safetensors}
tmp=$(tmpdir_make)

# check_set DIR PREDICT LABEL: one check per MANIFEST line.
check_set() {
    dir=$1 predict=$2 label=$3
    grep -v '^#' "$dir/MANIFEST" >"$tmp/list"
    while read -r f want; do
        out=$("$predict" --weights "$WEIGHTS" "$dir/$f" 2>"$tmp/err")
        rc=$?
        got=$(echo "$out" | cut -d' ' -f2)
        case "$want" in
        [0-9]) check_eq "$label $f" "$want" "$got" ;;
        any) check "$label $f answers (rc $rc, '$out')" \
                 sh -c "[ $rc -eq 0 ] && echo '$got' | grep -q '^[0-9]$'" ;;
        *) check "$label $f fails with $want, one line ($(cat "$tmp/err"))" \
               sh -c "[ $rc -ne 0 ] && grep -q '($want)\$' '$tmp/err' &&
                      [ \$(wc -l <'$tmp/err') -eq 1 ]" ;;
        esac
    done <"$tmp/list"
}

check_set tests/images "$B/mnist-predict" image
if [ -x "$B/asan/mnist-predict" ]; then
    ASAN_OPTIONS=detect_leaks=1 check_set tests/images "$B/asan/mnist-predict" asan
else
    ok "fixtures under ASan # SKIP no $B/asan/mnist-predict (make asan builds it; make test does)"
fi

# Several files at once: the good ones answered, the bad one reported, exit 1.
out=$("$B/mnist-predict" --weights "$WEIGHTS" tests/images/jpg_gray.jpg \
      tests/images/bad_gif.gif tests/images/png_gray8.png 2>"$tmp/err")
rc=$?
check_eq "mixed files: two answers" 2 "$(echo "$out" | wc -l)"
check_eq "mixed files: one error line" 1 "$(wc -l <"$tmp/err")"
check_eq "mixed files: exit status 1" 1 "$rc"
check "answer line format FILE DIGIT CONFIDENCE" \
    sh -c "echo '$out' | head -1 | grep -Eq '^tests/images/jpg_gray.jpg [0-9] [01]\.[0-9]{4}\$'"

# The generator is deterministic: the committed set is what it makes.
/usr/bin/python3 scripts/gen-test-images.py fixtures "$B/data" "$tmp/fx"
check "generator reproduces tests/images byte for byte" diff -r "$tmp/fx" tests/images

# Large photos, generated at test time.
/usr/bin/python3 scripts/gen-test-images.py large "$B/data" "$tmp/large"
check_set "$tmp/large" "$B/mnist-predict" large

# Blank uploads: a defined answer whose confidence says "no idea" (the
# model is trained to spread its probability over the ten digits there).
# An empty printed box or circle is blank once its frame is left out.
for f in blank_white.png one_pixel.png one_pixel.jpg frame_only_box.jpg frame_only_circle.jpg; do
    c=$("$B/mnist-predict" --weights "$WEIGHTS" "tests/images/$f" | cut -d' ' -f3)
    check "blank $f: confidence ${c:-?} below 0.3" awk -v c="${c:-1}" 'BEGIN { exit !(c < 0.3) }'
done

# The same through the service (HTTP, two workers, the engine `auto`
# picks): a blank upload and the empty box and circle in one request,
# every answer's top probability below 0.3 (issue 15).
. tests/integration/ops-lib.sh
if have_frontend; then
    FE_WEIGHTS=$WEIGHTS fe_start "$tmp" 2
    set -- blank_white.png frame_only_box.jpg frame_only_circle.jpg
    args=
    for f in "$@"; do args="$args -F file=@tests/images/$f"; done
    # shellcheck disable=SC2086
    curl -s $args "$FE_URL/predict" >"$tmp/blank.json"
    i=0
    for f in "$@"; do
        c=$(jq -r ".predictions[$i].confidence" "$tmp/blank.json" 2>/dev/null)
        check "service, blank $f: top probability ${c:-?} below 0.3" \
            awk -v c="${c:-1}" 'BEGIN { exit !(c ~ /^0\.[0-9]+$/ && c < 0.3) }'
        i=$((i + 1))
    done
    # The framed fixtures (boxes, circles, open frames, touching digits, the
    # form, the rules) in one request: the service reads each one's digit.
    grep '^frame_.* [0-9]$' tests/images/MANIFEST >"$tmp/framed"
    args=
    while read -r f want; do args="$args -F file=@tests/images/$f"; done <"$tmp/framed"
    # shellcheck disable=SC2086
    curl -s $args "$FE_URL/predict" >"$tmp/framed.json"
    i=0
    while read -r f want; do
        check_eq "service, framed $f" "$want" \
            "$(jq -r ".predictions[$i].digit" "$tmp/framed.json" 2>/dev/null)"
        i=$((i + 1))
    done <"$tmp/framed"
    check "service, framed: $(wc -l <"$tmp/framed") fixtures sent (at least 10)" \
        test "$(wc -l <"$tmp/framed")" -ge 10
    fe_stop
else
    ok "blank uploads through the service # SKIP no $B/mnist-frontend yet"
fi
