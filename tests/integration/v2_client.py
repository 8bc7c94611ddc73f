"""Checks the frontend's Open Inference Protocol routes (frontend/v2.h) from
the outside, printing TAP lines; tests/integration/test_v2.sh starts the
frontend and runs it. Every JSON body the server answers is validated
against the protocol's own schemas (tests/oip/rest_predict_v2.yaml), and
the requests we send against the request schema.

usage: v2_client.py BASE_URL VERSION DATA_DIR
"""
import base64
import http.client
import json
import struct
import sys
import urllib.parse

import jsonschema
import yaml

BASE, VERSION, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
SPEC = yaml.safe_load(open("tests/oip/rest_predict_v2.yaml"))
failed = 0


def ok(cond, name):
    global failed
    print(("ok - " if cond else "not ok - ") + name, flush=True)
    failed += not cond
    return cond


def schema_errors(name, doc, binary=False):
    """Validation errors of doc against components.schemas[name]. The error
    objects' schemas do not list "error" as required, the prose does
    ("must contain"): checked here too. binary: the binary tensor data
    extension replaces an output's "data" by parameters.binary_data_size,
    so "data" is not required of outputs that have that parameter."""
    comps = json.loads(json.dumps(SPEC["components"]))
    if binary:
        comps["schemas"]["response_output"]["required"].remove("data")
    root = {"$ref": "#/components/schemas/" + name, "components": comps}
    v = jsonschema.Draft4Validator(root)
    errs = [e.message for e in v.iter_errors(doc)]
    if name.endswith("error_response") and not (isinstance(doc, dict) and "error" in doc):
        errs.append('"error" is missing')
    if binary:
        errs += ["output %s has neither data nor binary_data_size" % o.get("name")
                 for o in doc.get("outputs", []) if "data" not in o and
                 not isinstance(o.get("parameters", {}).get("binary_data_size"), int)]
    return errs


def valid(name, doc, what, binary=False):
    errs = schema_errors(name, doc, binary)
    return ok(not errs, f"{what}: valid {name} {errs[:2] if errs else ''}")


def call(method, path, body=None, headers=None):
    u = urllib.parse.urlparse(BASE)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def infer(req, what, path="/v2/models/mnist/infer", status=200):
    """POST a JSON request (checked against the request schema)."""
    valid("inference_request", req, what + " (request)")
    st, h, data = call("POST", path, json.dumps(req).encode(),
                       {"Content-Type": "application/json"})
    doc = json.loads(data) if data else None
    ok(st == status, f"{what}: status {st} (expected {status}) {data[:200]!r}")
    valid("inference_response" if st == 200 else "inference_error_response", doc, what)
    return st, h, doc


def outputs(doc):
    return {o["name"]: o for o in doc["outputs"]}


def test_samples(n):
    """n TEST samples (784 float32 each) spread over the digits, their labels."""
    raw = open(f"{DATA}/test.images", "rb").read()
    labels = open(f"{DATA}/test.labels", "rb").read()
    step = len(labels) // n
    idx = [i * step for i in range(n)]
    return [raw[i * 3136:(i + 1) * 3136] for i in idx], [labels[i] for i in idx]


def check_metadata():
    st, h, data = call("GET", "/v2")
    doc = json.loads(data)
    ok(st == 200 and "binary_tensor_data" in doc["extensions"], f"GET /v2: {doc}")
    valid("metadata_server_response", doc, "GET /v2")
    for p in ("/v2/health/live", "/v2/health/ready", "/v2/models/mnist/ready",
              f"/v2/models/mnist/versions/{VERSION}/ready"):
        st, h, data = call("GET", p)
        ok(st == 200 and data == b"", f"GET {p}: 200, empty body ({st} {data[:80]!r})")
    st, h, data = call("GET", "/v2/models/mnist/versions/000000000000/ready")
    ok(st == 400 and data == b"", f"a version not served is not ready ({st})")
    for p in ("/v2/models/mnist", f"/v2/models/mnist/versions/{VERSION}"):
        st, h, data = call("GET", p)
        doc = json.loads(data)
        ok(st == 200 and doc["name"] == "mnist" and doc["versions"] == [VERSION],
           f"GET {p}: name mnist, versions [{VERSION}] ({doc.get('versions')})")
        valid("metadata_model_response", doc, "GET " + p)
        ins = {t["name"]: t for t in doc["inputs"]}
        outs = {t["name"]: t for t in doc["outputs"]}
        ok(ins["pixels"]["datatype"] == "FP32" and ins["image"]["datatype"] == "BYTES" and
           outs["digit"]["datatype"] == "INT64" and outs["probabilities"]["shape"] == [-1, 10],
           f"GET {p}: the tensors")
    for p, st_want in (("/v2/models/other", 404), ("/v2/models/mnist/versions/0123/infer", 405),
                       ("/v2/models/mnist/versions/000000000000", 404), ("/v2/nothing", 404),
                       ("/v2/models/mnist/explain", 404)):
        st, h, data = call("GET", p)
        doc = json.loads(data)
        ok(st == st_want and "error" in doc, f"GET {p}: {st_want} {doc}")
        valid("metadata_model_error_response", doc, "GET " + p)
    st, h, data = call("POST", "/v2/models/mnist")
    ok(st == 405 and h.get("allow") == "GET, HEAD" and "error" in json.loads(data),
       f"POST metadata: 405 with Allow ({st} {h.get('allow')})")
    st, h, data = call("GET", "/v2/models/mnist/infer")
    ok(st == 405 and h.get("allow") == "POST", "GET infer: 405, Allow: POST")


