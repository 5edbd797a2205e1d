#!/usr/bin/env bash
# Regenerate the security-data vectors of this folder (the work is in make.py; see its header).
set -euo pipefail
cd "$(dirname "$0")"
exec python3 make.py "$@"
