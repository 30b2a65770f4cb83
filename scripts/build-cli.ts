// Bundles src/cli into build/cli.mjs, which bin/gomemdoctor.js runs while it is newer than every
// file under src/: Node then starts without compiling TypeScript (~0.3 s saved on every run).
// Runs as the `prepare` script, so `npm ci` builds it; `npm run build` does it by hand.
// An argument bundles to that file instead (a test's own bundle, beside the real one).
import { relative, resolve } from 'node:path'
import { build } from 'esbuild'
import { INSTALL_ROOT } from '../src/install-root.ts'

const outfile = resolve(process.argv[2] ?? `${INSTALL_ROOT}/build/cli.mjs`)
const started = Date.now()
await build({
  entryPoints: [`${INSTALL_ROOT}/src/cli/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native addons and the bundler itself stay in node_modules.
  external: ['better-sqlite3', 'esbuild'],
  // The CommonJS dependencies (commander) call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
console.log(`built ${relative(INSTALL_ROOT, outfile)} in ${Date.now() - started} ms`)