def check_pixels():
    samples, labels = test_samples(8)
    px = [list(struct.unpack("<784f", s)) for s in samples]
    req = {"id": "batch-1", "inputs": [{"name": "pixels", "shape": [8, 28, 28],
                                        "datatype": "FP32", "data": sum(px, [])}]}
    st, h, doc = infer(req, "FP32 pixels, 8 TEST samples")
    o = outputs(doc)
    right = sum(d == l for d, l in zip(o["digit"]["data"], labels))
    ok(right >= 7, f"FP32 pixels: {right}/8 read right ({o['digit']['data']} vs {labels})")
    ok(doc["id"] == "batch-1" and doc["model_name"] == "mnist" and
       doc["model_version"] == VERSION and h.get("x-model-version") == VERSION,
       "id echoed; model name, version and X-Model-Version")
    ok(o["digit"]["shape"] == [8] and o["confidence"]["shape"] == [8] and
       o["probabilities"]["shape"] == [8, 10] and len(o["probabilities"]["data"]) == 80,
       "output shapes [8], [8], [8,10]")
    ok(all(abs(sum(o["probabilities"]["data"][i * 10:i * 10 + 10]) - 1) < 1e-4 and
           max(o["probabilities"]["data"][i * 10:i * 10 + 10]) == o["confidence"]["data"][i]
           for i in range(8)), "probabilities sum to 1, confidence is their maximum")
    # the same pixels as UINT8, nested, shape [N,1,28,28]: same digits
    u8 = [[[[round(v * 255) for v in p[y * 28:y * 28 + 28]] for y in range(28)]] for p in px]
    req = {"inputs": [{"name": "pixels", "shape": [8, 1, 28, 28], "datatype": "UINT8",
                       "data": u8}], "outputs": [{"name": "digit"}]}
    st, h, doc2 = infer(req, "UINT8 pixels, nested [8,1,28,28]")
    ok([x["name"] for x in doc2["outputs"]] == ["digit"] and
       doc2["outputs"][0]["data"] == o["digit"]["data"],
       "UINT8 pixels: only the output asked, the same digits")
    # binary tensor data both ways
    hdr = json.dumps({"inputs": [{"name": "pixels", "shape": [8, 784], "datatype": "FP32",
                                  "parameters": {"binary_data_size": 8 * 3136}}],
                      "outputs": [{"name": "digit", "parameters": {"binary_data": True}},
                                  {"name": "confidence"}]}).encode()
    st, h, data = call("POST", "/v2/models/mnist/infer", hdr + b"".join(samples),
                       {"Inference-Header-Content-Length": str(len(hdr)),
                        "Content-Type": "application/octet-stream"})
    hl = int(h.get("inference-header-content-length", "0"))
    doc3 = json.loads(data[:hl]) if hl else {}
    ok(st == 200 and hl > 0 and len(data) == hl + 64, f"binary request: 200, JSON then 64 bytes ({st})")
    valid("inference_response", doc3, "binary response header", binary=True)
    digits = list(struct.unpack("<8q", data[hl:hl + 64])) if len(data) == hl + 64 else []
    ok(digits == o["digit"]["data"] and outputs(doc3)["digit"]["parameters"] == {"binary_data_size": 64}
       and outputs(doc3)["confidence"]["data"] == o["confidence"]["data"],
       "binary digits (INT64 LE) and JSON confidence equal the JSON answer")
    # a batch of the documented maximum, then one more
    samples64, _ = test_samples(64)
    hdr = json.dumps({"inputs": [{"name": "pixels", "shape": [64, 784], "datatype": "FP32",
                                  "parameters": {"binary_data_size": 64 * 3136}}],
                      "parameters": {"binary_data_output": True}}).encode()
    st, h, data = call("POST", "/v2/models/mnist/infer", hdr + b"".join(samples64),
                       {"Inference-Header-Content-Length": str(len(hdr))})
    ok(st == 200 and h.get("content-type") == "application/octet-stream" and
       len(data) == int(h["inference-header-content-length"]) + 64 * 8 + 64 * 4 + 64 * 40,
       f"64 images in one request, every output binary ({st})")
    big = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                  "data": ["A" * (1 << 20)]}]}).encode()
    st, h, data = call("POST", "/v2/models/mnist/infer", big)
    ok(st == 413 and "binary tensor data" in json.loads(data)["error"],
       f"JSON above 1 MiB: 413, pointing to the binary extension ({st} {data[:160]!r})")
    req = {"inputs": [{"name": "pixels", "shape": [65, 784], "datatype": "UINT8",
                       "data": [0] * (65 * 784)}]}
    st, h, doc = infer(req, "65 images", status=400)
    ok("batch of 65 images: must be 1 to 64" in doc["error"], f"65 images: {doc['error']}")
    bad = sum(px[:3], [])
    bad[2 * 784 + 5] = 1.5
    st, h, doc = infer({"inputs": [{"name": "pixels", "shape": [3, 784], "datatype": "FP32",
                                    "data": bad}]}, "a pixel above 1", status=400)
    ok("image 2: element 5 is 1.5" in doc["error"], f"the bad pixel is named: {doc['error']}")


