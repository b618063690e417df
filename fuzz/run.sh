#!/usr/bin/env bash
# Runs one fuzz target for a bounded time: fuzz/run.sh TARGET SECONDS [extra libFuzzer flags].
# Seeds the target's corpus from ../shared/corpus (when present) and tests/e2e/streams; exits
# non-zero on a crash (the reproducer lands in fuzz/artifacts/TARGET/). Stable Rust is enough:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly-only flags.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS}
shift 2

mkdir -p "corpus/$target"
if [ "$target" = request ]; then
    # Client requests and unary answers, each behind its selector byte (fuzz/src/lib.rs).
    cp seeds/request/* "corpus/$target/"
elif [ "$target" != structured ] && [ "$target" != stop ]; then
    # The first five bytes of an input choose the cap and chunk lengths (fuzz/src/lib.rs); for
    # `fast_path` a sixth, even, byte makes the rest a stream rather than choices.
    header='\x80\x06\xff\x00\x02'
    [ "$target" = fast_path ] && header="$header\\x00"
    for seed in ../../shared/corpus/*.sse ../tests/e2e/streams/*.sse; do
        [ -f "$seed" ] || continue
        { printf "$header"; cat "$seed"; } > "corpus/$target/seed-$(basename "$seed")"
    done
fi
RUSTC_BOOTSTRAP=1 cargo fuzz run --release --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 "$@"
