"""The service meshes as shipped, run for real: a real Envoy started with the filter configured
exactly as each control plane hands it over, behind routes that match exactly what the shipped
routes match, through the gateway suite's programs (the openai and google-genai SDKs).

* Istio, deploy/istio/envoyfilter.yaml: the EXTENSION_CONFIG value, pinned as `make manifests`
  pins it, after istio-agent's rewrite (the `oci://` module pulled from an image that
  `deploy/oci_image.py` built, its manifest digest checked against `sha256`, `plugin.wasm` handed
  to Envoy as a local file), reaches Envoy through
  ECDS (here a watched file instead of istiod's ADS stream); the HTTP_FILTER patch inserts the
  filter before the router by name through `config_discovery`; the LISTENER patch merges in the
  buffer limit; the routes are deploy/istio/httproute.yaml's matches.
* Istio, deploy/istio/wasmplugin-oci.yaml: the same delivery, but the Wasm configuration istiod
  builds from a WasmPlugin: no `allow_on_headers_stop_iteration`, `pluginConfig` as JSON.
* Plain Envoy: envoy/envoy.yaml with the route example of docs/deploy.md in place of its
  catch-all route.
* Envoy Gateway: the listener Envoy Gateway generates for deploy/envoy-gateway/gateway.yaml with
  the Wasm filter of extension-policy-image.yaml (disabled in the connection manager, enabled per
  route, the module fetched from Envoy Gateway's file server through `wasm_cluster`, pinned by
  sha256, 32 KiB listener buffer), with and without patch-policy.yaml's JSON patch applied in
  Python the way Envoy Gateway applies it (JSONPath to JSON pointers, then RFC 6902); the routes
  are deploy/envoy-gateway/httproute.yaml's matches (`path` for Exact, `path_separated_prefix` for
  PathPrefix, the policy's filter enabled on each, `timeout: 0s`).

What stays on paper: istiod, istio-agent and Envoy Gateway themselves (no Kubernetes here); this
file builds what they would deliver from their documented behaviour and source.
"""

import copy
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import openai
import pytest
import yaml
from google import genai
from google.genai import types

from conftest import ENVOY_YAML, REPO, Envoy, forwarded, post
from deploy_helpers import FileServer, Proxy
from test_deploy import OCI_IMAGE, WASM_FILTER_TYPE, module, spawn  # noqa: F401 (fixtures)

