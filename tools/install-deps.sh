#!/usr/bin/env bash
# Installs what vnetsim needs on a fresh Debian 12 machine (run as root, or with sudo).
# Idempotent: packages already present are skipped by apt. ns-3 (libns3-dev) is only for
# the comparison benchmark and is installed when VNETSIM_WITH_NS3=1.
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang-format
  libglib2.0-dev libpcap-dev libyaml-dev libjson-glib-dev   # build
  libcmocka-dev tshark                                      # tests
  graphviz libgraphviz-dev fonts-dejavu-core                # the report's topology (libgvc)
  chromium                                                  # the report's browser test
)
if [ "${VNETSIM_WITH_NS3:-0}" = 1 ]; then packages+=(libns3-dev g++); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all packages present"; exit 0; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
