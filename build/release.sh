#!/usr/bin/env bash
# make release: the binaries of a release in dist/, named cinit-OS-ARCH
# (armv7 for linux/arm with GOARM=7), with SHA256SUMS ("hash  name",
# sha256sum -c checks it). Raw binaries, as inits publish them, so that a
# Dockerfile can fetch one by URL with ${TARGETARCH}${TARGETVARIANT}.
#
# The tree must be clean and its commit tagged: the tag is the version.
# SNAPSHOT=1 builds anyway, versioned by git describe --dirty.
#
# The builds are reproducible: CGO_ENABLED=0, -trimpath, and nothing of
# the machine, the directory or the time goes in (Go writes no
# timestamps), so two clones of one commit at different paths give the
# same SHA256SUMS (build/release-repro.sh checks that).
#
# Then it checks its own output: every Linux binary statically linked,
# every darwin one Mach-O, each stamped (go version -m: CGO_ENABLED=0,
# -trimpath=true; the version string inside), the native one printing its version and
# OS/ARCH, and the checksums verifying.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TARGETS=${RELEASE_TARGETS:-linux/amd64 linux/arm64 linux/arm linux/386 linux/ppc64le linux/s390x linux/riscv64 darwin/amd64 darwin/arm64}
fail() { echo "release: $*" >&2; exit 1; }

if [ "${SNAPSHOT:-}" = 1 ]; then
  VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo snapshot)
else
  [ -z "$(git status --porcelain)" ] || fail "the tree has uncommitted changes (SNAPSHOT=1 builds anyway)"
  VERSION=$(git describe --tags --exact-match 2>/dev/null) || fail "HEAD has no tag (tag it vX.Y.Z, or SNAPSHOT=1)"
fi

rm -rf dist && mkdir dist
names=()
for target in $TARGETS; do
  os=${target%/*} arch=${target#*/}
  name=cinit-$os-$arch
  [ "$arch" = arm ] && name=cinit-$os-armv7
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=7 "$GO" build -trimpath -buildvcs=auto \
    -ldflags "-s -w -X main.version=$VERSION" -o "dist/$name" . || fail "$target does not build"
  names+=("$name")
done
(cd dist && sha256sum "${names[@]}" >SHA256SUMS)

# Self-checks.
have_file=1
if ! command -v file >/dev/null; then
  [ "${CINIT_REQUIRE_TOOLS:-}" != 1 ] || fail "file(1) not found (apt-get install file)"
  echo "release: file(1) not found: linking not checked" >&2
  have_file=0
fi
for name in "${names[@]}"; do
  info=$("$GO" version -m "dist/$name")
  for want in "CGO_ENABLED=0" "-trimpath=true"; do
    grep -qF -- "$want" <<<"$info" || fail "$name: go version -m does not show $want"
  done
  # -trimpath keeps -ldflags out of the build info: look for the string.
  grep -qaF -- "$VERSION" "dist/$name" || fail "$name does not contain its version $VERSION"
  [ "$have_file" = 1 ] || continue
  kind=$(file -b "dist/$name")
  case $name in
    cinit-linux-*) grep -q "statically linked" <<<"$kind" || fail "$name is not statically linked: $kind" ;;
    cinit-darwin-*) grep -q "^Mach-O" <<<"$kind" || fail "$name is not a Mach-O binary: $kind" ;;
  esac
done
native=dist/cinit-$("$GO" env GOOS)-$("$GO" env GOARCH)
if [ -x "$native" ]; then
  got=$("$native" version)
  [ "$got" = "cinit $VERSION $("$GO" env GOOS)/$("$GO" env GOARCH)" ] || fail "$native version prints \"$got\""
fi
[ "$(wc -l <dist/SHA256SUMS)" = "${#names[@]}" ] || fail "SHA256SUMS does not list every binary"
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
echo "release $VERSION: ${#names[@]} binaries in dist/, checked"