DEPLOY = REPO / "deploy"
TEXT = "The quick brown fox jumps over the lazy dog."
MESSAGES = [{"role": "user", "content": "hi"}]
LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
HCM = "envoy.filters.network.http_connection_manager"
HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
ROUTER = {"name": "envoy.filters.http.router", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
PROBE_LOG = "were forwarded without it"
# A Chat request of about 100 KB: over Envoy Gateway's default 32 KiB connection buffer.
BIG_REQUEST = {"model": "any", "messages": [{"role": "user", "content": "x" * 100_000}]}


def manifest(name: str) -> dict:
    [doc] = [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    return doc


# --- routes, as the control planes translate an HTTPRoute ----------------------------------------


def route_matches(route_doc: dict, without_rewritten_path: bool = False) -> list:
    """The Envoy route matches of an HTTPRoute: Exact -> `path`, PathPrefix ->
    `path_separated_prefix` (the prefix as whole path segments, Gateway API's meaning).
    `without_rewritten_path` leaves out the /v1/responses match (the routes as they shipped
    before)."""
    matches = []
    for rule in route_doc["spec"]["rules"]:
        for match in rule["matches"]:
            path = match["path"]
            if without_rewritten_path and path["value"] == "/v1/responses":
                continue
            key = "path" if path["type"] == "Exact" else "path_separated_prefix"
            matches.append({key: path["value"]})
    return matches


def route_config(route_doc: dict, name: str, cluster: str, per_filter: dict = None,
                 without_rewritten_path: bool = False) -> dict:
    [rule] = route_doc["spec"]["rules"]
    timeout = rule.get("timeouts", {}).get("request")
    routes = []
    for i, match in enumerate(route_matches(route_doc, without_rewritten_path)):
        route = {"name": f"{name}/match/{i}", "match": match, "route": {"cluster": cluster}}
        if timeout is not None:
            route["route"]["timeout"] = timeout
        if per_filter:
            route["typed_per_filter_config"] = copy.deepcopy(per_filter)
        routes.append(route)
    return {"name": name, "virtual_hosts": [{"name": f"{name}/*", "domains": ["*"],
                                             "routes": routes}]}


def cluster(name: str, port: int) -> dict:
    return {"name": name, "type": "STATIC", "connect_timeout": "5s", "load_assignment": {
        "cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
            "socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}


def bootstrap(admin: int, listener: dict, clusters: list) -> str:
    return yaml.safe_dump({
        "node": {"id": "mesh-test", "cluster": "mesh-test"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {"listeners": [listener], "clusters": clusters},
    }, sort_keys=False)


# --- Istio ---------------------------------------------------------------------------------------


def image_digest(module: Path, workdir: Path) -> str:
    """Builds the image of `module` as `make image` does (in `workdir/oci`); returns its manifest
    digest, the `sha256` that `make manifests` pins."""
    layout = workdir / "oci"
    done = subprocess.run([sys.executable, str(OCI_IMAGE), "--wasm", str(module), "--out",
                           str(layout), "--tag", "mesh"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    return entry["digest"].removeprefix("sha256:")


def agent_fetch(remote: dict, workdir: Path) -> str:
    """What istio-agent does with an `oci://` module before Envoy sees the configuration: pulls the
    image (here: the layout `image_digest` wrote), checks its manifest digest against `sha256`, and
    writes the image's plugin.wasm to a local file, whose name it returns."""
    assert remote["http_uri"]["uri"].startswith("oci://"), remote
    blobs = workdir / "oci" / "blobs" / "sha256"
    [entry] = json.loads((workdir / "oci" / "index.json").read_text())["manifests"]
    digest = entry["digest"].removeprefix("sha256:")
    assert remote["sha256"] == digest, "istio-agent refuses an image whose digest differs"
    layer = json.loads((blobs / digest).read_bytes())["layers"][-1]["digest"]
    data = gzip.decompress((blobs / layer.removeprefix("sha256:")).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        [member] = [m for m in tar.getmembers() if Path(m.name).name == "plugin.wasm"]
        local = workdir / f"{digest}.wasm"
        local.write_bytes(tar.extractfile(member).read())
    return str(local)


def istio_envoy_filter_extension(module: Path, workdir: Path) -> tuple:
    """(TypedExtensionConfig as Envoy receives it, the EnvoyFilter's other patches) from
    deploy/istio/envoyfilter.yaml, its image digest pinned as `make manifests` pins it."""
    doc = manifest("istio/envoyfilter.yaml")
    patches = doc["spec"]["configPatches"]
    [extension] = [p["patch"]["value"] for p in patches if p["applyTo"] == "EXTENSION_CONFIG"]
    extension = copy.deepcopy(extension)
    assert extension["typed_config"]["@type"] == WASM_FILTER_TYPE
    vm = extension["typed_config"]["config"]["vm_config"]
    remote = vm["code"]["remote"]
    remote["sha256"] = image_digest(module, workdir)  # as `make manifests` pins it
    vm["code"] = {"local": {"filename": agent_fetch(remote, workdir)}}
    others = [p for p in patches if p["applyTo"] != "EXTENSION_CONFIG"]
    return {"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            **extension}, others


def istio_wasm_plugin_extension(module: Path, workdir: Path) -> tuple:
    """The TypedExtensionConfig istiod builds from deploy/istio/wasmplugin-oci.yaml (named
    `<namespace>.<name>`, `pluginConfig` as a JSON string, no allow_on_headers_stop_iteration),
    after istio-agent's rewrite; and the HTTP filter that references it (phase STATS: after
    Istio's own filters, before the router)."""
    doc = manifest("istio/wasmplugin-oci.yaml")
    name = f"{doc['metadata']['namespace']}.{doc['metadata']['name']}"
    spec = doc["spec"]
    local = agent_fetch({"http_uri": {"uri": spec["url"]},
                         "sha256": image_digest(module, workdir)}, workdir)
    extension = {
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": name,
        "typed_config": {"@type": WASM_FILTER_TYPE, "config": {
            "name": name, "root_id": spec["pluginName"],
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                              "value": json.dumps(spec["pluginConfig"], sort_keys=True)},
            "vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {
                "filename": local}}}}},
    }
    http_filter = {"name": name, "config_discovery": {
        "config_source": {"ads": {}, "initial_fetch_timeout": "0s"},
        "type_urls": [WASM_FILTER_TYPE]}}
    patch = {"applyTo": "HTTP_FILTER", "match": {"context": "GATEWAY", "listener": {
        "filterChain": {"filter": {"name": HCM, "subFilter": {
            "name": "envoy.filters.http.router"}}}}},
        "patch": {"operation": "INSERT_BEFORE", "value": http_filter}}
    return extension, [patch]


def apply_istio_patches(listener: dict, patches: list, ecds_file: Path):
    """EnvoyFilter patches on a gateway listener, as istiod applies them: LISTENER MERGE, and
    HTTP_FILTER INSERT_BEFORE the matched sub-filter of the connection manager. The ECDS source
    becomes the watched file (no ADS here)."""
    for patch in patches:
        operation, value = patch["patch"]["operation"], copy.deepcopy(patch["patch"]["value"])
        if patch["applyTo"] == "LISTENER":
            assert operation == "MERGE"
            listener.update(value)
        elif patch["applyTo"] == "HTTP_FILTER":
            assert operation == "INSERT_BEFORE"
            match = patch["match"]["listener"]["filterChain"]["filter"]
            [hcm] = [f for f in listener["filter_chains"][0]["filters"]
                     if f["name"] == match["name"]]
            filters = hcm["typed_config"]["http_filters"]
            at = [f["name"] for f in filters].index(match["subFilter"]["name"])
            source = value["config_discovery"]["config_source"]
            assert source.pop("ads") == {}, "the mesh delivers the filter over its xDS stream"
            source["path_config_source"] = {"path": str(ecds_file), "watched_directory": {
                "path": str(ecds_file.parent)}}
            filters.insert(at, value)
        else:
            raise AssertionError(f"unexpected EnvoyFilter patch {patch['applyTo']}")


def istio_gateway(extension: dict, patches: list, upstream_port: int, workdir: Path,
                  without_rewritten_path: bool = False) -> Proxy:
    """An Istio gateway's Envoy: the listener with the EnvoyFilter's patches applied, the filter's
    configuration through ECDS, the routes of deploy/istio/httproute.yaml."""
    ecds = workdir / "ecds"
    ecds.mkdir(exist_ok=True)
    ecds_file = ecds / "extension.yaml"
    ecds_file.write_text(yaml.safe_dump({"version_info": "1", "resources": [extension]}))
    route_doc = manifest("istio/httproute.yaml")
    backend = "outbound|8000||responses-backend.llm.svc.cluster.local"

    def render(listen: int, admin: int) -> str:
        listener = {"name": "0.0.0.0_80", "address": {"socket_address": {
            "address": "127.0.0.1", "port_value": listen}}, "filter_chains": [{"filters": [{
                "name": HCM, "typed_config": {
                    "@type": HCM_TYPE, "stat_prefix": "outbound_0.0.0.0_80",
                    "route_config": route_config(route_doc, "http.80", backend,
                                                 without_rewritten_path=without_rewritten_path),
                    "http_filters": [copy.deepcopy(ROUTER)]}}]}]}
        apply_istio_patches(listener, patches, ecds_file)
        return bootstrap(admin, listener, [cluster(backend, upstream_port)])

    return Proxy(render, workdir)


# --- Envoy Gateway -------------------------------------------------------------------------------

_STEP = re.compile(r"(?P<deep>\.\.)?(?:\.?(?P<name>[A-Za-z_]\w*)|\[(?P<index>\d+)\]"
                   r"|\[\?\(@\.(?P<key>\w+) == '(?P<value>[^']*)'\)\])")


def json_path_pointers(doc, expr: str) -> list:
    """The JSON pointers of the nodes a JSONPath expression selects (Envoy Gateway turns
    `jsonPath` into pointers the same way); the subset the patch policy uses: `$`, `.name`,
    `..name`, `[n]`, `[?(@.key == 'value')]`."""
    nodes, pos = [("", doc)], 1 if expr.startswith("$") else 0
    while pos < len(expr):
        step = _STEP.match(expr, pos)
        assert step, f"unsupported JSONPath at {expr[pos:]!r}"
        pos = step.end()
        found = []
        for pointer, node in nodes:
            if step["name"]:
                candidates = _descendants(pointer, node) if step["deep"] else [(pointer, node)]
                found += [(f"{p}/{step['name']}", n[step["name"]]) for p, n in candidates
                          if isinstance(n, dict) and step["name"] in n]
            elif step["index"] is not None:
                i = int(step["index"])
                if isinstance(node, list) and i < len(node):
                    found.append((f"{pointer}/{i}", node[i]))
            elif isinstance(node, list):
                found += [(f"{pointer}/{i}", child) for i, child in enumerate(node)
                          if isinstance(child, dict) and child.get(step["key"]) == step["value"]]
        nodes = found
    return [pointer for pointer, _ in nodes]


def _descendants(pointer: str, node) -> list:
    out = [(pointer, node)]
    children = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        out += _descendants(f"{pointer}/{key}", child)
    return out


def json_patch(doc, op: str, pointer: str, value):
    """One RFC 6902 `add` or `replace`, with Envoy Gateway's EnsurePathExistsOnAdd."""
    parts = pointer.split("/")[1:]
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            if part not in node:
                assert op == "add", f"{pointer}: missing {part}"
                node[part] = {}
            node = node[part]
    last = parts[-1]
    if op == "replace":
        assert (int(last) < len(node)) if isinstance(node, list) else last in node, \
            f"replace: {pointer} does not exist"
    else:
        assert op == "add", op
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = copy.deepcopy(value)


def apply_patch_policy(listener: dict, policy: dict):
    """An EnvoyPatchPolicy's listener patches, as Envoy Gateway applies them to the listener it
    generated (named by `name`; a JSONPath that selects nothing is an error)."""
    for patch in policy["spec"]["jsonPatches"]:
        assert patch["type"] == LISTENER_TYPE and patch["name"] == listener["name"], patch
        operation = patch["operation"]
        if "jsonPath" in operation:
            pointers = [p + operation.get("path", "")
                        for p in json_path_pointers(listener, operation["jsonPath"])]
            assert pointers, f"no element matches {operation['jsonPath']}"
        else:
            pointers = [operation["path"]]
        for pointer in pointers:
            json_patch(listener, operation["op"], pointer, operation["value"])


def eg_listener(policy: dict, gateway: dict, files_url: str, module_sha: str) -> tuple:
    """(listener, wasm filter name) as Envoy Gateway generates them for the gateway and one
    EnvoyExtensionPolicy with one Wasm extension (internal/xds/translator/wasm.go, listener.go):
    the filter disabled in the connection manager and enabled per route, the module served by
    Envoy Gateway over `wasm_cluster`, 32 KiB per-connection buffers."""
    ns, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
    [wasm] = policy["spec"]["wasm"]
    ir_name = f"envoyextensionpolicy/{ns}/{name}/wasm/0"
    filter_name = f"envoy.filters.http.wasm/{ir_name}"
    config = {"name": wasm["name"], "vm_config": {
        "vm_id": ir_name, "runtime": "envoy.wasm.runtime.v8",
        "code": {"remote": {"http_uri": {"uri": f"{files_url}/{module_sha}.wasm",
                                         "cluster": "wasm_cluster", "timeout": "10s"},
                            "sha256": module_sha}}},
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                          "value": json.dumps(wasm["config"], sort_keys=True,
                                              separators=(",", ":"))}}
    if wasm.get("rootID"):
        config["root_id"] = wasm["rootID"]
    if wasm.get("failOpen"):
        config["fail_open"] = True
    listener_name = "{}/{}/{}".format(gateway["metadata"]["namespace"],
                                      gateway["metadata"]["name"],
                                      gateway["spec"]["listeners"][0]["name"])
    listener = {
        "name": listener_name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "default_filter_chain": {"name": listener_name, "filters": [{"name": HCM, "typed_config": {
            "@type": HCM_TYPE, "stat_prefix": "http",
            "http_filters": [
                {"name": filter_name, "disabled": True,
                 "typed_config": {"@type": WASM_FILTER_TYPE, "config": config}},
                {**copy.deepcopy(ROUTER), "typed_config": {**ROUTER["typed_config"],
                                                           "suppress_envoy_headers": True}}],
            "rds": {"config_source": {"ads": {}, "resource_api_version": "V3"},
                    "route_config_name": listener_name},
            "normalize_path": True, "merge_slashes": True,
            "use_remote_address": True}}]},
        "per_connection_buffer_limit_bytes": 32768,
    }
    return listener, filter_name


def eg_file_server(workdir: Path) -> FileServer:
    """Envoy Gateway's module server: serves `workdir/files`."""
    (workdir / "files").mkdir()
    return FileServer(workdir / "files", workdir)


def eg_gateway(upstream_port: int, files: FileServer, module: Path, workdir: Path,
               patched: bool, without_rewritten_path: bool = False) -> Proxy:
    """Envoy as Envoy Gateway programs it for deploy/envoy-gateway/: the generated listener (with
    patch-policy.yaml applied when `patched`) and the HTTPRoute's routes. The route configuration
    is inlined (Envoy Gateway serves it over RDS); `files` serves `workdir/files` as Envoy
    Gateway's module server."""
    policy = manifest("envoy-gateway/extension-policy-image.yaml")
    gateway = manifest("envoy-gateway/gateway.yaml")
    route_doc = manifest("envoy-gateway/httproute.yaml")
    module_sha = hashlib.sha256(module.read_bytes()).hexdigest()
    (workdir / "files" / f"{module_sha}.wasm").write_bytes(module.read_bytes())
    listener, filter_name = eg_listener(policy, gateway, files.url, module_sha)
    if patched:
        apply_patch_policy(listener, manifest("envoy-gateway/patch-policy.yaml"))
    backend = "httproute/{}/{}/rule/0".format(route_doc["metadata"]["namespace"],
                                              route_doc["metadata"]["name"])
    enable = {filter_name: {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                            "config": {}}}
    hcm = listener["default_filter_chain"]["filters"][0]["typed_config"]
    rds = hcm.pop("rds")
    hcm["route_config"] = route_config(route_doc, rds["route_config_name"], backend, enable,
                                       without_rewritten_path)

    def render(listen: int, admin: int) -> str:
        listener["address"]["socket_address"]["port_value"] = listen
        return bootstrap(admin, listener, [cluster(backend, upstream_port),
                                           cluster("wasm_cluster", files.port)])

    return Proxy(render, workdir)


# --- what each run must show ---------------------------------------------------------------------


def openai_client(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=20)


def genai_client(proxy: Proxy) -> genai.Client:
    return genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=proxy.url, api_version="v1beta", timeout=20_000,
        retry_options=types.HttpRetryOptions(attempts=1)))


def replay(name: str, **headers) -> dict:
    return {"x-replay-file": name, **headers}


def last_request(upstream) -> dict:
    request = upstream.last_request()
    assert request["status"] == 200, f"the strict upstream refused the request: {request}"
    return request


def check_translation(proxy: Proxy, upstream):
    """The gateway suite's core through this Envoy: openai unary and streamed Chat, google-genai
    unary and streamed Interactions and interactions.get, every request translated onto
    /v1/responses; a refused field answered 400 naming it, nothing upstream."""
    client = openai_client(proxy)
    completion = client.chat.completions.create(model="any", messages=MESSAGES,
                                                extra_headers=replay("text"))
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == (
        TEXT, "stop")
    assert completion.usage.total_tokens == 31
    assert last_request(upstream)["path"] == "/v1/responses"
    chunks = list(client.chat.completions.create(
        model="any", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers=replay("text")))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert chunks[-1].usage.total_tokens == 31
    assert last_request(upstream)["body"]["stream"] is True

    gclient = genai_client(proxy)
    interaction = gclient.interactions.create(model="any", input="hi",
                                              extra_headers=replay("text"))
    assert interaction.status == "completed"
    assert "".join(c.text for s in interaction.steps if s.type == "model_output"
                   for c in (s.content or []) if c.type == "text") == TEXT
    assert last_request(upstream)["path"] == "/v1/responses"
    events = list(gclient.interactions.create(model="any", input="hi", stream=True,
                                              extra_headers=replay("text")))
    assert events[-1].event_type == "interaction.completed"
    fetched = gclient.interactions.get(interaction.id, extra_headers=replay("text"))
    assert fetched.id == interaction.id and fetched.status == "completed"
    request = last_request(upstream)
    assert (request["method"], request["path"].split("?")[0]) == (
        "GET", f"/v1/responses/{interaction.id}")

    marker = uuid.uuid4().hex
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="any", messages=MESSAGES, seed=1,
                                       extra_headers=replay("text", **{"x-test-marker": marker}))
    assert raised.value.param == "seed"
    return marker


def check_full_behaviour(proxy: Proxy, upstream):
    """With header hold: a translated request reaches the upstream with its content-length and a
    refused one not at all, a failed unary answer makes the SDKs raise, and no request waited for
    a probe."""
    marker = check_translation(proxy, upstream)
    assert not forwarded(upstream, marker), "nothing may go upstream for a refused request"
    client = openai_client(proxy)
    client.chat.completions.create(model="any", messages=MESSAGES, extra_headers=replay("text"))
    headers = last_request(upstream)["headers"]
    assert "content-length" in headers and "transfer-encoding" not in headers
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="any", messages=MESSAGES,
                                       extra_headers=replay("failed"))
    assert raised.value.status_code == 500
    gclient = genai_client(proxy)
    with pytest.raises(Exception) as raised:  # google-genai's InternalServerError
        gclient.interactions.create(model="any", input="hi", extra_headers=replay("failed"))
    assert getattr(raised.value, "status_code", None) == 500
    assert raised.value.body["error"]["status"] == "INTERNAL"
    assert PROBE_LOG not in proxy.log_text()


