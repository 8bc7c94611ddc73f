#!/bin/sh
# API documents: docs/openapi.json passes a real OpenAPI validator
# (@apidevtools/swagger-parser, pinned in tests/node/package-lock.json) and
# documents every endpoint and error; postman/MNIST_API_Collection.json is a
# valid v2.1 collection covering every OpenAPI path; and, against the real
# frontend, /openapi.json is served and the whole collection passes in newman
# (with a worker; with none for 503; with a stopped worker for 504).
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
spec=docs/openapi.json
col=postman/MNIST_API_Collection.json

tools=$(sh tests/node/node-tools.sh "$B/node-tools") || tools=
check "node tools installed (npm ci, integrity-checked)" test -n "$tools"
cat >"$tmp/validate.js" <<'JS'
const SwaggerParser = require(process.argv[2] + "/node_modules/@apidevtools/swagger-parser");
SwaggerParser.validate(process.argv[3]).then(
  (api) => { console.log("valid: " + api.info.title + " " + api.info.version); },
  (e) => { console.error(e.message); process.exit(1); });
JS
validate() { node "$tmp/validate.js" "$(cd "$tools" && pwd)" "$1"; }
check "openapi.json is a valid OpenAPI 3 document" validate "$spec"
# The validator must reject a broken document, or the check above proves nothing.
jq 'del(.paths["/predict"].post.responses) | .paths["/health"].get.parameters = [{"name": "x"}]' \
    "$spec" >"$tmp/broken.json"
check "the validator rejects a broken document" sh -c "! node '$tmp/validate.js' '$(cd "$tools" && pwd)' '$tmp/broken.json' 2>/dev/null"

# jq -e, quietly: passes when the filter gives true.
jqe() { jq -e "$@" >/dev/null; }
check_eq "OpenAPI version 3.0.x" 3.0 "$(jq -r '.openapi | .[0:3]' "$spec")"
for p in /predict /health /metrics /openapi.json /docs /redoc; do
    check "documents $p" jqe --arg p "$p" '.paths[$p] | length > 0' "$spec"
done
pr='.paths["/predict"].post'
for t in multipart/form-data image/png image/jpeg; do
    check "/predict accepts $t" jqe --arg t "$t" "$pr.requestBody.content[\$t] != null" "$spec"
done
check "/predict documents ?probs" jqe "[$pr.parameters[] | select(.name == \"probs\")] | length == 1" "$spec"
for c in 200 400 413 503 504; do
    check "/predict documents $c with an example" \
        jqe "$pr.responses[\"$c\"].content[\"application/json\"] | (.examples // {}) + {x: .example} | map(select(. != null)) | length > 0" "$spec"
done
check "/predict 503 documents Retry-After" jqe "$pr.responses[\"503\"].headers[\"Retry-After\"] != null" "$spec"
check "/health documents 200 and 503" jqe '.paths["/health"].get.responses | has("200") and has("503")' "$spec"
check "every operation has an operationId and a summary" \
    jqe '[.paths[][] | select(.operationId == null or .summary == null)] | length == 0' "$spec"

# Postman collection: v2.1 shape, every request well formed, every path covered.
check "collection is JSON" jqe . "$col"
check_eq "collection schema v2.1" \
    "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" "$(jq -r .info.schema "$col")"
reqs='[.. | objects | select(has("request")) | .request]'
check "every request has a method and a url" \
    jqe "$reqs | length > 10 and all(.method != null and .url.raw != null and (.url.path | type == \"array\"))" "$col"
check "every item has test assertions" \
    jqe '[.. | objects | select(has("request"))] | all(.event | any(.listen == "test"))' "$col"
# A path template {name} is a Postman path variable :name.
for p in $(jq -r '.paths | keys[]' "$spec"); do
    check "collection covers $p" jqe --arg p "$(echo "$p" | sed 's/{\([a-z_]*\)}/:\1/g')" \
        "$reqs | any((\"/\" + (.url.path | join(\"/\"))) == \$p)" "$col"
done
for p in /v2 /v2/health/live /v2/health/ready /v2/models/mnist /v2/models/mnist/ready \
    /v2/models/mnist/infer '/v2/models/mnist/versions/{version}' \
    '/v2/models/mnist/versions/{version}/ready' '/v2/models/mnist/versions/{version}/infer'; do
    check "documents $p" jqe --arg p "$p" '.paths[$p] | length > 0' "$spec"
done
check "v2 infer documents 200, 400, 404, 413, 503, 504 with the error object" \
    jqe '.paths["/v2/models/mnist/infer"].post.responses | (has("200") and has("400") and has("404") and has("413") and has("503") and has("504")) and ([.["400", "404", "413", "504"].content["application/json"].schema["$ref"]] | all(. == "#/components/schemas/V2Error"))' "$spec"
check "/predict documents several files and X-Model-Version" \
    jqe "$pr.responses[\"200\"] | (.content[\"application/json\"].examples.several != null) and (.headers[\"X-Model-Version\"] != null)" "$spec"
for c in 200 400 404 405 413 503 504; do
    check "collection asserts status $c" grep -q "to.have.status($c)" "$col"
done
check "newman's SDK parses the collection" node -e '
const { Collection } = require(process.argv[1] + "/node_modules/postman-collection");
const c = new Collection(require(process.argv[2]));
let n = 0; c.forEachItem(() => n++);
if (n < 10) process.exit(1);' "$(cd "$tools" && pwd)" "$(pwd)/$col"

if ! have_frontend; then
    ok "live checks # SKIP no $B/mnist-frontend yet"
    exit 0
fi
newman=$tools/node_modules/.bin/newman
run_newman() {
    name=$1; shift
    if "$newman" run "$col" --env-var "baseUrl=$FE_URL" --working-dir "$(pwd)" \
        --reporters cli --disable-unicode --color off "$@" >"$tmp/newman-$name.log" 2>&1; then
        ok "newman: $name"
    else
        not_ok "newman: $name: $(grep -E '^ *[0-9]+\. |AssertionError|Error' "$tmp/newman-$name.log" | head -8 | tr '\n' ' ')"
    fi
}
fe_start "$tmp/a" 1 --max-upload 100k
check "frontend healthy with one worker" curl -sf -o /dev/null "$FE_URL/health"
curl -sf "$FE_URL/openapi.json" >"$tmp/served.json"
check "served /openapi.json is docs/openapi.json" cmp -s "$tmp/served.json" "$spec"
run_newman served --env-var largeBodyBytes=300000 --folder Prediction --folder Errors --folder Operations \
    --folder "Open Inference Protocol"
fe_stop
fe_start "$tmp/b" 0
run_newman "no worker" --folder Unavailable
fe_stop

# 504: a worker that is connected but stopped (kept connected: the frontend
# would drop a pipe silent for 1 s, before newman starts).
export MNIST_WORKER_SILENT_MS=60000
fe_start "$tmp/c" 0 --timeout-ms 300
RUNTIME_DIRECTORY=$tmp/c/run MNIST_WEIGHTS=$FE_WEIGHTS "$B/mnist-worker" >"$tmp/worker.log" 2>&1 &
wpid=$!
on_exit "kill -9 $wpid"
if wait_for 20 curl -sf "$FE_URL/health"; then
    kill -STOP "$wpid"
    run_newman timeout --folder Timeout
    kill -CONT "$wpid"
else
    not_ok "worker did not connect for the 504 case"
fi
kill -TERM "$wpid"
fe_stop
