"""Every manifest under deploy/ as the Kubernetes API server would judge it: each YAML document is
validated against the CRD schema of its kind and version (../shared/crds/: Istio WasmPlugin and
EnvoyFilter, Envoy Gateway EnvoyExtensionPolicy and EnvoyPatchPolicy, Gateway API Gateway and
HTTPRoute), with unknown fields as errors, the way the API server prunes them, duplicates in
`set` and `map` lists refused, and every CEL rule (`x-kubernetes-validations`) the document reaches
checked by its Python equivalent below. Then the
plugin configurations they carry agree with each other (header hold on exactly where Envoy can
hold headers) and with the filter's own parser.

The CRD schemas are structural OpenAPI v3; `json_schema` turns one into a JSON schema (Draft 7) for
`jsonschema`: `nullable` becomes a null type, `x-kubernetes-int-or-string` an integer-or-string,
and every object that lists its properties without `x-kubernetes-preserve-unknown-fields` gets
`additionalProperties: false`; an object that lists none and does not preserve unknown fields
keeps none (the API server would drop them all).
"""

import copy
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, TRANSCODE, WASM
from test_deploy import OCI_IMAGE, check_config, plugin_configs

CRDS = REPO.parent / "shared" / "crds"
DEPLOY = REPO / "deploy"
MANIFESTS = sorted(DEPLOY.rglob("*.yaml"))
WASM_FILTER_NAME = ("envoy.filters.http.wasm/envoyextensionpolicy/{namespace}/{name}/wasm/{index}")

# ObjectMeta as far as these manifests use it; anything else in `metadata` is an error here.
OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                 "maxLength": 253},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                      "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _same_parent(p1, p2, *, section_and_port_equal):
    same = (p1.get("group") == p2.get("group") and p1.get("kind") == p2.get("kind")
            and p1.get("name") == p2.get("name")
            and (p1.get("namespace") or "") == (p2.get("namespace") or ""))
    if not section_and_port_equal:
        return same
    return (same and (p1.get("sectionName") or "") == (p2.get("sectionName") or "")
            and (p1.get("port") or 0) == (p2.get("port") or 0))


def _parent_refs_consistent(refs):
    return all(((p1.get("sectionName") or "") == "") == ((p2.get("sectionName") or "") == "")
               and ((p1.get("port") or 0) == 0) == ((p2.get("port") or 0) == 0)
               for p1 in refs for p2 in refs
               if _same_parent(p1, p2, section_and_port_equal=False))


def _prefix_rewrite_needs_one_prefix_match(rule, holders, key):
    def uses(f):
        path = f.get(key, {}).get("path", {})
        return path.get("type") == "ReplacePrefixMatch" and "replacePrefixMatch" in path
    if sum(1 for h in holders if sum(1 for f in h.get("filters", []) if uses(f)) == 1) != 1:
        return True
    matches = rule.get("matches", [])
    return len(matches) == 1 and matches[0].get("path", {}).get("type") == "PathPrefix"


def _path_value_ok(path):
    if path.get("type") not in ("Exact", "PathPrefix"):
        return True
    value = path.get("value", "")
    return (value.startswith("/") and not any(bad in value for bad in
                                              ("//", "/./", "/../", "%2f", "%2F", "#"))
            and not value.endswith(("/.", "/..")) and re.fullmatch(
                r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+", value) is not None)


def _url_scheme_ok(url):
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return (scheme.group(1) if scheme else "") in ("", "http", "https", "oci", "file")


def _duration_s(text):
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text))


XROUTES = ["HTTPRoute", "GRPCRoute", "UDPRoute", "TCPRoute", "TLSRoute"]
EG_KINDS = ["Gateway", "ListenerSet", *XROUTES]

