#!/usr/bin/env bash
# Builds the Go tools the metrics test and the benchmarks use, from Go modules (no prebuilt downloads):
#   promtool  github.com/prometheus/prometheus/cmd/promtool  (lints /metrics: `promtool check metrics`)
#   vegeta    github.com/tsenart/vegeta/v12                 (HTTP load at constant rates)
# into ${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}/tools/<tool>-<version>/, skipping those already
# there, and links .bin/<tool> in the repo to them. Versions are pinned in hack/tools/versions.env.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=/dev/null
source "$root/hack/tools/versions.env"
fail() { echo "tools: FAILED: $*" >&2; exit 1; }
say() { echo "tools: $*"; }
command -v go >/dev/null 2>&1 || fail "go is not installed; promtool and vegeta are built from Go modules"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
cache="${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}/tools"
mkdir -p "$root/.bin"

install() { # name module version
  local name="$1" module="$2" version="$3" dir start
  dir="$cache/$name-$version"
  if [[ -x "$dir/$name" ]]; then
    say "$name $version: cached"
  else
    say "installing $module@$version"
    start=$SECONDS
    mkdir -p "$dir"
    GOBIN="$dir" go install -trimpath -ldflags "-s -w" "$module@$version" || fail "could not go install $module@$version"
    say "$name built in $((SECONDS - start)) s"
  fi
  ln -sfn "$dir/$name" "$root/.bin/$name"
}

install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_MODULE_VERSION"
install vegeta github.com/tsenart/vegeta/v12 "$VEGETA_VERSION"
"$root/.bin/promtool" check metrics </dev/null >/dev/null 2>&1 || fail "promtool at $root/.bin/promtool does not run"
"$root/.bin/vegeta" -version >/dev/null 2>&1 || fail "vegeta at $root/.bin/vegeta does not run"
say "ready: promtool (Prometheus module $PROMETHEUS_MODULE_VERSION), vegeta $VEGETA_VERSION in $root/.bin"
