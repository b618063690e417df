"""Deployment, against real software: the OCI image through a real registry and back; every
manifest's plugin configuration through the filter's own parser (`transcode --check-config`); a real
Envoy fetching the module over HTTP with its sha256 pinned; and live configuration through ECDS.

Istio and Envoy Gateway cannot run here: their manifests (deploy/) are checked for the plugin
configuration they hand the filter here, against the CRD schemas in test_crds.py, and the Envoy
configuration they generate is run in test_mesh.py.
"""

import gzip
import hashlib
import http.client
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import REPO, STREAMS, TRANSCODE, WASM, http_get, post, transcode, wait_until
from deploy_helpers import FileServer, Proxy, Registry, require, rewrite

OCI_IMAGE = REPO / "deploy" / "oci_image.py"
REMOTE_YAML = REPO / "envoy" / "envoy-remote.yaml"
ECDS_YAML = REPO / "envoy" / "envoy-ecds.yaml"
ECDS_RESOURCE = REPO / "envoy" / "ecds" / "responses_transcoder.yaml"
MANIFESTS = sorted([*(REPO / "deploy").rglob("*.yaml"), *(REPO / "envoy").rglob("*.yaml")])

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
WASM_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
ECDS_STATS = "extension_config_discovery.http_filter.responses_transcoder."
# A valid streaming Chat request (the filter translates requests too); it asks for the usage chunk,
# so the answer equals `transcode --to chat` with the default stream options.
CHAT_BODY = {"model": "any", "messages": [{"role": "user", "content": "hi"}], "stream": True,
             "stream_options": {"include_usage": True}}
TEXT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def module(tmp_path) -> Path:
    """A private copy of the built .wasm (a rebuild during the test cannot change its hash)."""
    assert WASM.is_file(), f"{WASM} missing: run `make wasm` first"
    copy = tmp_path / "module" / WASM.name
    copy.parent.mkdir()
    shutil.copyfile(WASM, copy)
    return copy