def check_reduced_behaviour(proxy: Proxy, upstream):
    """header_hold "off" on an Envoy that cannot hold headers: requests still translate, bodies go
    upstream chunked, a failed unary answer keeps the upstream's 200 with the dialect's error
    body."""
    check_translation(proxy, upstream)
    openai_client(proxy).chat.completions.create(model="any", messages=MESSAGES,
                                                 extra_headers=replay("text"))
    assert "content-length" not in last_request(upstream)["headers"]
    status, _, body = post(proxy.url, "/v1/chat/completions",
                           body={"model": "any", "messages": MESSAGES}, headers=replay("failed"))
    assert status == 200 and json.loads(body)["error"]["code"] == "server_error"


def stat(proxy, name: str) -> int:
    """One of Envoy's statistics (0 when it is not defined), from either kind of test Envoy."""
    if isinstance(proxy, Proxy):
        return int(proxy.stats(name).get(name, 0))
    return int(proxy.stats().get(name, 0))


def check_no_probe(proxy: Proxy):
    """No request waited for the header-hold probe: the filter did not probe (header_hold "off")."""
    assert PROBE_LOG not in proxy.log_text()
    assert stat(proxy, "wasmcustom.responses_transcoder.header_hold.probes_expired") == 0


def check_translated_requests_find_no_route(proxy: Proxy, upstream, stat_prefix: str):
    """The routes as they shipped before (client paths only): the rewritten request finds no route,
    Envoy answers a bare 404 and nothing reaches the upstream."""
    marker = uuid.uuid4().hex
    status, headers, body = post(proxy.url, "/v1/chat/completions",
                                 {"model": "any", "messages": MESSAGES},
                                 replay("text", **{"x-test-marker": marker}))
    assert (status, headers.get("content-length"), body) == (404, "0", b"")
    assert not forwarded(upstream, marker)
    assert stat(proxy, f"http.{stat_prefix}.no_route") >= 1


