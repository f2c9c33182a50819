#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, only what is missing,
# and checks the Rust toolchain (edition 2024 needs Rust >= 1.90).
set -euo pipefail
packages=(build-essential pkg-config ca-certificates python3 python3-venv python3-pip)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_=""; [[ $(id -u) -eq 0 ]] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v cargo >/dev/null; then
  echo "setup: no Rust toolchain found; install Rust >= 1.90 with rustup (https://rustup.rs)" >&2
  exit 1
fi
minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if ((minor < 90)); then
  echo "setup: $(rustc --version) is too old; Rust >= 1.90 is needed" >&2
  exit 1
fi
for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done