@pytest.fixture
def spawn():
    """Registers the servers a test starts; they are stopped by pid when it ends."""
    started = []

    def register(child):
        started.append(child)
        return child

    yield register
    for child in reversed(started):
        child.stop()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chat_text(body: bytes) -> str:
    """The answer a Chat Completions client assembles from `delta.content`."""
    parts = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: {"):
            for choice in json.loads(line[len(b"data: "):]).get("choices", []):
                parts.append(choice.get("delta", {}).get("content") or "")
    return "".join(parts)


# --- OCI image -----------------------------------------------------------------------------------


def build_image(wasm: Path, out: Path, tag: str):
    subprocess.run([sys.executable, str(OCI_IMAGE), "--wasm", str(wasm), "--out", str(out),
                    "--tag", tag], check=True, capture_output=True, timeout=60)


def blob(layout: Path, digest: str) -> bytes:
    """A blob of an OCI layout, checked against its content address."""
    data = (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    assert "sha256:" + sha256(data) == digest
    return data


def tagged_manifest(layout: Path, tag: str) -> tuple:
    """(digest, bytes) of the manifest `index.json` names `tag`."""
    index = json.loads((layout / "index.json").read_bytes())
    [entry] = [m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    assert entry["mediaType"] == MANIFEST_TYPE
    return entry["digest"], blob(layout, entry["digest"])


def plugin_wasm(layer: bytes) -> bytes:
    """`plugin.wasm` out of a compat layer, read the way Istio's and Envoy Gateway's image fetchers
    read it (gunzip, untar, the member whose base name is plugin.wasm)."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        [member] = [m for m in tar.getmembers() if Path(m.name).name == "plugin.wasm"]
        return tar.extractfile(member).read()


def test_oci_image_is_a_reproducible_compat_wasm_image(module, tmp_path):
    """One tar+gzip layer holding plugin.wasm (the Wasm image spec's compat variant, which Istio and
    Envoy Gateway accept with one layer), and the same .wasm always gives the same digest."""
    build_image(module, tmp_path / "a", "v1")
    build_image(module, tmp_path / "b", "v1")
    digest, raw = tagged_manifest(tmp_path / "a", "v1")
    assert tagged_manifest(tmp_path / "b", "v1") == (digest, raw)
    manifest = json.loads(raw)
    assert manifest["mediaType"] == MANIFEST_TYPE
    assert manifest["annotations"]["module.wasm.image/variant"] == "compat"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    data = blob(tmp_path / "a", layer["digest"])
    assert len(data) == layer["size"]
    assert plugin_wasm(data) == module.read_bytes()
    config = json.loads(blob(tmp_path / "a", manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + sha256(gzip.decompress(data))]
    layout_file = json.loads((tmp_path / "a" / "oci-layout").read_text())
    assert layout_file == {"imageLayoutVersion": "1.0.0"}


def test_oci_image_round_trip_through_a_registry(module, tmp_path, spawn):
    """skopeo pushes the layout to a real registry (CNCF distribution) and pulls it back: same
    manifest bytes and digest, and the pulled layer holds the very module that was built."""
    skopeo_bin = require("skopeo")
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')

    def skopeo(*args) -> bytes:
        done = subprocess.run([skopeo_bin, "--policy", str(policy), *args], capture_output=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    (tmp_path / "registry").mkdir()
    registry = spawn(Registry(tmp_path / "registry"))
    tag, layout, pulled = "0.0.0-test", tmp_path / "oci", tmp_path / "pulled"
    remote = f"docker://{registry.host}/responses-transcoder:{tag}"
    build_image(module, layout, tag)
    digest, raw = tagged_manifest(layout, tag)

    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}", remote)
    assert skopeo("inspect", "--raw", "--tls-verify=false", remote) == raw
    request = urllib.request.Request(
        f"http://{registry.host}/v2/responses-transcoder/manifests/{tag}",
        headers={"accept": MANIFEST_TYPE})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["docker-content-digest"] == digest
        assert response.headers["content-type"] == MANIFEST_TYPE
        assert response.read() == raw

    skopeo("copy", "--src-tls-verify=false", remote, f"oci:{pulled}:{tag}")
    assert tagged_manifest(pulled, tag) == (digest, raw)
    [layer] = json.loads(raw)["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert sha256(plugin_wasm(blob(pulled, layer["digest"]))) == sha256(module.read_bytes())


# --- manifests and --check-config ----------------------------------------------------------------


def plugin_configs(path: Path) -> list:
    """(where, JSON text) of every plugin configuration in a manifest, as its control plane hands it
    to the filter: Istio's `pluginConfig` and Envoy Gateway's `config` become JSON strings, Envoy's
    `configuration` is one already. A WasmPlugin or policy without a configuration fails here."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("@type") == WASM_FILTER_TYPE:
                value = node["config"].get("configuration", {}).get("value", "")
                found.append((where + ".configuration", value))
            for key, child in node.items():
                walk(child, f"{where}.{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}[{i}]")

    for n, doc in enumerate(yaml.safe_load_all(path.read_text())):
        kind = (doc or {}).get("kind")
        if kind == "WasmPlugin":
            found.append((f"doc {n}: spec.pluginConfig", json.dumps(doc["spec"]["pluginConfig"])))
        elif kind == "EnvoyExtensionPolicy":
            for i, wasm in enumerate(doc["spec"]["wasm"]):
                found.append((f"doc {n}: spec.wasm[{i}].config", json.dumps(wasm["config"])))
        elif kind == "EnvoyPatchPolicy":
            for i, patch in enumerate(doc["spec"]["jsonPatches"]):
                if patch["operation"].get("path", "").endswith("/configuration/value"):
                    found.append((f"doc {n}: spec.jsonPatches[{i}].operation.value",
                                  patch["operation"]["value"]))
        else:
            walk(doc, f"doc {n}: ")
    return found


def check_config(text: str) -> subprocess.CompletedProcess:
    assert TRANSCODE.is_file(), f"{TRANSCODE} missing: run `make transcode` first"
    return subprocess.run([str(TRANSCODE), "--check-config", "-"], input=text.encode(),
                          capture_output=True, timeout=30)


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(REPO)) for p in MANIFESTS])
def test_manifest_plugin_configs_are_accepted_by_the_filter(path):
    for where, text in plugin_configs(path):
        done = check_config(text)
        assert (done.returncode, done.stdout) == (0, b"ok\n"), f"{where}: {done.stderr.decode()}"


def test_deployment_manifests_all_carry_a_plugin_config():
    """The manifests the README documents each hand the filter a configuration that was checked."""
    documented = ["deploy/istio/wasmplugin-oci.yaml", "deploy/istio/wasmplugin-https.yaml",
                  "deploy/istio/envoyfilter.yaml", "deploy/envoy-gateway/patch-policy.yaml",
                  "deploy/envoy-gateway/extension-policy-image.yaml",
                  "deploy/envoy-gateway/extension-policy-http.yaml", "envoy/envoy.yaml",
                  "envoy/envoy-remote.yaml", "envoy/ecds/responses_transcoder.yaml"]
    for name in documented:
        assert plugin_configs(REPO / name), f"{name}: no plugin configuration found"


