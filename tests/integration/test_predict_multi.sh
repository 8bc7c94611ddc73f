#!/bin/sh
# POST /predict with several `file` parts (frontend/predict_multi.c): the
# predictions in part order, one file answering exactly as before, the
# documented maximum of 32, and a failing file named by its index.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "predict checks # SKIP no $B/mnist-frontend yet"
    exit 0
fi
fe_start "$tmp" 2
s=saved_images
post() { curl -s -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@" "$FE_URL/predict${Q:-}"; }
jqe() { jq -e "$@" >/dev/null; }
hdr() { tr -d '\r' <"$tmp/head" | sed -n "s/^$1: //Ip"; }

check_eq "three files: 200" 200 "$(post -F file=@$s/img_0_label_6.png -F file=@$s/img_2_label_7.png \
    -F file=@$s/img_7_label_1.png)"
check_eq "three files: the digits in order" "6 7 1" "$(jq -r '[.predictions[].digit] | join(" ")' "$tmp/body")"
check "three files: each has a confidence, nothing else" \
    jqe '.predictions | length == 3 and all(keys == ["confidence", "digit"])' "$tmp/body"
check "three files: X-Model-Version" test -n "$(hdr x-model-version)"
post -F file=@$s/img_0_label_6.png >/dev/null
# exactly the one-file answer: digit and confidence, as mnist-predict reads it
check_eq "one file answers exactly as before" \
    "{\"digit\":6,\"confidence\":$($B/mnist-predict $s/img_0_label_6.png | awk '{print $3 + 0}')}" \
    "$(cat "$tmp/body")"
check_eq "?probs=true: ten probabilities per file" "10 10" \
    "$(Q='?probs=true' post -F file=@$s/img_0_label_6.png -F file=@$s/img_1_label_5.png \
        >/dev/null; jq -r '[.predictions[].probabilities | length] | join(" ")' "$tmp/body")"

args=
for i in $(seq 32); do args="$args -F file=@$s/img_$((i % 20))_label_$(ls $s | sed -n "s/^img_$((i % 20))_label_\(.\).png/\1/p").png"; done
# shellcheck disable=SC2086
check_eq "32 files (the maximum): 200" 200 "$(post $args)"
check_eq "32 files: 32 predictions" 32 "$(jq '.predictions | length' "$tmp/body")"
# shellcheck disable=SC2086
check_eq "33 files: 400" 400 "$(post $args -F file=@$s/img_0_label_6.png)"
check_eq "33 files: the limit named" '"Too many files: 33 '"'file'"' parts, at most 32 per request"' \
    "$(jq .detail "$tmp/body")"

check_eq "a bad file among good ones: 400" 400 \
    "$(post -F file=@$s/img_0_label_6.png -F "file=@README.md;type=image/png")"
check "the bad file is named by its index" \
    jqe '.detail | startswith("file[1]: Error processing image: ")' "$tmp/body"
check_eq "a GIF declared among PNGs: 400" 400 \
    "$(post -F file=@$s/img_0_label_6.png -F file=@$s/img_1_label_5.png -F "file=@README.md;type=image/gif")"
check_eq "the declared type is named with its index" \
    '"file[2]: Invalid file type: image/gif. Only JPEG and PNG are supported."' "$(jq .detail "$tmp/body")"
check "frontend exits 0" fe_stop