# --- the runs ------------------------------------------------------------------------------------


def test_istio_envoy_filter_gives_the_full_behaviour(module, tmp_path, upstream, spawn):
    extension, patches = istio_envoy_filter_extension(module, tmp_path)
    proxy = spawn(istio_gateway(extension, patches, upstream.port, tmp_path))
    listener = yaml.safe_load((tmp_path / "envoy.yaml").read_text())["static_resources"][
        "listeners"][0]
    assert listener["per_connection_buffer_limit_bytes"] == 10485760
    check_full_behaviour(proxy, upstream)


def test_istio_wasm_plugin_translates_with_reduced_behaviour(module, tmp_path, upstream, spawn):
    extension, patches = istio_wasm_plugin_extension(module, tmp_path)
    proxy = spawn(istio_gateway(extension, patches, upstream.port, tmp_path))
    check_reduced_behaviour(proxy, upstream)


def test_istio_wasm_plugin_makes_no_request_wait_for_a_probe(module, tmp_path, upstream, spawn):
    extension, patches = istio_wasm_plugin_extension(module, tmp_path)
    proxy = spawn(istio_gateway(extension, patches, upstream.port, tmp_path))
    openai_client(proxy).chat.completions.create(model="any", messages=MESSAGES,
                                                 extra_headers=replay("text"))
    check_no_probe(proxy)