def test_check_config_names_the_bad_field(tmp_path):
    done = check_config('{"max_event_byte":1}')
    assert done.returncode == 1 and done.stdout == b""
    assert "max_event_byte" in done.stderr.decode()
    config = tmp_path / "config.json"
    config.write_text('{"emit_reasoning":"yes"}')
    done = subprocess.run([str(TRANSCODE), "--check-config", str(config)], capture_output=True,
                          timeout=30)
    assert done.returncode == 1 and "emit_reasoning" in done.stderr.decode()


# --- remote fetch --------------------------------------------------------------------------------


def remote_envoy(tmp_path: Path, upstream, files: FileServer, module_sha256: str,
                 *extra_args: str) -> Proxy:
    """envoy/envoy-remote.yaml with the test's ports, fetching from `files`, pinned to the hash."""

    def render(listen: int, admin: int) -> str:
        return rewrite(REMOTE_YAML.read_text(), [
            (r"port_value: 10000\b", f"port_value: {listen}"),
            (r"port_value: 9901\b", f"port_value: {admin}"),
            (r"port_value: 8080\b", f"port_value: {upstream.port}"),
            (r"port_value: 8081\b", f"port_value: {files.port}"),
            (r"uri: http://127\.0\.0\.1:8081/", f"uri: http://127.0.0.1:{files.port}/"),
            (r'sha256: "REPLACE_WITH_SHA256_OF_THE_WASM"', f'sha256: "{module_sha256}"'),
        ], "envoy/envoy-remote.yaml")

    return Proxy(render, tmp_path, *extra_args)


def test_remote_fetch_with_matching_sha256_transcodes(module, tmp_path, upstream, spawn):
    files = spawn(FileServer(module.parent, tmp_path))
    proxy = spawn(remote_envoy(tmp_path, upstream, files, sha256(module.read_bytes())))
    status, headers, body = post(proxy.url, "/v1/chat/completions", CHAT_BODY,
                                 {"x-transcode-to": "chat", "x-replay-file": "text"})
    assert status == 200, body
    assert headers["content-type"].startswith("text/event-stream")
    assert chat_text(body) == TEXT
    assert body.endswith(b"data: [DONE]\n\n")
    assert files.gets("/" + module.name) == 1


def test_remote_fetch_refuses_a_module_with_another_sha256(module, tmp_path, upstream, spawn):
    """Envoy 1.40 keeps running and opens the listener, but after 1 + num_retries fetches whose hash
    does not match ("data is invalid", logged at debug level) the plugin fails to load, and the
    filter, failing closed, answers 503 with an empty body; nothing reaches the upstream."""
    [retries] = map(int, re.findall(r"num_retries: (\d+)", REMOTE_YAML.read_text()))
    files = spawn(FileServer(module.parent, tmp_path))
    proxy = spawn(remote_envoy(tmp_path, upstream, files, sha256(b"another module"),
                               "--component-log-level", "config:debug"))
    wait_until(lambda: "Plugin responses_transcoder failed to load" in proxy.log_text(), 60,
               "the plugin load failure")
    wait_until(lambda: files.gets("/" + module.name) == 1 + retries, 10, "every fetch attempt")
    log = proxy.log_text()
    assert log.count(f"[uri = {files.url}/{module.name}]: data is invalid") == 1 + retries
    assert "Retry limit exceeded for fetching data from remote data source" in log
    assert "Plugin configured to fail closed failed to load" in log

    probe = uuid.uuid4().hex
    status, _, body = post(proxy.url, "/v1/chat/completions", CHAT_BODY,
                           {"x-transcode-to": "chat", "x-replay-file": "text",
                            "x-deploy-probe": probe})
    assert (status, body) == (503, b"")
    assert upstream.last_request().get("headers", {}).get("x-deploy-probe") != probe
    assert proxy.alive()


# --- live configuration (ECDS) -------------------------------------------------------------------


