// The captures of scripts/capture-named-mappings.sh, read back through the real parsers: one Go
// 1.26 process in a VM whose kernel keeps anonymous mapping names, with and without the names.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { MappingsSnapshot } from '../../src/model/mappings.ts'
import type { MemorySnapshot } from '../../src/model/snapshot.ts'
import type { TargetFacts } from '../../src/model/target.ts'
import { parseExpvar } from '../../src/sources/formats/expvar.ts'
import { parseRollup, parseStatus } from '../../src/sources/formats/index.ts'
import { parseSmaps } from '../../src/sources/formats/smaps.ts'
import { fixture } from './format-fixtures.ts'

/** The runs the script makes, by their files' name: Go version, then how it ran. */
export type NamedMappingsRun =
  | 'go1.26.8-vm-named'
  | 'go1.26.8-vm-named-madvdontneed0'
  | 'go1.26.8-vm-decoratemappings0'
  | 'go1.25.1-vm-named'

export interface NamedMappingsCapture {
  snapshot: MemorySnapshot
  mappings: MappingsSnapshot
  /** What the program read about itself, as gomemdoctor would from /proc/PID/exe and environ. */
  target: TargetFacts
}

interface RunInfo {
  GODEBUG: string
  goVersion: string
  kernel: string
}

const INFO = fileURLToPath(
  new URL('../../testdata/formats/capture-named-mappings.json', import.meta.url),
)

export function namedMappingsCapture(run: NamedMappingsRun): NamedMappingsCapture {
  const info = (JSON.parse(readFileSync(INFO, 'utf8')) as { runs: Record<string, RunInfo> }).runs[
    run
  ]
  assert.ok(info, `no ${run} run in capture-named-mappings.json`)
  const name = run
  const memstats = parseExpvar(fixture('expvar', `${name}.json`)).memstats
  assert.ok(memstats, `${name}.json has memstats`)
  const snapshot: MemorySnapshot = {
    atMs: 0,
    status: parseStatus(fixture('proc-status', `${name}.txt`)),
    rollup: parseRollup(fixture('smaps-rollup', `${name}.txt`)),
    runtime: memstats,
  }
  const target: TargetFacts = {
    pid: 1,
    goVersion: info.goVersion,
    kernel: info.kernel,
    sources: [],
    ...(info.GODEBUG ? { godebug: info.GODEBUG } : {}),
  }
  return { snapshot, mappings: parseSmaps(fixture('proc-smaps', `${name}.txt`)), target }
}
