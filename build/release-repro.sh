#!/usr/bin/env bash
# make release-repro: builds the release of HEAD in two fresh clones at
# different paths and checks that their SHA256SUMS are the same. With
# SNAPSHOT=1 an untagged HEAD is built too (uncommitted changes are not
# in the clones).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for d in a "b/deeper path"; do
  git clone -q --no-local . "$work/$d"
  (cd "$work/$d" && GO=${GO:-go} build/release.sh >/dev/null)
done
if cmp -s "$work/a/dist/SHA256SUMS" "$work/b/deeper path/dist/SHA256SUMS"; then
  echo "release-repro: the two clones built the same binaries ($(wc -l <"$work/a/dist/SHA256SUMS") files)"
else
  diff "$work/a/dist/SHA256SUMS" "$work/b/deeper path/dist/SHA256SUMS" >&2
  echo "release-repro: the two clones differ" >&2
  exit 1
fi