def test_istio_routes_without_the_rewritten_path_404(module, tmp_path, upstream, spawn):
    extension, patches = istio_envoy_filter_extension(module, tmp_path)
    proxy = spawn(istio_gateway(extension, patches, upstream.port, tmp_path,
                                without_rewritten_path=True))
    check_translated_requests_find_no_route(proxy, upstream, "outbound_0.0.0.0_80")


def test_envoy_gateway_patch_policy_gives_the_full_behaviour(module, tmp_path, upstream, spawn):
    files = spawn(eg_file_server(tmp_path))
    proxy = spawn(eg_gateway(upstream.port, files, module, tmp_path, patched=True))
    listener = yaml.safe_load((tmp_path / "envoy.yaml").read_text())["static_resources"][
        "listeners"][0]
    [wasm] = [f for f in listener["default_filter_chain"]["filters"][0]["typed_config"][
        "http_filters"] if f["name"].startswith("envoy.filters.http.wasm/")]
    config = wasm["typed_config"]["config"]
    assert config["allow_on_headers_stop_iteration"] is True
    assert json.loads(config["configuration"]["value"])["header_hold"] == "on"
    assert listener["per_connection_buffer_limit_bytes"] == 10485760
    check_full_behaviour(proxy, upstream)
    status, _, body = post(proxy.url, "/v1/chat/completions", BIG_REQUEST, replay("text"))
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == TEXT
    assert files.gets(f"/{hashlib.sha256(module.read_bytes()).hexdigest()}.wasm") >= 1


