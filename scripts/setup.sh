#!/usr/bin/env bash
# Installs everything wasm-rtsp needs on a fresh Debian 12 machine with Node 20, then builds it:
# the GStreamer packages (runtime, dev headers for the Node addon, plugins, the RTSP server for tests and the demo),
# the npm dependencies from package-lock.json, the wasm core and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base-apps
  chromium
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node -e 'const [maj] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`setup: Node >= 20 needed, found ${process.version}`); process.exit(1); }'

npm ci --no-audit --no-fund
# gstreamer-superficial 1.7.4 leaks the GValue of every property read (GstSink reads appsrc's queue level every few
# pushes): mend it and rebuild the addon (scripts/patch-gst-binding.mjs says how).
node scripts/patch-gst-binding.mjs
npm run build
echo "setup: done"