# The CEL rules of ../shared/crds that the manifests reach, each with its Python equivalent, keyed
# by the rule's text with runs of white space collapsed: a rule not listed here fails the test, so
# none is skipped unseen.
_CEL = {
    # Istio WasmPlugin / EnvoyFilter
    "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : "
    "0) <= 1": lambda s: sum(k in s for k in ("selector", "targetRef", "targetRefs")) <= 1,
    "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1":
        lambda s: sum(k in s for k in ("workloadSelector", "targetRefs")) <= 1,
    'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : '
    '(isURL("http://" + self) && url("http://" + self).getScheme() in ["", "http", "https", '
    '"oci", "file"])': _url_scheme_ok,
    "self.size() == 0": lambda s: len(s) == 0,
    'self.all(key, !key.contains("*"))': lambda s: all("*" not in key for key in s),
    "self.all(key, key.size() != 0)": lambda s: all(s),
    '!self.contains("*")': lambda s: "*" not in s,
    'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) '
    ': !has(self.waypoint)': lambda s: (s.get("context") == "WAYPOINT") == ("waypoint" in s),
    # Envoy Gateway EnvoyExtensionPolicy
    "(has(self.targetRef) && !has(self.targetRefs)) || (!has(self.targetRef) && "
    "has(self.targetRefs)) || (has(self.targetSelectors) && self.targetSelectors.size() > 0)":
        lambda s: ("targetRef" in s) != ("targetRefs" in s) or bool(s.get("targetSelectors")),
    "has(self.targetRef) ? self.targetRef.group == 'gateway.networking.k8s.io' : true":
        lambda s: s.get("targetRef", {}).get("group", "gateway.networking.k8s.io")
        == "gateway.networking.k8s.io",
    "has(self.targetRef) ? self.targetRef.kind in ['Gateway', 'ListenerSet', 'HTTPRoute', "
    "'GRPCRoute', 'UDPRoute', 'TCPRoute', 'TLSRoute'] : true":
        lambda s: "targetRef" not in s or s["targetRef"].get("kind") in EG_KINDS,
    "has(self.targetRefs) ? self.targetRefs.all(ref, ref.group == 'gateway.networking.k8s.io') "
    ": true": lambda s: all(r.get("group") == "gateway.networking.k8s.io"
                            for r in s.get("targetRefs", [])),
    "has(self.targetRefs) ? self.targetRefs.all(ref, ref.kind in ['Gateway', 'ListenerSet', "
    "'HTTPRoute', 'GRPCRoute', 'UDPRoute', 'TCPRoute', 'TLSRoute']) : true":
        lambda s: all(r.get("kind") in EG_KINDS for r in s.get("targetRefs", [])),
    "!has(self.mergeType) || ((!has(self.targetRef) || self.targetRef.kind in ['HTTPRoute', "
    "'GRPCRoute', 'UDPRoute', 'TCPRoute', 'TLSRoute']) && (!has(self.targetRefs) || "
    "self.targetRefs.all(ref, ref.kind in ['HTTPRoute', 'GRPCRoute', 'UDPRoute', 'TCPRoute', "
    "'TLSRoute'])) && (!has(self.targetSelectors) || self.targetSelectors.all(sel, sel.kind in "
    "['HTTPRoute', 'GRPCRoute', 'UDPRoute', 'TCPRoute', 'TLSRoute'])))":
        lambda s: "mergeType" not in s or all(
            r.get("kind") in XROUTES for r in [*s.get("targetRefs", []),
                                               *([s["targetRef"]] if "targetRef" in s else []),
                                               *s.get("targetSelectors", [])]),
    "self.type == 'HTTP' ? has(self.http) : !has(self.http)":
        lambda s: (s.get("type") == "HTTP") == ("http" in s),
    "self.type == 'Image' ? has(self.image) : !has(self.image)":
        lambda s: (s.get("type") == "Image") == ("image" in s),
    # Gateway API Gateway
    "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)":
        lambda s: all("tls" not in l for l in s if l.get("protocol") in ("HTTP", "TCP", "UDP")),
    "self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? (l.tls.mode == '' || l.tls.mode == "
    "'Terminate') : true)": lambda s: all(
        l["tls"].get("mode", "") in ("", "Terminate") for l in s
        if l.get("protocol") == "HTTPS" and "tls" in l),
    "self.all(l, (l.protocol == 'TLS' ? has(l.tls) && has(l.tls.mode) && l.tls.mode != '' : "
    "true))": lambda s: all(l.get("tls", {}).get("mode") for l in s if l.get("protocol") == "TLS"),
    "self.all(l, l.protocol in ['TCP', 'UDP'] ? (!has(l.hostname) || l.hostname == '') : true)":
        lambda s: all(not l.get("hostname") for l in s if l.get("protocol") in ("TCP", "UDP")),
    "self.all(l1, self.exists_one(l2, l1.name == l2.name))":
        lambda s: all(sum(l2.get("name") == l1.get("name") for l2 in s) == 1 for l1 in s),
    "self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol == l2.protocol && "
    "(has(l1.hostname) && has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && "
    "!has(l2.hostname))))": lambda s: all(sum(
        (l1.get("port"), l1.get("protocol"), l1.get("hostname")) ==
        (l2.get("port"), l2.get("protocol"), l2.get("hostname")) for l2 in s) == 1 for l1 in s),
    # Gateway API HTTPRoute
    "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name "
    "&& (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || "
    "p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && "
    "p1.__namespace__ == p2.__namespace__)) ? ((!has(p1.sectionName) || p1.sectionName == '') == "
    "(!has(p2.sectionName) || p2.sectionName == '') && (!has(p1.port) || p1.port == 0) == "
    "(!has(p2.port) || p2.port == 0)): true))": _parent_refs_consistent,
    "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == "
    "p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) "
    "|| p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && "
    "p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') "
    "&& (!has(p2.sectionName) || p2.sectionName == '')) || ( has(p1.sectionName) && "
    "has(p2.sectionName) && p1.sectionName == p2.sectionName)) && (((!has(p1.port) || p1.port == "
    "0) && (!has(p2.port) || p2.port == 0)) || (has(p1.port) && has(p2.port) && p1.port == "
    "p2.port))))": lambda s: all(sum(_same_parent(p1, p2, section_and_port_equal=True)
                                     for p2 in s) == 1 for p1 in s),
    " + ".join(f"(self.size() > {i} ? self[{i}].matches.size() : 0)" for i in range(16))
    + " <= 128": lambda s: sum(len(r.get("matches", [])) for r in s[:16]) <= 128,
    "self.all(l1, !has(l1.name) || self.exists_one(l2, has(l2.name) && l1.name == l2.name))":
        lambda s: all("name" not in r or sum(r2.get("name") == r["name"] for r2 in s) == 1
                      for r in s),
    "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true":
        lambda s: not (s.get("group", "") == "" and s.get("kind", "Service") == "Service")
        or "port" in s,
    "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'":
        lambda s: s.get("type", "PathPrefix") in ("Exact", "PathPrefix", "RegularExpression"),
    "(self.type in ['Exact','PathPrefix']) ? self.value.startsWith('/') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('//') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/./') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/../') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2f') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2F') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('#') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/..') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/.') : true": _path_value_ok,
    "(self.type in ['Exact','PathPrefix']) ? self.value.matches("
    "r\"\"\"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$\"\"\") : true": _path_value_ok,
    "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') "
    "&& duration(self.backendRequest) > duration(self.request))": lambda s: not (
        "request" in s and "backendRequest" in s and _duration_s(s["request"]) != 0
        and _duration_s(s["backendRequest"]) > _duration_s(s["request"])),
    "(has(self.backendRefs) && size(self.backendRefs) > 0) ? (!has(self.filters) || "
    "self.filters.all(f, !has(f.requestRedirect))): true":
        lambda s: not s.get("backendRefs") or all("requestRedirect" not in f
                                                  for f in s.get("filters", [])),
    "(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect) && "
    "has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && "
    "has(f.requestRedirect.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : "
    "true": lambda s: _prefix_rewrite_needs_one_prefix_match(s, [s], "requestRedirect"),
    "(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) "
    "&& f.urlRewrite.path.type == 'ReplacePrefixMatch' && "
    "has(f.urlRewrite.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : "
    "true": lambda s: _prefix_rewrite_needs_one_prefix_match(s, [s], "urlRewrite"),
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && "
    "b.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && "
    "f.requestRedirect.path.type == 'ReplacePrefixMatch' && "
    "has(f.requestRedirect.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : "
    "true": lambda s: _prefix_rewrite_needs_one_prefix_match(s, s.get("backendRefs", []),
                                                             "requestRedirect"),
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && "
    "b.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) && "
    "f.urlRewrite.path.type == 'ReplacePrefixMatch' && "
    "has(f.urlRewrite.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : "
    "true": lambda s: _prefix_rewrite_needs_one_prefix_match(s, s.get("backendRefs", []),
                                                             "urlRewrite"),
}


