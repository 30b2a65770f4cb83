// Regenerates a capture directory from a real Go process, with gomemdoctor's own collector:
//   node --import tsx scripts/capture.ts <scenario> [--control] [--seconds N]
// It starts testprograms/memsick in the scenario (GODEBUG as the scenario needs), samples it by
// PID and URL, and writes testdata/captures/<go>-linux<major.minor>/<scenario>[-control]/.
// Captures are regenerated, never edited by hand.
import { rm } from 'node:fs/promises'
import { release } from 'node:os'
import { parseArgs } from 'node:util'
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
  options: { control: { type: 'boolean' }, seconds: { type: 'string', default: '5' } },
})
const scenario = positionals[0]
if (!scenario) {
  console.error('usage: scripts/capture.ts <scenario> [--control] [--seconds N]')
  process.exit(2)
}
const control = values.control === true
const env = SCENARIO_ENV[scenario]?.[control ? 'control' : 'positive'] ?? {}
const seconds = Number(values.seconds)

const target = await startScenario(scenario, { control, env })
try {
  const collection = await collect({
    pid: target.pid,
    url: target.url,
    durationMs: seconds * 1000,
    intervalMs: 1000,
    smapsMaxRssBytes: 16 * 2 ** 30,
  })
  const goVersion = assemble(collection.captures).target.goVersion ?? 'go-unknown'
  const kernel = /^(\d+\.\d+)/.exec(release())?.[1] ?? 'unknown'
  const dir = new URL(
    `../testdata/captures/${goVersion.replace(/\.\d+$/, '')}-linux${kernel}/${scenario}${control ? '-control' : ''}/`,
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
      kernel: release(),
      command: `scripts/capture.ts ${process.argv.slice(2).join(' ')}`,
    },
  })
  console.log(`wrote ${dir.pathname} (${collection.captures.ticks.length} samples)`)
} finally {
  await target.stop()
}