def test_envoy_gateway_extension_policy_alone_has_reduced_behaviour(module, tmp_path, upstream,
                                                                    spawn):
    files = spawn(eg_file_server(tmp_path))
    proxy = spawn(eg_gateway(upstream.port, files, module, tmp_path, patched=False))
    check_reduced_behaviour(proxy, upstream)
    # Envoy Gateway's 32 KiB listener buffer: a larger request body never reaches the filter's
    # translation; Envoy answers its own 413, which the filter still puts in the client's
    # dialect (patch-policy.yaml raises the limit).
    marker = uuid.uuid4().hex
    status, _, body = post(proxy.url, "/v1/chat/completions", BIG_REQUEST,
                           replay("text", **{"x-test-marker": marker}))
    assert status == 413
    assert json.loads(body)["error"]["message"] == "Payload Too Large"


def test_envoy_gateway_extension_policy_alone_makes_no_request_wait_for_a_probe(
        module, tmp_path, upstream, spawn):
    files = spawn(eg_file_server(tmp_path))
    proxy = spawn(eg_gateway(upstream.port, files, module, tmp_path, patched=False))
    openai_client(proxy).chat.completions.create(model="any", messages=MESSAGES,
                                                 extra_headers=replay("text"))
    check_no_probe(proxy)


def test_envoy_gateway_routes_without_the_rewritten_path_404(module, tmp_path, upstream, spawn):
    files = spawn(eg_file_server(tmp_path))
    proxy = spawn(eg_gateway(upstream.port, files, module, tmp_path, patched=True,
                             without_rewritten_path=True))
    check_translated_requests_find_no_route(proxy, upstream, "http")


