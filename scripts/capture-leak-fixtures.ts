// Re-captures the goroutine leak profiles the goroutineleak format is tested on, from memsick's
// goroutine-leak scenario and its control on every Go build that serves the profile, and what the
// endpoint answers on the builds that do not:
//   node --import tsx scripts/capture-leak-fixtures.ts
// writes testdata/formats/pprof-goroutineleak/ (<build>-{leak,control}.pb.gz, ?debug=1 as .txt)
// and its capture.json (when, on what, and the answers of the builds without the profile).
// Each fetch makes the target run a GC cycle with leak detection. Captures are never edited.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { release } from 'node:os'
import { join } from 'node:path'
import { GO_BUILDS, type GoBuildName, goCommand } from '../src/demo/go-toolchains.ts'
import { startScenario } from '../src/demo/memsick.ts'
import { INSTALL_ROOT } from '../src/install-root.ts'

const OUT = join(INSTALL_ROOT, 'testdata', 'formats', 'pprof-goroutineleak')
const SERVING: GoBuildName[] = ['go1.27', 'go1.26-leakprofile']
const NOT_SERVING: GoBuildName[] = ['go1.19', 'go1.26']

async function get(url: string): Promise<{ status: number; body: Buffer; type: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) })
  const body = Buffer.from(await response.arrayBuffer())
  return { status: response.status, body, type: response.headers.get('content-type') ?? '' }
}

await rm(OUT, { recursive: true, force: true })
await mkdir(OUT, { recursive: true })
const info: Record<string, unknown> = {
  date: new Date().toISOString().slice(0, 10),
  kernel: release(),
  scenario: 'memsick goroutine-leak (10k main.leakyWorker + 200/s), control: a pool of 10k',
  builds: {},
  notServing: {},
}
for (const go of SERVING) {
  for (const control of [false, true]) {
    const target = await startScenario('goroutine-leak', { go, control })
    try {
      const name = `${go}-${control ? 'control' : 'leak'}`
      const proto = await get(`${target.url}/debug/pprof/goroutineleak`)
      const text = await get(`${target.url}/debug/pprof/goroutineleak?debug=1`)
      if (proto.status !== 200 || text.status !== 200)
        throw new Error(`${go}: goroutineleak answered ${proto.status}, ${text.status}`)
      await writeFile(join(OUT, `${name}.pb.gz`), proto.body)
      await writeFile(join(OUT, `${name}-debug1.txt`), text.body)
      ;(info.builds as Record<string, unknown>)[name] = {
        goVersion: goCommand(GO_BUILDS[go].release).version,
        goexperiment: 'goexperiment' in GO_BUILDS[go] ? GO_BUILDS[go].goexperiment : '',
        pid: target.pid,
        // The debug=1 fetch ran its own detection cycle after the proto's, so totals may differ.
        debug1Header: text.body.toString('utf8').split('\n', 1)[0],
      }
    } finally {
      await target.stop()
    }
  }
}
for (const go of NOT_SERVING) {
  const target = await startScenario('goroutine-leak', { go })
  try {
    const answer = await get(`${target.url}/debug/pprof/goroutineleak`)
    ;(info.notServing as Record<string, unknown>)[go] = {
      goVersion: goCommand(GO_BUILDS[go].release).version,
      status: answer.status,
      contentType: answer.type,
      body: answer.body.toString('utf8'),
    }
  } finally {
    await target.stop()
  }
}
await writeFile(join(OUT, 'capture.json'), `${JSON.stringify(info, null, 2)}\n`)
console.log(`wrote ${OUT}`)
