#!/bin/sh
# Checks the npm package as a new project sees it: in an empty temporary
# folder, npm installs the tarball (make pack) with bun-types and typescript
# from the npm registry (needs the network), an app.ts that imports the
# package by name serves one HTTP/3 request to itself, and tsc --noEmit
# passes with a minimal tsconfig. Run from anywhere:
#   tests/pack/run.sh build/zig-h3-bun-0.1.0.tgz      (or: make test-pack)
# BUN names the bun binary (default: the repository's node_modules/.bin/bun).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARBALL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BUN=${BUN:-$ROOT/node_modules/.bin/bun}
NAME=$(tar -xzOf "$TARBALL" package/package.json | sed -n 's/^  "name": "\(.*\)",$/\1/p')
dir=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
cd "$dir"
npm init -y >/dev/null
npm pkg set type=module
npm install --no-audit --no-fund --loglevel=error "$TARBALL" bun-types@1.4.5 typescript@5.9.3
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "types": ["bun-types"], "lib": ["ESNext"], "strict": true, "noEmit": true,
    "target": "ESNext", "module": "ESNext", "moduleResolution": "bundler" } }
JSON
cat > app.ts <<TS
import { createH3Server, type H3Server } from "$NAME";

const server: H3Server = createH3Server({
  hostname: "127.0.0.1",
  port: 0,
  routes: { "/hello/:name": (req) => new Response(\`hello \${req.params.name}\`) },
});
const res = await fetch(\`\${server.url}hello/package\`, { protocol: "http3", tls: { rejectUnauthorized: false } } as RequestInit);
console.log(res.status, await res.text());
await server.stop(true);
TS
echo "tests/pack: $NAME installed in $dir; tsc --noEmit:"
node_modules/.bin/tsc --noEmit -p .
# What bun init writes (noUncheckedIndexedAccess, verbatimModuleSyntax, ...).
cat > tsconfig.bun-init.json <<'JSON'
{ "compilerOptions": { "lib": ["ESNext"], "target": "ESNext", "module": "Preserve", "moduleDetection": "force",
    "jsx": "react-jsx", "allowJs": true, "moduleResolution": "bundler", "allowImportingTsExtensions": true,
    "verbatimModuleSyntax": true, "noEmit": true, "strict": true, "skipLibCheck": true,
    "noFallthroughCasesInSwitch": true, "noUncheckedIndexedAccess": true, "noImplicitOverride": true,
    "types": ["bun-types"] }, "include": ["app.ts"] }
JSON
echo "tests/pack: tsc --noEmit with bun init's tsconfig:"
node_modules/.bin/tsc --noEmit -p tsconfig.bun-init.json
echo "tests/pack: bun app.ts:"
out=$(env -u ZIG_H3_LIB "$BUN" app.ts)
echo "$out"
[ "$out" = "200 hello package" ] || { echo "tests/pack: FAIL: expected '200 hello package'" >&2; exit 1; }
echo "tests/pack: ok"
