# Sourced by the other scripts: where caches live. The cargo target dir sits
# outside the clone so a fresh clone on the same machine builds incrementally.
export ADUIB_CACHE=${ADUIB_CACHE:-$HOME/.cache/aduib-workbench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ADUIB_CACHE/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Tools the scripts install (tauri-driver) live here, outside the clone.
export ADUIB_TOOLS=${ADUIB_TOOLS:-$ADUIB_CACHE/tools}
export PATH=$ADUIB_TOOLS/bin:$PATH