def test_patch_policy_json_path_selects_only_the_policys_filter():
    """The JSONPath evaluation the runs above rely on: it finds the extension policy's filter by
    name, and nothing on a listener without it (Envoy Gateway then reports the patch as failed
    instead of patching another filter)."""
    gateway = manifest("envoy-gateway/gateway.yaml")
    policy = manifest("envoy-gateway/extension-policy-image.yaml")
    listener, _ = eg_listener(policy, gateway, "http://127.0.0.1:1", "0" * 64)
    [op] = [p["operation"] for p in manifest("envoy-gateway/patch-policy.yaml")["spec"][
        "jsonPatches"] if p["operation"].get("jsonPath")][:1]
    assert json_path_pointers(listener, op["jsonPath"]) == [
        "/default_filter_chain/filters/0/typed_config/http_filters/0"]
    other = copy.deepcopy(policy)
    other["metadata"]["name"] = "another"
    listener, _ = eg_listener(other, gateway, "http://127.0.0.1:1", "0" * 64)
    assert json_path_pointers(listener, op["jsonPath"]) == []
    with pytest.raises(AssertionError, match="no element matches"):
        apply_patch_policy(listener, manifest("envoy-gateway/patch-policy.yaml"))


# --- plain Envoy ---------------------------------------------------------------------------------