def normalized(rule: str) -> str:
    """A CEL rule's text with runs of white space collapsed (the CRDs fold long rules)."""
    return " ".join(rule.split())


CEL = {normalized(rule): check for rule, check in _CEL.items()}


# Handled below (nullable, int-or-string, preserve-unknown-fields), checked apart (CEL rules, list
# types: `list_errors`), or not a constraint on what the API server accepts (descriptions,
# defaults, map types, formats).
IGNORED_KEYWORDS = {"description", "x-kubernetes-validations", "x-kubernetes-list-type",
                    "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "default", "format",
                    "nullable", "x-kubernetes-int-or-string",
                    "x-kubernetes-preserve-unknown-fields"}


def json_schema(node: dict, root: bool = False) -> dict:
    """The JSON schema (Draft 7) equivalent of one structural OpenAPI v3 schema node."""
    out = {}
    for key, value in node.items():
        if key in IGNORED_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: json_schema(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [json_schema(child) for child in value]
        elif key.startswith("x-kubernetes-"):
            raise AssertionError(f"unhandled schema extension {key}")
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if node.get("type") == "object" and not preserve and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if root:
        out.setdefault("properties", {})
        out["properties"]["apiVersion"] = {"type": "string"}
        out["properties"]["kind"] = {"type": "string"}
        out["properties"]["metadata"] = OBJECT_META
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind",
                                                                  "metadata"})
    return out


