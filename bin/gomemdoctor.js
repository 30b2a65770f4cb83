#!/usr/bin/env node
// Node 20 runs no TypeScript: tsx compiles src/ on the fly, so `npm ci` is the whole build.
import { register } from 'tsx/esm/api'

register()
const { run } = await import('../src/cli/main.ts')
process.exitCode = await run(process.argv.slice(2))
