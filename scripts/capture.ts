// Regenerates a capture directory from a real Go process, with gomemdoctor's own collector:
//   node --import tsx scripts/capture.ts <scenario> --go <build> [--control] [--seconds N]
// It builds testprograms/memsick with the named Go build (go1.19, go1.26, go1.26-line1.24,
// go1.27: src/demo/go-toolchains.ts), starts it in the scenario (GODEBUG as the scenario needs),
// samples it by PID and URL, and writes
// testdata/captures/<build>-linux<major.minor>/<scenario>[-control]/.
// Captures are regenerated, never edited by hand.
import { rm } from 'node:fs/promises'
import { release } from 'node:os'
import { parseArgs } from 'node:util'
import { GO_BUILDS, type GoBuildName } from '../src/demo/go-toolchains.ts'
import { startScenario } from '../src/demo/memsick.ts'
import { assemble } from '../src/sources/assemble.ts'
import { collect } from '../src/sources/collect.ts'
import { writeCaptureDir } from '../src/sources/transports/capture-dir.ts'

/** The environment each scenario runs under, positive and control. */
const SCENARIO_ENV: Record<
  string,
  { positive: Record<string, string>; control: Record<string, string> }
> = {
  'madv-free-retention': {
    positive: { GODEBUG: 'madvdontneed=0' },
    control: { GODEBUG: 'madvdontneed=1' },
  },
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    control: { type: 'boolean' },
    go: { type: 'string' },
    seconds: { type: 'string', default: '5' },
  },
})
const scenario = positionals[0]
const go = values.go as GoBuildName | undefined
if (!scenario || !go || !(go in GO_BUILDS)) {
  console.error(
    `usage: scripts/capture.ts <scenario> --go ${Object.keys(GO_BUILDS).join('|')} [--control] [--seconds N]`,
  )
  process.exit(2)
}
/**
 * Reads that cost the target something, asked for where a scenario's finding uses them: the
 * goroutine leak profile (a GC cycle per fetch; a 404 gap on a Go that does not serve it).
 */
const SCENARIO_READS: Record<string, { leakProfile?: boolean }> = {
  'goroutine-leak': { leakProfile: true },
}
const control = values.control === true
const env = SCENARIO_ENV[scenario]?.[control ? 'control' : 'positive'] ?? {}
const seconds = Number(values.seconds)

const target = await startScenario(scenario, { go, control, env })
try {
  const collection = await collect({
    pid: target.pid,
    url: target.url,
    durationMs: seconds * 1000,
    intervalMs: 1000,
    smapsMaxRssBytes: 16 * 2 ** 30,
    ...SCENARIO_READS[scenario],
  })
  const goVersion = assemble(collection.captures).target.goVersion ?? 'go-unknown'
  const kernel = /^(\d+\.\d+)/.exec(release())?.[1] ?? 'unknown'
  const dir = new URL(
    `../testdata/captures/${go}-linux${kernel}/${scenario}${control ? '-control' : ''}/`,
    import.meta.url,
  )
  await rm(dir, { recursive: true, force: true })
  await writeCaptureDir(dir.pathname, {
    ...collection,
    about: {
      scenario,
      control: String(control),
      godebug: Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      goVersion,
      goBuild: go,
      kernel: release(),
      command: `scripts/capture.ts ${process.argv.slice(2).join(' ')}`,
    },
  })
  console.log(`wrote ${dir.pathname} (${collection.captures.ticks.length} samples)`)
} finally {
  await target.stop()
}
