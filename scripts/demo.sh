#!/usr/bin/env bash
# `npm run demo`: installs what is missing (npm dependencies, the control plane binaries), builds
# dist/, then runs scripts/demo.ts (the operator end to end on a local control plane, unattended).
# Needs root for the network namespaces the agents run in, and Go for the control plane binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) != 0 ]]; then
  echo "demo: needs root (each node's agent runs in its own network namespace): sudo npm run demo, or sudo bash scripts/demo.sh" >&2
  exit 2
fi
# shellcheck source=scripts/ensure-node.sh
source scripts/ensure-node.sh
[[ -x node_modules/.bin/tsx ]] || npm ci --no-audit --no-fund
bash scripts/k8s-bins.sh >/dev/null || { echo "demo: could not build the control plane binaries (run bash scripts/k8s-bins.sh to see why)" >&2; exit 1; }
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
