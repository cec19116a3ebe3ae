#!/usr/bin/env bash
# Fetches the pinned swagger-ui-dist from the npm registry and copies the files
# the API docs page needs into httpapi/docs/swagger-ui-<version>/, then points
# httpapi/docs/index.html at that folder. To update: change the version below,
# run this script, and check /api/docs/ in a browser.
set -euo pipefail

SWAGGER_UI_VERSION=5.35.0

# Only what the page loads, plus the package's licence files (Apache-2.0 asks
# that LICENSE and NOTICE travel with the code; the bundle points at its
# .LICENSE.txt for the libraries it contains).
files=(swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
docs=$root/httpapi/docs
command -v npm >/dev/null || { echo "update-docs-assets: npm is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# npm pack checks the tarball against the registry's integrity hash.
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null)
tar -xzf "$tmp/swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C "$tmp"

dest=$docs/swagger-ui-$SWAGGER_UI_VERSION
rm -rf "$docs"/swagger-ui-*/
mkdir -p "$dest"
for f in "${files[@]}"; do
  cp "$tmp/package/$f" "$dest/$f"
done

# The folder name carries the version, so the server may cache its files for
# good; the page must name the new folder.
sed -e "s#/api/docs/swagger-ui-[^/\"]*/#/api/docs/swagger-ui-$SWAGGER_UI_VERSION/#g" \
  "$docs/index.html" >"$tmp/index.html"
cp "$tmp/index.html" "$docs/index.html"

echo "swagger-ui-dist $SWAGGER_UI_VERSION copied to ${dest#"$root"/}"
