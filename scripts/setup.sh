#!/usr/bin/env bash
# Installs everything frameflow needs on a fresh Debian 12 machine, idempotently:
# the FFmpeg/OpenCV development packages, the ffmpeg CLI used for reference frames,
# clang for bindgen, the wasm32-wasip2 Rust target, the S3-compatible server the tests
# start on loopback (moto[server] from PyPI, in a venv under ~/.cache/frameflow-tools), and
# for the browser tests headless Chromium (Debian's), Playwright's Python package to drive
# it, hls.js (a pinned npm tarball, checked by its SHA-256), and schemathesis for the
# OpenAPI contract test; for the analysis tasks, Debian's opencv-data (the Haar face
# cascade) and GStreamer's RTSP server with python3-gi (the RTSP tests' live source).
set -euo pipefail

APT_PACKAGES=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev
  libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev ffmpeg
  libopencv-dev libopencv-contrib-dev opencv-data curl python3 python3-venv chromium
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if command -v rustup >/dev/null; then
  rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
fi

# Python tools the tests run, in one venv: the S3 server (moto honours conditional writes,
# If-None-Match: * and If-Match, which job leases depend on: host/store/tests/s3.rs) and
# the Kubernetes schema validator for infra/k8s (tests/e2e/infra.rs).
TOOLS="${FRAMEFLOW_TOOLS:-$HOME/.cache/frameflow-tools}"
if [ ! -x "$TOOLS/venv/bin/moto_server" ] || [ ! -x "$TOOLS/venv/bin/kubernetes-validate" ]; then
  echo "setup: installing moto[server] and kubernetes-validate into $TOOLS/venv" >&2
  mkdir -p "$TOOLS"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q 'moto[server]==5.2.5' 'kubernetes-validate==1.31.0'
fi

# The browser test (tests/e2e/browser.rs) drives Debian's Chromium with Playwright (no
# browser download: it is pointed at /usr/bin/chromium) and plays HLS with hls.js.
if [ ! -x "$TOOLS/venv/bin/playwright" ]; then
  echo "setup: installing playwright into $TOOLS/venv" >&2
  "$TOOLS/venv/bin/pip" install -q 'playwright==1.49.1'
fi
# The contract test (tests/e2e/openapi.rs): schemathesis drives the server from its OpenAPI
# document; openapi-spec-validator (one of its dependencies) validates the document.
if [ ! -x "$TOOLS/venv/bin/schemathesis" ]; then
  echo "setup: installing schemathesis into $TOOLS/venv" >&2
  # hypothesis pinned: newer ones changed an internal API schemathesis 3.39 uses.
  "$TOOLS/venv/bin/pip" install -q 'schemathesis==3.39.16' 'hypothesis==6.122.0'
fi
# cargo-lambda (its PyPI wheel): the Lambda Runtime API emulator frameflow-lambda is tested
# under (tests/e2e/lambda.rs, `cargo lambda watch --only-lambda-apis`, `cargo lambda invoke`).
if [ ! -x "$TOOLS/venv/bin/cargo-lambda" ]; then
  echo "setup: installing cargo-lambda into $TOOLS/venv" >&2
  "$TOOLS/venv/bin/pip" install -q 'cargo-lambda==1.9.0'
fi
# The AWS wiring (infra/aws/events.yaml) is checked with cfn-lint (tests/e2e/infra.rs).
if [ ! -x "$TOOLS/venv/bin/cfn-lint" ]; then
  echo "setup: installing cfn-lint into $TOOLS/venv" >&2
  "$TOOLS/venv/bin/pip" install -q 'cfn-lint==1.32.0'
fi
HLS_VERSION=1.5.20
HLS_SHA256=3791f532701590ec10ecb4a2abf6ea63c65ae9ce91de4cc6f6553ba4629605ce
if [ ! -f "$TOOLS/hls.js-$HLS_VERSION/hls.min.js" ]; then
  echo "setup: fetching hls.js $HLS_VERSION" >&2
  tmp=$(mktemp)
  curl -sSfL -o "$tmp" "https://registry.npmjs.org/hls.js/-/hls.js-$HLS_VERSION.tgz"
  echo "$HLS_SHA256  $tmp" | sha256sum -c --quiet
  mkdir -p "$TOOLS/hls.js-$HLS_VERSION"
  tar -xzf "$tmp" -C "$TOOLS/hls.js-$HLS_VERSION" --strip-components=2 package/dist/hls.min.js
  rm -f "$tmp"
fi
