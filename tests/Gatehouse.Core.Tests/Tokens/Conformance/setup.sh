#!/usr/bin/env sh
# Installs the conformance tooling (oidc-provider, pinned by package-lock.json) next to this script.
# node_modules stays out of git. The conformance tests run only when it is present (or GATEHOUSE_CONFORMANCE=1).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
