#!/usr/bin/env python3
"""Writes the manifests of deploy/ with the digests of the module you built, ready to apply.

    python3 deploy/render_manifests.py [--oci DIR] [--tag TAG] [--image URL] [--module-url URL]
                                       [--out DIR]

`make manifests` runs it after `make image`. From the OCI layout (default `target/oci`) it takes the
manifest digest of TAG and the module inside the image; it writes every manifest of deploy/istio and
deploy/envoy-gateway to OUT (default `target/deploy`) with:

* `oci://` locations (Istio WasmPlugin `url`, the EnvoyFilter's module `http_uri.uri`, Envoy
  Gateway `image.url`) set to `--image` (default: the shipped one) and pinned to the manifest
  digest (`sha256`, without "sha256:");
* `https://` module locations (`url`, `http.url`) set to `--module-url` (default: the shipped one)
  and pinned to the module's sha256.

Every other field is written as shipped (comments are not carried over: the files in deploy/ are
the documented ones). Needs PyYAML (`make venv`).
"""

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def image_digests(layout: Path, tag: str) -> tuple:
    """(manifest digest hex, module sha256 hex) of TAG in the OCI layout, reading the module out
    of the image as Istio's and Envoy Gateway's fetchers do (the layer's plugin.wasm)."""
    index = json.loads((layout / "index.json").read_text())
    entries = [m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    if len(entries) != 1:
        raise SystemExit(f"render_manifests: tag {tag!r} not found once in {layout}/index.json")
    digest = entries[0]["digest"].removeprefix("sha256:")
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_bytes())
    layer = manifest["layers"][-1]["digest"].removeprefix("sha256:")
    data = gzip.decompress((layout / "blobs" / "sha256" / layer).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        [member] = [m for m in tar.getmembers() if Path(m.name).name == "plugin.wasm"]
        module = tar.extractfile(member).read()
    return digest, hashlib.sha256(module).hexdigest()


def pin(doc: dict, image: str, image_digest: str, module_url: str, module_sha: str) -> int:
    """Sets the module locations and digests of one manifest document; returns how many it set."""
    spec, kind, count = doc.get("spec", {}), doc.get("kind"), 0
    if kind == "WasmPlugin":
        if spec["url"].startswith("oci://"):
            spec["url"], spec["sha256"] = image, image_digest
        else:
            spec["url"], spec["sha256"] = module_url, module_sha
        count += 1
    elif kind == "EnvoyFilter":
        for patch in spec["configPatches"]:
            if patch["applyTo"] != "EXTENSION_CONFIG":
                continue
            config = patch["patch"]["value"]["typed_config"]["config"]
            remote = config["vm_config"]["code"]["remote"]
            if remote["http_uri"]["uri"].startswith("oci://"):
                remote["http_uri"]["uri"], remote["sha256"] = image, image_digest
            else:
                remote["http_uri"]["uri"], remote["sha256"] = module_url, module_sha
            count += 1
    elif kind == "EnvoyExtensionPolicy":
        for wasm in spec["wasm"]:
            code = wasm["code"]
            if code["type"] == "Image":
                code["image"]["url"], code["image"]["sha256"] = image, image_digest
            else:
                code["http"]["url"], code["http"]["sha256"] = module_url, module_sha
            count += 1
    return count


def main() -> int:
    version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oci", type=Path, default=REPO / "target" / "oci", help="OCI layout")
    parser.add_argument("--tag", default=version, help="tag in the layout")
    parser.add_argument("--image", default=f"oci://registry.example.com/llm/responses-transcoder:"
                        f"{version}", help="where the image is pushed (oci://…)")
    parser.add_argument("--module-url", default="https://downloads.example.com/responses-"
                        f"transcoder/{version}/responses_transcoder.wasm",
                        help="where the module is served (https://…)")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "deploy",
                        help="output directory")
    args = parser.parse_args()
    if not (args.oci / "index.json").is_file():
        print(f"render_manifests: no OCI layout in {args.oci} (run `make image`)", file=sys.stderr)
        return 1
    image_digest, module_sha = image_digests(args.oci, args.tag)
    pinned = 0
    for source in sorted(DEPLOY.rglob("*.yaml")):
        docs = [doc for doc in yaml.safe_load_all(source.read_text()) if doc]
        for doc in docs:
            pinned += pin(doc, args.image, image_digest, args.module_url, module_sha)
        target = args.out / source.relative_to(DEPLOY)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    print(f"{args.out}: {pinned} module references pinned (image {image_digest[:12]}…, "
          f"module {module_sha[:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
