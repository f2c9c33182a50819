# Sourced by the other scripts: where caches live. The cargo target dir sits
# outside the clone so a fresh clone on the same machine builds incrementally.
export ADUIB_CACHE=${ADUIB_CACHE:-$HOME/.cache/aduib-workbench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ADUIB_CACHE/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Tools the scripts install (tauri-driver) live here, outside the clone.
export ADUIB_TOOLS=${ADUIB_TOOLS:-$ADUIB_CACHE/tools}
export PATH=$ADUIB_TOOLS/bin:$PATH
# CI builds a fresh clone in a new folder each time: incremental state for a
# path that never comes back only fills the disk (it reached 23 GB here).
if [[ -n ${CI:-} ]]; then
  export CARGO_INCREMENTAL=0
fi