def load_crds() -> dict:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, from every CRD in CRDS."""
    assert CRDS.is_dir(), f"{CRDS} missing: the CRD schemas live beside the repository"
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd:
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    schemas[(f"{group}/{version['name']}", kind)] = \
                        version["schema"]["openAPIV3Schema"]
    return schemas


SCHEMAS = load_crds()


def cel_checks(schema: dict, value, where: str):
    """(rule, message, value, where) for every CEL rule on a schema node the document reaches."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield rule["rule"], rule.get("message", ""), value, where
    if isinstance(value, dict):
        for key, child in value.items():
            if key in schema.get("properties", {}):
                yield from cel_checks(schema["properties"][key], child, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from cel_checks(schema["additionalProperties"], child, f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, child in enumerate(value):
            yield from cel_checks(schema["items"], child, f"{where}[{i}]")


def list_errors(schema: dict, value, where: str):
    """Duplicates the API server refuses: items of an `x-kubernetes-list-type: set`, keys of a
    `map` list (by `x-kubernetes-list-map-keys`)."""
    if isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen = [json.dumps(item, sort_keys=True) if kind == "set" else
                json.dumps([item.get(k) for k in keys]) for item in value] \
            if kind in ("set", "map") else []
        if len(seen) != len(set(seen)):
            yield f"{where}: duplicate entries in a list of type {kind}"
        for i, child in enumerate(value):
            if isinstance(schema.get("items"), dict):
                yield from list_errors(schema["items"], child, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, child in value.items():
            if key in schema.get("properties", {}):
                yield from list_errors(schema["properties"][key], child, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from list_errors(schema["additionalProperties"], child, f"{where}.{key}")


def validation_errors(doc: dict) -> list:
    """What the API server would refuse in one manifest document: its schema errors and broken CEL
    rules, as readable lines (empty: it applies)."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in SCHEMAS:
        return [f"no CRD schema for {key} in {CRDS}"]
    schema = SCHEMAS[key]
    validator = jsonschema.Draft7Validator(json_schema(schema, root=True))
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in validator.iter_errors(doc)]
    errors += list_errors(schema, doc, "<root>")
    for rule, message, value, where in cel_checks(schema, doc, "<root>"):
        check = CEL.get(normalized(rule))
        if check is None:
            errors.append(f"{where}: CEL rule without a Python equivalent in test_crds.py: {rule}")
        elif not check(value):
            errors.append(f"{where}: {message} ({rule})")
    return errors


def documents(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(REPO)) for p in MANIFESTS])
def test_manifest_is_valid_against_its_crd(path):
    docs = documents(path)
    assert docs, f"{path}: no YAML document"
    for n, doc in enumerate(docs):
        assert validation_errors(doc) == [], f"{path} document {n}"


def test_every_shipped_kind_has_a_schema():
    kinds = {(doc["apiVersion"], doc["kind"]) for path in MANIFESTS for doc in documents(path)}
    assert kinds == {
        ("extensions.istio.io/v1alpha1", "WasmPlugin"),
        ("networking.istio.io/v1alpha3", "EnvoyFilter"),
        ("gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy"),
        ("gateway.envoyproxy.io/v1alpha1", "EnvoyPatchPolicy"),
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    }
    assert kinds <= set(SCHEMAS)


def _doc(name: str) -> dict:
    [doc] = documents(DEPLOY / name)
    return doc


def test_the_validator_refuses_what_the_api_server_refuses():
    """The checks can fail: the WasmPlugin as it used to ship (a placeholder digest), a misspelt
    field at any depth, a wrong enum value, a CEL rule broken, metadata without a name."""
    plugin = _doc("istio/wasmplugin-oci.yaml")
    old = copy.deepcopy(plugin)
    old["spec"]["sha256"] = "REPLACE_WITH_MANIFEST_DIGEST"
    assert any("spec.sha256" in e and "does not match" in e for e in validation_errors(old))
    typo = copy.deepcopy(plugin)
    typo["spec"]["failStrategie"] = "FAIL_CLOSE"
    assert any("failStrategie" in e for e in validation_errors(typo))
    deep = copy.deepcopy(plugin)
    deep["spec"]["match"][0]["port"] = [{"number": 80}]
    assert any("port" in e for e in validation_errors(deep))
    phase = copy.deepcopy(plugin)
    phase["spec"]["phase"] = "LATE"
    assert any("spec.phase" in e for e in validation_errors(phase))
    both = copy.deepcopy(plugin)
    both["spec"]["selector"] = {"matchLabels": {"app": "x"}}
    assert any("only one of targetRefs or selector" in e for e in validation_errors(both))
    ports = _doc("istio/wasmplugin-https.yaml")
    ports["spec"]["match"][0]["ports"].append({"number": 8000})
    assert any("duplicate" in e for e in validation_errors(ports))
    nameless = copy.deepcopy(plugin)
    del nameless["metadata"]["name"]
    assert any("name" in e for e in validation_errors(nameless))

    route = _doc("envoy-gateway/httproute.yaml")
    route["spec"]["rules"][0]["matches"].append({"path": {"type": "Prefix", "value": "/v1"}})
    assert any("type" in e for e in validation_errors(route))
    policy = _doc("envoy-gateway/extension-policy-image.yaml")
    policy["spec"]["wasm"][0]["code"]["type"] = "HTTP"
    assert any("If type is HTTP" in e for e in validation_errors(policy))
    patch = _doc("envoy-gateway/patch-policy.yaml")
    patch["spec"]["jsonPatches"][0]["operation"]["op"] = "merge"
    assert any("op" in e for e in validation_errors(patch))
    envoy_filter = _doc("istio/envoyfilter.yaml")
    envoy_filter["spec"]["configPatches"][0]["applyTo"] = "EXTENSION"
    assert any("applyTo" in e for e in validation_errors(envoy_filter))


# --- the plugin configurations the manifests carry -----------------------------------------------


def _config(text: str) -> dict:
    return json.loads(text)


def envoy_filter_wasm(doc: dict) -> dict:
    """The Wasm PluginConfig of the EnvoyFilter's EXTENSION_CONFIG patch."""
    [patch] = [p for p in doc["spec"]["configPatches"] if p["applyTo"] == "EXTENSION_CONFIG"]
    return patch["patch"]["value"]["typed_config"]["config"]


def test_header_hold_matches_what_each_mesh_can_do():
    """On where Envoy is told to hold headers (EnvoyFilter, EnvoyPatchPolicy), off where it cannot
    be (WasmPlugin, EnvoyExtensionPolicy alone): no shipped configuration waits for a probe."""
    for name in ("istio/wasmplugin-oci.yaml", "istio/wasmplugin-https.yaml"):
        assert _doc(name)["spec"]["pluginConfig"]["header_hold"] == "off", name
    for name in ("envoy-gateway/extension-policy-image.yaml",
                 "envoy-gateway/extension-policy-http.yaml"):
        [wasm] = _doc(name)["spec"]["wasm"]
        assert wasm["config"]["header_hold"] == "off", name
        assert wasm["failOpen"] is False, name
    wasm = envoy_filter_wasm(_doc("istio/envoyfilter.yaml"))
    assert wasm["allow_on_headers_stop_iteration"] is True
    assert _config(wasm["configuration"]["value"])["header_hold"] == "on"
    assert not wasm.get("fail_open") and "failure_policy" not in wasm


def test_patch_policy_sets_the_flag_first_on_the_extension_policys_filter():
    """The EnvoyPatchPolicy targets the filter each extension policy creates (by Envoy Gateway's
    name for it), sets allow_on_headers_stop_iteration before the configuration, and its
    configuration is the extension policy's with header_hold "on"."""
    patch = _doc("envoy-gateway/patch-policy.yaml")
    gateway = _doc("envoy-gateway/gateway.yaml")
    listener = "{}/{}/{}".format(gateway["metadata"]["namespace"], gateway["metadata"]["name"],
                                 gateway["spec"]["listeners"][0]["name"])
    assert patch["spec"]["targetRef"]["name"] == gateway["metadata"]["name"]
    assert patch["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    ops = [p["operation"] for p in patch["spec"]["jsonPatches"]]
    assert all(p["name"] == listener for p in patch["spec"]["jsonPatches"])
    paths = [op.get("path") for op in ops]
    flag = paths.index("/typed_config/config/allow_on_headers_stop_iteration")
    config = paths.index("/typed_config/config/configuration/value")
    assert flag < config and ops[flag]["value"] is True
    assert ops[flag]["jsonPath"] == ops[config]["jsonPath"]
    for name in ("envoy-gateway/extension-policy-image.yaml",
                 "envoy-gateway/extension-policy-http.yaml"):
        policy = _doc(name)
        filter_name = WASM_FILTER_NAME.format(namespace=policy["metadata"]["namespace"],
                                              name=policy["metadata"]["name"], index=0)
        assert f"@.name == '{filter_name}'" in ops[flag]["jsonPath"], name
        assert _config(ops[config]["value"]) == {**policy["spec"]["wasm"][0]["config"],
                                                 "header_hold": "on"}, name


def test_routes_cover_the_rewritten_path():
    """Every shipped HTTPRoute matches the path translated requests are sent to."""
    for name in ("istio/httproute.yaml", "envoy-gateway/httproute.yaml"):
        matches = [m["path"] for rule in _doc(name)["spec"]["rules"] for m in rule["matches"]]
        assert {"type": "PathPrefix", "value": "/v1/responses"} in matches, name
        assert all(rule.get("timeouts", {}).get("request") == "0s"
                   for rule in _doc(name)["spec"]["rules"]), name


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(REPO)) for p in MANIFESTS])
def test_embedded_plugin_configs_pass_check_config(path):
    assert TRANSCODE.is_file(), f"{TRANSCODE} missing: run `make transcode` first"
    for where, text in plugin_configs(path):
        done = check_config(text)
        assert (done.returncode, done.stdout) == (0, b"ok\n"), f"{where}: {done.stderr.decode()}"


def test_an_unquoted_off_is_caught():
    """YAML 1.1 reads a bare `off` as false; the filter refuses it, naming the key."""
    done = check_config(json.dumps(yaml.safe_load("header_hold: off")))
    assert done.returncode == 1 and "header_hold" in done.stderr.decode()


def module_pins(doc: dict) -> list:
    """(location, sha256) of every module reference in a manifest document."""
    spec = doc.get("spec", {})
    if doc["kind"] == "WasmPlugin":
        return [(spec["url"], spec["sha256"])]
    if doc["kind"] == "EnvoyFilter":
        remote = envoy_filter_wasm(doc)["vm_config"]["code"]["remote"]
        return [(remote["http_uri"]["uri"], remote["sha256"])]
    if doc["kind"] == "EnvoyExtensionPolicy":
        sources = [w["code"].get("image") or w["code"]["http"] for w in spec["wasm"]]
        return [(source["url"], source["sha256"]) for source in sources]
    return []


def test_rendered_manifests_are_pinned_and_valid(tmp_path):
    """`make manifests`: from the image `make image` wrote, every module reference gets the
    image's manifest digest or the module's sha256, and the result still applies."""
    assert WASM.is_file(), f"{WASM} missing: run `make wasm` first"
    layout, out = tmp_path / "oci", tmp_path / "deploy"
    for args in ([str(OCI_IMAGE), "--wasm", str(WASM), "--out", str(layout), "--tag", "t1"],
                 [str(REPO / "deploy" / "render_manifests.py"), "--oci", str(layout), "--tag",
                  "t1", "--image", "oci://registry.test/rt:t1", "--out", str(out)]):
        done = subprocess.run([sys.executable, *args], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
    index = json.loads((layout / "index.json").read_text())
    image_digest = index["manifests"][0]["digest"].removeprefix("sha256:")
    module_sha = hashlib.sha256(WASM.read_bytes()).hexdigest()
    rendered = sorted(out.rglob("*.yaml"))
    assert [p.relative_to(out) for p in rendered] == [p.relative_to(DEPLOY) for p in MANIFESTS]
    pins = []
    for path in rendered:
        for doc in documents(path):
            assert validation_errors(doc) == [], path
            pins += module_pins(doc)
    assert sorted(pins) == sorted([
        ("oci://registry.test/rt:t1", image_digest),  # Istio WasmPlugin
        ("oci://registry.test/rt:t1", image_digest),  # Istio EnvoyFilter
        ("oci://registry.test/rt:t1", image_digest),  # Envoy Gateway image policy
        ("https://downloads.example.com/responses-transcoder/0.1.0/responses_transcoder.wasm",
         module_sha),  # Istio WasmPlugin over HTTPS
        ("https://downloads.example.com/responses-transcoder/0.1.0/responses_transcoder.wasm",
         module_sha),  # Envoy Gateway HTTP policy
    ])
