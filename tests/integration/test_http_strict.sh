#!/bin/sh
# HTTP strictness of the real frontend: request framing that a proxy and
# this server could read differently (RFC 9112 section 6.3) is refused with a
# JSON 400 and the connection is closed, where h2o alone answered 200.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "http strict # SKIP no $B/mnist-frontend yet"
    exit 0
fi
img=tests/images/png_gray8.png
len=$(wc -c <"$img")
raw() { /usr/bin/python3 tests/integration/rawhttp.py "$@"; }
fe_start "$tmp" 1
port=$FE_PORT

# status_of "STATUS CLOSED BODY" -> STATUS; closed_of -> CLOSED
status_of() { echo "$1" | cut -d' ' -f1; }
closed_of() { echo "$1" | cut -d' ' -f2; }

r=$(raw send "$port" image/png "$img" "Content-Length: $len")
check_eq "one Content-Length: 200" 200 "$(status_of "$r")"

# refused NAME DETAIL RESULT: a JSON 400 with DETAIL, connection closed.
refused() {
    check_eq "$1: 400" 400 "$(status_of "$3")"
    check_eq "  and the connection is closed" 1 "$(closed_of "$3")"
    case "$3" in *"\"detail\":\"$2\""*) ok "  JSON detail: $2" ;;
        *) not_ok "  JSON detail: $2 (got $3)" ;; esac
}

r=$(raw send "$port" image/png "$img" "Content-Length: $len" "Content-Length: $((len + 1))")
refused "two different Content-Length headers" "Bad request: conflicting Content-Length headers" "$r"

r=$(raw send "$port" image/png "$img" "Content-Length: $len" "content-length: $len")
check_eq "two identical Content-Length headers: 200" 200 "$(status_of "$r")"

r=$(raw chunked "$port" image/png "$img" "Transfer-Encoding: chunked")
check_eq "chunked body alone: 200" 200 "$(status_of "$r")"

r=$(raw chunked "$port" image/png "$img" "Transfer-Encoding: chunked" "Content-Length: 5")
refused "Content-Length with Transfer-Encoding" "Bad request: both Content-Length and Transfer-Encoding" "$r"

r=$(raw chunked "$port" image/png "$img" "Transfer-Encoding: chunked" "Transfer-Encoding: chunked")
check_eq "two Transfer-Encoding headers: 400" 400 "$(status_of "$r")"

check "still healthy afterwards" curl -sf -o /dev/null "$FE_URL/health"
fe_stop
check_eq "the frontend stops cleanly (exit 0, no sanitizer report)" 0 "$?"
