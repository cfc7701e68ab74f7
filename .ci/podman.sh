#!/usr/bin/env bash
# Makes sure podman can build and run the images: installs it from Debian's
# packages where missing, with runc (crun, podman's default runtime, cannot
# start containers under a hybrid cgroup v1/v2 hierarchy, as some CI
# sandboxes have) and the CA certificates the image copies. Idempotent.
set -euo pipefail

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
  echo "podman: installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "podman: $(podman --version)"
