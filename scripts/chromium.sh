#!/usr/bin/env bash
# Installs Debian's `chromium` when it is not on PATH (the live page's browser test needs it).
# Prints the path of the browser. Needs root (CI runs as root) or an existing chromium.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    command -v chromium
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "chromium is not installed and this is not root: install Debian's chromium package" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends chromium >/dev/null
fi
command -v chromium
