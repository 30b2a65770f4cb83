/**
 * `gomemdoctor fleet` against a real Prometheus holding 1,000 Go instances × 6 h at 30 s steps
 * (test/helpers/synthetic-fleet.ts, backfilled with promtool; the blocks are cached in
 * build/synthetic-fleet/, the first run takes a couple of minutes to make them): wall time, range
 * queries and peak RSS of the CLI. Not part of the test suite:
 * `node --import tsx bench/fleet.bench.ts`.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FleetJson } from '../src/report/fleet.ts'
import { startPrometheus } from '../test/helpers/prometheus.ts'
import { SYNTHETIC_END_S, syntheticFleetBlocks } from '../test/helpers/synthetic-fleet.ts'
import { measure } from './measure.ts'

const INSTANCES = 1000
const POINTS = 721
const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))

const made = Date.now()
const blocks = await syntheticFleetBlocks({ instances: INSTANCES, points: POINTS, stepS: 30 })
console.log(`blocks: ${blocks} (ready in ${((Date.now() - made) / 1000).toFixed(1)} s)`)
const prometheus = await startPrometheus({ blocksFrom: blocks })
try {
  const args = [bin, 'fleet', '--prometheus', prometheus.url, '--range', '6h', '--step', '30s']
  const json = [...args, '--end', String(SYNTHETIC_END_S), '--json']
  const once = spawnSync(process.execPath, json, { encoding: 'utf8', maxBuffer: 1 << 30 })
  if (once.status !== 0) throw new Error(`fleet exited ${once.status}: ${once.stderr}`)
  const report = JSON.parse(once.stdout) as FleetJson
  const ranked = report.instances.slice(0, 3).map(i => `${i.instance} ${i.verdict}`)
  const m = measure(`gomemdoctor fleet, ${INSTANCES} instances × 6 h`, process.execPath, json, 3)
  console.log(
    [
      `instances ${report.instances.length}, points per series ${POINTS}, range queries ${report.source.queries}`,
      `worst: ${ranked.join('; ')}`,
      `${m.label}: ${m.seconds.toFixed(2)} s wall, ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB peak RSS`,
    ].join('\n'),
  )
} finally {
  await prometheus.stop()
}
