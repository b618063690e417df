#!/usr/bin/env bash
# Creates the bench-only venv (.venv-bench: LiteLLM and its proxy server's requirements, pinned in
# bench/requirements.txt) when needed, then runs bench/litellm_baseline.py with the arguments
# given. `--setup-only` stops after the venv. Run from the repository root (`make bench` does).
set -euo pipefail
if [ ! -f .venv-bench/.stamp ] || [ bench/requirements.txt -nt .venv-bench/.stamp ]; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --upgrade pip
    .venv-bench/bin/pip install --quiet -r bench/requirements.txt
    touch .venv-bench/.stamp
fi
if [ "${1:-}" = "--setup-only" ]; then
    exit 0
fi
export LITELLM_LOCAL_MODEL_COST_MAP=True  # no network fetch of the price list
exec .venv-bench/bin/python bench/litellm_baseline.py "$@"