def docs_routes(without_rewritten_path: bool = False) -> str:
    """The plain-Envoy route example of docs/deploy.md, indented as envoy/envoy.yaml's routes."""
    text = (REPO / "docs" / "deploy.md").read_text()
    [block] = re.findall(r"```yaml\n(routes:\n.*?)```", text, flags=re.S)
    routes = yaml.safe_load(block)["routes"]
    assert [r["route"] for r in routes] == [{"cluster": "responses_upstream", "timeout": "0s"}] * 4
    assert {"path_separated_prefix": "/v1/responses"} in [r["match"] for r in routes]
    if without_rewritten_path:
        routes = [r for r in routes if r["match"] != {"path_separated_prefix": "/v1/responses"}]
    lines = yaml.safe_dump({"routes": routes}, sort_keys=False).splitlines()
    return "\n".join(" " * 22 + line for line in lines) + "\n"


def plain_envoy_template(without_rewritten_path: bool = False) -> str:
    text = ENVOY_YAML.read_text()
    catch_all = re.compile(r" {22}routes:\n {24}- match: \{ prefix: \"/\" \}\n(?: {26}.*\n)+")
    text, n = catch_all.subn(docs_routes(without_rewritten_path), text)
    assert n == 1, "envoy/envoy.yaml: its catch-all route block was not found"
    return text


def test_plain_envoy_with_the_documented_routes(upstream):
    proxy = Envoy(upstream, plugin_config='{"header_hold":"on"}', concurrency=2,
                  template=plain_envoy_template())
    try:
        check_full_behaviour(proxy, upstream)
    finally:
        proxy.stop()


def test_plain_envoy_routes_without_the_rewritten_path_404(upstream):
    proxy = Envoy(upstream, plugin_config='{"header_hold":"on"}',
                  template=plain_envoy_template(without_rewritten_path=True))
    try:
        check_translated_requests_find_no_route(proxy, upstream, "transcoder")
    finally:
        proxy.stop()
