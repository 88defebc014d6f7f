#!/usr/bin/env bash
# Runs this package's tests (built dist/ included) against another Kysely release, installed into a
# temporary directory; the workspace keeps its own devDependency.
#
#   compat/kysely-compat.sh 0.29.9 [path/to/node] [vitest args…]   # 0.29 wants Node 22+: pass a Node 22/24 binary
#
# better-sqlite3 is built for the workspace's Node; on another Node only the node:sqlite driver runs.
set -euo pipefail
version=${1:?usage: kysely-compat.sh <kysely version> [node binary]}
node=${2:-node}
here=$(cd "$(dirname "$0")" && pwd)
package=$(cd "$here/.." && pwd)
repo=$(cd "$package/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm install --prefix "$tmp" --no-save --no-audit --no-fund --ignore-scripts "kysely@$version" >/dev/null
installed=$("$node" -p "require('$tmp/node_modules/kysely/package.json').version")
if (cd "$package" && "$node" -e "new (require('better-sqlite3'))(':memory:').close()") 2>/dev/null; then
  drivers=better-sqlite3,node-sqlite
else
  drivers=node-sqlite
fi
echo "kysely $installed on Node $("$node" -v), drivers: $drivers"
cd "$repo"
KYSELY_DIR="$tmp/node_modules/kysely" LITEPOOL_KYSELY_DRIVERS="$drivers" \
  "$node" node_modules/vitest/vitest.mjs run --config "$here/vitest.config.ts" "${@:3}"
