#!/usr/bin/env bash
# Rebuilds build/*.json from src/*.sol with the solc version pinned in
# package-lock.json. The outputs are committed; rerun after editing src/.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.js
