// Bundles src/cli into build/cli.mjs, which bin/gomemdoctor.js runs while it is newer than every
// file under src/: Node then starts without compiling TypeScript (~0.3 s saved on every run).
// Runs as the `prepare` script, so `npm ci` builds it; `npm run build` does it by hand.
// An argument bundles to that file instead (a test's own bundle, beside the real one).
import { relative, resolve } from 'node:path'
import { build } from 'esbuild'
import { INSTALL_ROOT } from '../src/install-root.ts'

// With no argument, also the profile and goroutines commands alone (build/profile-cli.mjs),
// which bin/gomemdoctor.js runs for them: they start without loading the rest of the CLI.
const bundles: [string, string][] = [
  [`${INSTALL_ROOT}/src/cli/main.ts`, resolve(process.argv[2] ?? `${INSTALL_ROOT}/build/cli.mjs`)],
]
if (process.argv[2] === undefined)
  bundles.push([`${INSTALL_ROOT}/src/cli/profile-main.ts`, `${INSTALL_ROOT}/build/profile-cli.mjs`])
const started = Date.now()
for (const [entry, outfile] of bundles)
  await build({
    entryPoints: [entry],
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
console.log(
  `built ${bundles.map(([, out]) => relative(INSTALL_ROOT, out)).join(' and ')} in ${Date.now() - started} ms`,
)
