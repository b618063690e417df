#!/usr/bin/env python3
"""Packs the filter's .wasm into a single-layer OCI image layout; no Docker, standard library only.

    python3 deploy/oci_image.py [--wasm FILE] [--out DIR] [--tag TAG]

Defaults: the release module, `target/oci`, and the crate version from Cargo.toml as the tag. The
result is an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) that `skopeo copy
oci:target/oci:TAG docker://REGISTRY/responses-transcoder:TAG` (or `oras cp --from-oci-layout`)
pushes to any registry.

Format: the Wasm image spec's *compat* variant (github.com/solo-io/wasm, spec-compat.md), the one
both consumers accept with a single layer. Istio (pkg/wasm/imagefetcher.go) and Envoy Gateway
(internal/wasm/imagefetcher.go) take the last layer, of type
`application/vnd.oci.image.layer.v1.tar+gzip`, and read the file `plugin.wasm` from it; their *oci*
variant (a raw `application/vnd.module.wasm.content.layer.v1+wasm` layer) demands exactly two
layers and rejects a one-layer image ("number of layers must be 2 but got 1").

Reproducible: no timestamps anywhere (tar mtime 0, gzip mtime 0, no `created`), fixed ownership and
mode, fixed JSON key order, so the same .wasm always gives the same manifest digest (with the same
zlib; other deflate implementations, e.g. zlib-ng, compress to other but equally valid bytes).
Prints the tag, the manifest digest (Istio's `sha256` for an `oci://` url, Envoy Gateway's
`image.sha256`) and the module's sha256 (the `sha256` for an `https://` url).
"""

import argparse
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WASM = REPO / "target" / "wasm32-wasip1" / "release" / "responses_transcoder.wasm"
DEFAULT_OUT = REPO / "target" / "oci"

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PLUGIN_FILE = "plugin.wasm"


def canonical(obj) -> bytes:
    """Compact JSON in insertion order: the exact bytes whose sha256 is the blob's digest."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def layer_tar(wasm: bytes) -> bytes:
    """An uncompressed tar holding only `plugin.wasm` (root-owned, 0644, mtime 0)."""
    info = tarfile.TarInfo(PLUGIN_FILE)
    info.size, info.mode, info.mtime = len(wasm), 0o644, 0
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(wasm))
    return out.getvalue()


class Layout:
    """An OCI image layout being written: content-addressed blobs under `blobs/sha256/`."""

    def __init__(self, root: Path):
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)

    def blob(self, media_type: str, data: bytes, annotations: dict = None) -> dict:
        """Stores `data`; returns its descriptor."""
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        descriptor = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
        if annotations:
            descriptor["annotations"] = annotations
        return descriptor


def build(wasm: bytes, out: Path, tag: str, version: str) -> tuple:
    """Writes the layout for `wasm` into `out` (replacing an earlier layout there); returns the
    manifest's and the layer's descriptors."""
    if out.exists():
        if any(out.iterdir()) and not (out / "oci-layout").is_file():
            raise SystemExit(f"oci_image: {out} exists and is not an OCI layout; not replacing it")
        shutil.rmtree(out)
    layout = Layout(out)
    tar = layer_tar(wasm)
    layer = layout.blob(LAYER_TYPE, gzip.compress(tar, compresslevel=9, mtime=0),
                        {"org.opencontainers.image.title": PLUGIN_FILE})
    config = layout.blob(CONFIG_TYPE, canonical({
        "architecture": "wasm",
        "os": "wasip1",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
    }))
    manifest = layout.blob(MANIFEST_TYPE, canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config,
        "layers": [layer],
        "annotations": {
            "module.wasm.image/variant": "compat",
            "org.opencontainers.image.title": "responses-transcoder",
            "org.opencontainers.image.version": version,
        },
    }), {"org.opencontainers.image.ref.name": tag})
    (out / "index.json").write_bytes(canonical(
        {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [manifest]}))
    (out / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    return manifest, layer


def main() -> int:
    version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wasm", type=Path, default=DEFAULT_WASM, help="module to pack")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="OCI layout directory")
    parser.add_argument("--tag", default=version, help="tag (org.opencontainers.image.ref.name)")
    args = parser.parse_args()
    if not args.wasm.is_file():
        print(f"oci_image: {args.wasm} not found (run `make wasm`)", file=sys.stderr)
        return 1
    wasm = args.wasm.read_bytes()
    manifest, layer = build(wasm, args.out, args.tag, version)
    print(f"{args.out}: tag {args.tag}, one {layer['size']}-byte layer (plugin.wasm, tar+gzip)")
    print(f"manifest digest {manifest['digest']}")
    print(f"module sha256   {hashlib.sha256(wasm).hexdigest()} ({len(wasm)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