def write_ecds(directory: Path, module: Path, version: str, plugin_config: str):
    """envoy/ecds/responses_transcoder.yaml with another version and plugin configuration, written
    as Envoy's file watcher expects: a new file in the watched directory renamed over the old
    one."""
    resource = yaml.safe_load(ECDS_RESOURCE.read_text())
    resource["version_info"] = version
    config = resource["resources"][0]["typed_config"]["config"]
    config["vm_config"]["code"]["local"]["filename"] = str(module)
    config["configuration"]["value"] = plugin_config
    staged = directory / ".responses_transcoder.yaml.new"
    staged.write_text(yaml.safe_dump(resource))
    staged.rename(directory / "responses_transcoder.yaml")


class HeldStream:
    """A Chat stream of `reasoning.sse` that the replay upstream holds after five events (the first
    reasoning delta included) until `token` is released; the upstream records, under the same
    token, when it wrote each event."""

    def __init__(self, url: str, token: str):
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.request("POST", "/v1/chat/completions", body=json.dumps(CHAT_BODY), headers={
            "content-type": "application/json", "x-transcode-to": "chat",
            "x-replay-file": "reasoning", "x-replay-hold-after": "5", "x-replay-release": token,
            "x-replay-id": token})
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        self.head = b""
        while b"reasoning_content" not in self.head:
            chunk = self.response.read1(65536)
            assert chunk, f"stream ended before the hold: {self.head!r}"
            self.head += chunk

    def finish(self) -> bytes:
        """The whole response: what came before the hold and everything after it."""
        try:
            return self.head + self.response.read()
        finally:
            self.conn.close()


def test_ecds_changes_the_configuration_live_and_open_streams_keep_theirs(module, tmp_path,
                                                                          upstream, spawn):
    """Config A (reasoning forwarded) is replaced by B (reasoning dropped) while four streams are
    open: new requests get B at once, the open streams finish under A byte for byte, none dropped.
    A configuration the filter refuses is then rejected and B stays."""
    ecds = tmp_path / "ecds"
    ecds.mkdir()
    write_ecds(ecds, module, "1", '{"default_dialect":"passthrough","emit_reasoning":true}')

    def render(listen: int, admin: int) -> str:
        return rewrite(ECDS_YAML.read_text(), [
            (r"port_value: 10000\b", f"port_value: {listen}"),
            (r"port_value: 9901\b", f"port_value: {admin}"),
            (r"port_value: 8080\b", f"port_value: {upstream.port}"),
            (r"path: envoy/ecds/responses_transcoder\.yaml",
             f"path: {ecds}/responses_transcoder.yaml"),
            (r"watched_directory: \{ path: envoy/ecds \}",
             f"watched_directory: {{ path: {ecds} }}"),
        ], "envoy/envoy-ecds.yaml")

    proxy = spawn(Proxy(render, tmp_path))

    def stat(name: str):
        return proxy.stats(ECDS_STATS).get(ECDS_STATS + name)

    assert (stat("version_text"), stat("config_reload"), stat("update_success")) == ("1", "1", "1")

    tokens = [uuid.uuid4().hex for _ in range(4)]
    held = [HeldStream(proxy.url, token) for token in tokens]

    write_ecds(ecds, module, "2", '{"default_dialect":"passthrough","emit_reasoning":false}')
    wait_until(lambda: stat("config_reload") == "2" and stat("version_text") == "2", 15,
               "ECDS config_reload 2")
    headers = {"x-transcode-to": "chat", "x-replay-file": "reasoning"}
    status, _, under_b = post(proxy.url, "/v1/chat/completions", CHAT_BODY, headers)
    assert status == 200 and b"reasoning_content" not in under_b
    assert chat_text(under_b) == "2 + 2 = 4." and under_b.endswith(b"data: [DONE]\n\n")

    write_ecds(ecds, module, "3", '{"max_event_byte":1}')
    wait_until(lambda: stat("update_rejected") == "1", 15, "ECDS update_rejected 1")
    assert (stat("config_fail"), stat("update_success"), stat("version_text")) == ("1", "2", "2")
    status, _, still_b = post(proxy.url, "/v1/chat/completions", CHAT_BODY, headers)
    assert (status, still_b) == (200, under_b)

    for token in tokens:
        written = json.loads(http_get(f"{upstream.url}/_timings/{token}")[1])
        assert len(written) == 5, "the open streams were still mid-way through both updates"
    for token in tokens:
        upstream.release(token)
    expected = transcode(STREAMS / "reasoning.sse", "chat")
    for stream in held:
        assert stream.finish() == expected
