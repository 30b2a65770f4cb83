/**
 * How well diagnose measures a GOGC set in code (debug.SetGCPercent, which /proc/PID/environ does
 * not show): memsick's gc-heap-goal on each Go build, `diagnose PID --duration 4s` N times, the
 * measured NextGC ÷ heap after GC and whether it was an estimate or only a lower bound ("at
 * least"). Two workloads: GOGC 1000 with 256 MiB/s of garbage (a ~2.6 s cycle, sampled twice:
 * extrapolated), and GOGC 400 with 1 GiB/s (a ~0.25 s cycle, never sampled twice: from TotalAlloc
 * and NumGC). `--busy N` runs N busy loops beside it, for the same under load; `--interval 2s`
 * samples less often, so that a sample often falls just after a collection, while sweeping still
 * frees; `--save DIR` keeps every run's captures (DIR/go1.19-gogc400-0, …) to look into one that
 * misread. Not part of the test suite (accuracy, not pass/fail; the e2e tests hold the bounds):
 *   node --import tsx bench/gc-multiple.bench.ts [--runs 4] [--busy 0] [--interval 1s] [--go go1.19,go1.26,go1.27] [--save DIR]
 */
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { e2eGoBuilds, GO_BUILDS, type GoBuildName } from '../src/demo/go-toolchains.ts'
import { startScenario } from '../src/demo/memsick.ts'
import type { JsonReport } from '../src/report/json.ts'
import { machine } from './measure.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '4' },
    busy: { type: 'string', default: '0' },
    interval: { type: 'string', default: '1s' },
    go: { type: 'string' },
    save: { type: 'string' },
  },
})
const runs = Number(values.runs)
const gos = (values.go?.split(',') ?? e2eGoBuilds()) as GoBuildName[]
for (const go of gos) if (!(go in GO_BUILDS)) throw new Error(`--go: unknown Go build ${go}`)
const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))

const workloads = [
  { key: 'gogc1000', name: 'GOGC 1000, 256 MiB/s (true 1 + GOGC/100: 11)', args: [] },
  {
    key: 'gogc400',
    name: 'GOGC 400, 1 GiB/s (true 5)',
    args: ['--gogc', '400', '--churn-mib-per-sec', '1024'],
  },
]

const busy = Array.from({ length: Number(values.busy) }, () =>
  spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }),
)
try {
  console.log(`${machine()} · ${busy.length} busy loops beside · samples every ${values.interval}`)
  for (const go of gos)
    for (const workload of workloads) {
      const target = await startScenario('gc-heap-goal', { go, args: workload.args })
      try {
        const seen: string[] = []
        for (let run = 0; run < runs; run++) {
          const out = execFileSync(
            process.execPath,
            [
              bin,
              'diagnose',
              String(target.pid),
              '--duration',
              '4s',
              '--interval',
              values.interval,
              '--json',
              ...(values.save ? ['--save', join(values.save, `${go}-${workload.key}-${run}`)] : []),
            ],
            { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
          )
          const report = JSON.parse(out) as JsonReport
          const finding = report.findings.find(f => f.id === 'gc-heap-goal')
          const ratio = finding?.evidence.find(e => e.label === 'NextGC ÷ heap after GC')?.value
          const bound = /at least/.test(finding?.summary ?? '') ? ' (at least)' : ''
          seen.push(finding ? `${ratio}${bound}` : report.verdict)
        }
        console.log(`${go} · ${workload.name}: ${seen.join(', ')}`)
      } finally {
        await target.stop()
      }
    }
} finally {
  for (const child of busy) child.kill()
}
