#!/usr/bin/env bash
# Builds the connector's image (`build.sh connector`, what `make image`
# runs) or the Salesforce stand-in's (`build.sh sfstandin`, `make
# image-standin`) from the static binary that `make build` leaves in bin/.
#
# No base image is pulled: the Containerfiles start FROM scratch, and this
# script prepares their context in bin/image/NAME/ — the binary, and for
# the connector Debian's CA bundle and the image's empty folders — then runs
# `podman build` (or `buildah bud`). Where neither is installed, it installs
# podman from Debian's packages (as root).
#
# The Makefile passes VERSION, COMMIT and DATE (the stamps, also the OCI
# labels) and IMAGE (the image's name, localhost/sfconnector by default;
# the stand-in's is IMAGE-sfstandin). The image is tagged VERSION and latest.
set -euo pipefail
cd "$(dirname "$0")/../.."

what=${1:-connector}
case "$what" in
  connector) containerfile=deploy/image/Containerfile; name=${IMAGE:-localhost/sfconnector} ;;
  sfstandin) containerfile=deploy/image/sfstandin.Containerfile; name=${IMAGE:-localhost/sfconnector}-sfstandin ;;
  *) echo "usage: $0 [connector|sfstandin]" >&2; exit 2 ;;
esac
version=${VERSION:?VERSION is not set (run make image)}
commit=${COMMIT:-unknown}
created=${DATE:-unknown}
source=${SOURCE:-https://github.com/chatsync/sfconnector}
# A tag is letters, digits, '_', '.' and '-': a version such as 1.2.0+meta
# is tagged 1.2.0-meta (the label keeps it as it is).
tag=$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.-' '-')

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "image: $* missing; install it (Debian: apt-get install $*)" >&2
    exit 1
  fi
  echo "image: installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

if ! command -v podman >/dev/null 2>&1 && ! command -v buildah >/dev/null 2>&1; then
  apt_install podman
fi
bundle=/etc/ssl/certs/ca-certificates.crt
if [ "$what" = connector ] && [ ! -s "$bundle" ]; then
  apt_install ca-certificates
fi
if [ ! -x "bin/$what" ]; then
  echo "image: bin/$what is missing (make build makes it)" >&2
  exit 1
fi

ctx=bin/image/$what
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/usr/local/bin"
install -m 0755 "bin/$what" "$ctx/rootfs/usr/local/bin/$what"
if [ "$what" = connector ]; then
  # var/lib is made here, so that it belongs to root, not to the data
  # folder's owner.
  mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/etc/connector" "$ctx/rootfs/tmp" "$ctx/rootfs/var/lib" "$ctx/data"
  install -m 0644 "$bundle" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
  chmod 0755 "$ctx/rootfs/etc/connector"
  chmod 1777 "$ctx/rootfs/tmp"
  chmod 0750 "$ctx/data"
fi

# No layer cache: a cached LABEL step can keep an earlier build's version
# (seen with buildah 1.28 when only the build arguments change), and the
# image is two COPYs of files already built.
args=(
  --no-cache --layers=false
  --file "$containerfile"
  --build-arg "VERSION=$version" --build-arg "REVISION=$commit"
  --build-arg "CREATED=$created" --build-arg "SOURCE=$source"
  --tag "$name:$tag" --tag "$name:latest"
  "$ctx"
)
if command -v podman >/dev/null 2>&1; then
  podman build "${args[@]}"
else
  buildah bud "${args[@]}"
fi
echo "image: built $name:$tag"
