// The single executable's entry point (dist/gomemdoctor, built by scripts/package.ts). Node 20's
// single-executable applications run one CommonJS script, so this is bundled as CommonJS, and
// there is no top-level await: the exit code is set when run() settles.
import { run } from './cli/main.ts'

run(process.argv.slice(2)).then(code => {
  process.exitCode = code
})
