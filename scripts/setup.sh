#!/usr/bin/env bash
# Sets up covseg on a fresh Debian/Ubuntu machine, then builds it.
#
#   bash scripts/setup.sh            everything: system packages (libtorch for training,
#                                    chromium for browser tests; Orthanc with its DICOMweb plugin,
#                                    redis-server and dicom3tools for the PACS, queue and DICOM
#                                    validation tests), npm packages, TypeScript
#                                    build, native training addon
#   bash scripts/setup.sh --runtime  only what inference needs (npm packages + build):
#                                    `covseg segment` runs without libtorch
#
# System packages are installed with apt-get when running as root (as CI does) or with
# sudo; otherwise the missing ones are listed and the rest of the setup goes on.
# Set LIBTORCH_DIR to build the addon against another libtorch (e.g. a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_only=0
[[ "${1:-}" == "--runtime" ]] && runtime_only=1

need_apt=()
# Node.js itself (normally present; Debian's nodejs package is the fallback).
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if (( ! runtime_only )); then
  for pkg in libtorch-dev chromium fonts-dejavu-core orthanc orthanc-dicomweb redis-server dicom3tools; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
  done
  # node-gyp needs a C++ compiler and make.
  command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
  command -v make >/dev/null 2>&1 || need_apt+=(make)
fi

if (( ${#need_apt[@]} )); then
  echo "setup: installing system packages: ${need_apt[*]}"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else SUDO=(none); fi
  if [[ "${SUDO[0]:-}" == none ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: cannot install ${need_apt[*]} (need root and apt-get); training and browser tests will be unavailable" >&2
  else
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building TypeScript"
npm run --silent build

if (( ! runtime_only )) && [[ -f native/binding.gyp ]]; then
  echo "setup: building the libtorch training addon"
  npm run --silent build:native
fi
echo "setup: done"
