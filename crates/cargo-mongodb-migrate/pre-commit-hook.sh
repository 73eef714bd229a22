#!/usr/bin/env bash
# The `mongodb-migrate-lint` hook of .pre-commit-hooks.yaml (the pre-commit framework,
# `language: script`): it runs in the adopting repository, from the framework's clone of this
# one. On first use it builds cargo-mongodb-migrate from that clone (`cargo install`, release,
# the clone's Cargo.lock) into the clone itself, which the framework keeps per revision; later
# runs reuse it. Arguments go to `cargo mongodb-migrate lint` (`-d db/migrations`, …).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.pre-commit-tool"
tool="$root/bin/cargo-mongodb-migrate"
if [[ ! -x "$tool" ]]; then
  echo "mongodb-migrate-lint: building cargo-mongodb-migrate once (cargo install --path $here)" >&2
  # Into a fresh directory, then renamed: a run interrupted mid-build leaves no half tool.
  staging="$(mktemp -d "$here/.pre-commit-tool.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  CARGO_TARGET_DIR="$staging/build" cargo install --quiet --locked --path "$here" --root "$staging" >&2
  rm -rf "$staging/build" "$root"
  mv "$staging" "$root"
  trap - EXIT
fi
exec "$tool" mongodb-migrate lint "$@"
