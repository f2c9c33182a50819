#!/usr/bin/env bash
# Fuzzes every decoder of network bytes (the cargo-fuzz crate in fuzz/) for a
# short while: scripts/fuzz.sh [SECONDS [TARGET...]]. SECONDS defaults to 30
# per target; with no TARGET, every target runs, one after the other.
#
# Needs the nightly toolchain (cargo-fuzz builds with sanitizers); installs
# cargo-fuzz when missing. The build goes to its own target dir outside the
# clone ($ADUIB_CACHE/fuzz-target). Each target starts from the committed
# corpus in fuzz/corpus/<target>; what it finds goes to a temporary directory,
# so a run does not dirty the clone; set ADUIB_FUZZ_FINDS=DIR to keep them in
# DIR/<target> instead, to fold into the committed corpus (fuzz/README.md). A crash saves its input under
# fuzz/artifacts/<target>/ and makes the script exit 1 after all targets ran.
#
# Prints one line per target: `<target> <seconds> <execs>`, followed by
# `CRASH <artifact>` when the target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export CARGO_TARGET_DIR=${ADUIB_FUZZ_TARGET_DIR:-$ADUIB_CACHE/fuzz-target}

seconds=${1:-30}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: scripts/fuzz.sh [SECONDS [TARGET...]]" >&2
  exit 2
fi
shift $(($# > 0 ? 1 : 0))

scripts/setup-system.sh
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is needed (cargo-fuzz builds with sanitizers);" \
    "install it with: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked >&2
fi

if (($#)); then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "fuzz: building ${targets[*]}" >&2
if ! cargo +nightly metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml \
  >/dev/null 2>&1; then
  echo "fuzz: fuzz/Cargo.lock is out of date with the crates; cargo updates it (commit that)" >&2
fi
# One build, then the binaries run directly: `cargo fuzz run` would rebuild
# before every target, and all targets should test the same code.
cargo +nightly fuzz build >&2
bin_dir=$CARGO_TARGET_DIR/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
head=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- crates 2>/dev/null || head="$head+local-changes"
echo "fuzz: crates at $head" >&2
# As `cargo fuzz run` sets it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

work=$(mktemp -d "${TMPDIR:-/tmp}/aduib-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
finds=${ADUIB_FUZZ_FINDS:-$work/corpus}
failed=0
for target in "${targets[@]}"; do
  mkdir -p "$finds/$target" "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=$work/$target.log
  start=$(date +%s)
  status=0
  # New inputs go to the first corpus directory: the temporary one.
  "$bin_dir/$target" "$finds/$target" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if ((status == 0)); then
    echo "$target $elapsed ${execs:-0}"
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -n 1)
    echo "$target $elapsed ${execs:-0} CRASH ${artifact:-"(no artifact, exit status $status)"}"
    # The cause: the panic or sanitizer report, without the corpus noise.
    grep -E -A 12 "panicked at|==ERROR|ERROR: libFuzzer|deadly signal|ALARM|out-of-memory" \
      "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
  fi
done
exit "$failed"
