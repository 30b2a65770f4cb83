/**
 * Each step of `profile top` timed in its own fresh process (cold, as the CLI runs it), against
 * the floor's steps: inflating alone, decoding alone (the inflated bytes pushed in 1 MiB chunks),
 * both as the CLI overlaps them, resolving ids, and top. Best of N per step. Not part of the test
 * suite: `node --import tsx bench/profile-steps.ts [--runs 3]` (after profile-top.bench.ts has
 * generated the inputs).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, child: { type: 'string' } },
})

if (values.child) {
  // One cold run: the steps in milliseconds, as JSON on stdout.
  const file = values.child
  const { parsePprofAsync } = await import('../src/sources/formats/pprof.ts')
  const { ProfileDecoder } = await import('../src/sources/formats/pprof-decoder.ts')
  const { heapTop } = await import('../src/model/heap-top.ts')
  const step = process.env.STEP
  const at = performance.now()
  const gz = readFileSync(file)
  const read = performance.now() - at
  const steps: Record<string, number> = { read }
  if (step === 'inflate') {
    const t = performance.now()
    gunzipSync(gz)
    steps.inflate = performance.now() - t
  } else if (step === 'decode') {
    const raw = gunzipSync(gz)
    const t = performance.now()
    const decoder = new ProfileDecoder(file, raw.length, { labels: false })
    for (let i = 0; i < raw.length; i += 1 << 20) decoder.push(raw.subarray(i, i + (1 << 20)))
    const pushed = performance.now()
    decoder.finish()
    steps.decode = pushed - t
    steps.resolve = performance.now() - pushed
  } else {
    const t = performance.now()
    const profile = await parsePprofAsync(gz, file, undefined, { labels: false })
    const parsed = performance.now()
    heapTop(profile, { sampleType: 'inuse_space', limit: 20 })
    steps['inflate + decode + resolve, overlapped'] = parsed - t
    steps.top = performance.now() - parsed
  }
  console.log(JSON.stringify(steps))
  process.exit(0)
}

const self = fileURLToPath(import.meta.url)
const dir = join(tmpdir(), 'gomemdoctor-bench')
for (const name of ['heap-1M-samples-v2.pb.gz', 'heap-deep.pb.gz']) {
  const file = join(dir, name)
  const best: Record<string, number> = {}
  for (let run = 0; run < Number(values.runs); run++)
    for (const step of ['inflate', 'decode', 'cli']) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', file], {
        encoding: 'utf8',
        env: { ...process.env, STEP: step },
      })
      const steps = JSON.parse(child.stdout) as Record<string, number>
      for (const [k, v] of Object.entries(steps)) best[k] = Math.min(best[k] ?? Infinity, v)
    }
  console.log(
    `${name}: ${Object.entries(best)
      .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
      .join(', ')}`,
  )
}