def check_images():
    files = ["img_0_label_6.png", "img_2_label_7.png", "img_7_label_1.png"]
    data = [base64.b64encode(open("saved_images/" + f, "rb").read()).decode() for f in files]
    req = {"id": "imgs", "inputs": [{"name": "image", "shape": [3], "datatype": "BYTES",
                                     "data": data}],
           "outputs": [{"name": "digit"}, {"name": "confidence"}]}
    st, h, doc = infer(req, "BYTES images (base64 PNG)")
    ok(outputs(doc)["digit"]["data"] == [6, 7, 1], f"images read 6, 7, 1: {doc['outputs']}")
    raw = [open("saved_images/" + f, "rb").read() for f in files]
    blob = b"".join(struct.pack("<I", len(r)) + r for r in raw)
    hdr = json.dumps({"inputs": [{"name": "image", "shape": [3], "datatype": "BYTES",
                                  "parameters": {"binary_data_size": len(blob)}}],
                      "outputs": [{"name": "digit"}]}).encode()
    st, h, body = call("POST", "/v2/models/mnist/infer", hdr + blob,
                       {"Inference-Header-Content-Length": str(len(hdr))})
    doc = json.loads(body) if st == 200 else {}
    ok(st == 200 and doc["outputs"][0]["data"] == [6, 7, 1] and
       "inference-header-content-length" not in h, f"binary BYTES images, JSON answer ({st})")
    data[1] = base64.b64encode(b"GIF89a not an image").decode()
    st, h, doc = infer({"inputs": [{"name": "image", "shape": [3], "datatype": "BYTES",
                                    "data": data}]}, "a GIF among PNGs", status=400)
    ok(doc["error"].startswith('input "image": image 1: ') and "PNG or JPEG" in doc["error"],
       f"the bad image is named by its index: {doc['error']}")


def check_spec_examples():
    """The protocol's own examples, sent as they are."""
    ex = SPEC["components"]["schemas"]["inference_request"]["x-examples"]["Example 1"]
    valid("inference_request", ex, "the spec's Example 1 request")
    st, h, doc = infer(ex, "the spec's Example 1 on this model", status=400)
    ok("exactly one input" in doc["error"], f"Example 1: {doc['error']}")
    st, h, doc = infer(ex, "the spec's Example 1 on its model", path="/v2/models/mymodel/infer",
                       status=404)
    # the binary tensor data extension's example, to its model
    hdr = json.dumps({"model_name": "mymodel", "inputs": [
        {"name": "input0", "shape": [2, 2], "datatype": "UINT32",
         "parameters": {"binary_data_size": 16}},
        {"name": "input1", "shape": [3], "datatype": "BOOL",
         "parameters": {"binary_data_size": 3}}],
        "outputs": [{"name": "output0", "parameters": {"binary_data": True}}]}).encode()
    st, h, data = call("POST", "/v2/models/mnist/infer", hdr + bytes(19),
                       {"Inference-Header-Content-Length": str(len(hdr)),
                        "Content-Type": "application/octet-stream"})
    ok(st == 400 and not schema_errors("inference_error_response", json.loads(data)),
       f"the binary extension's example: 400 with an error object ({st} {data[:120]!r})")
    # the validator can fail: a response without its outputs, an error without error
    ok(schema_errors("inference_response", {"model_name": "mnist"}) and
       schema_errors("inference_error_response", {"detail": "x"}) and
       schema_errors("inference_error_response", {"error": 5}) and
       schema_errors("inference_response", {"model_name": "mnist", "outputs": [
           {"name": "digit", "shape": [1], "datatype": "INT64"}]}, binary=True) and
       schema_errors("metadata_model_response", {"name": 1, "platform": "x"}),
       "the schemas reject broken documents")
    st, h, data = call("POST", "/v2/models/mnist/infer", b"{not json")
    ok(st == 400 and not schema_errors("inference_error_response", json.loads(data)),
       "a body that is not JSON: 400 error object")
    st, h, data = call("POST", "/v2/models/mnist/infer", b"{}",
                       {"Inference-Header-Content-Length": "x1"})
    ok(st == 400 and "Inference-Header-Content-Length" in json.loads(data)["error"],
       "a bad Inference-Header-Content-Length: 400")


check_metadata()
check_pixels()
check_images()
check_spec_examples()
sys.exit(1 if failed else 0)
