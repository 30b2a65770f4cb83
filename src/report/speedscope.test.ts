import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { sampleTypeIndex, sampleTypeTotal } from '../model/heap-profile.ts'
import { heapTop } from '../model/heap-top.ts'
import { parsePprof } from '../sources/formats/pprof.ts'
import { toSpeedscope } from './speedscope.ts'

const path = new URL('../../testdata/formats/pprof/go1.19-heap-t1.pb.gz', import.meta.url)
const profile = parsePprof(readFileSync(path), 'go1.19-heap-t1.pb.gz')

test('exports a real go1.19 heap profile: weights sum to the inuse_space total, stacks root first', () => {
  const typeIndex = sampleTypeIndex(profile, 'inuse_space')
  const file = toSpeedscope(profile, typeIndex, 'gomemdoctor')
  const [sampled] = file.profiles
  assert.ok(sampled)
  assert.equal(sampled.unit, 'bytes')
  assert.equal(sampled.samples.length, sampled.weights.length)
  assert.equal(sampled.endValue, sampleTypeTotal(profile, typeIndex))
  assert.equal(
    sampled.weights.reduce((a, b) => a + b, 0),
    sampled.endValue,
  )
  for (const stack of sampled.samples) {
    for (const frame of stack) assert.ok(frame >= 0 && frame < file.shared.frames.length)
  }
  // Every stack is root first: its last frame is the sample's leaf (first location, innermost line).
  const { samples, locations, functions } = profile
  let checked = 0
  for (let i = 0, s = 0; s < samples.count; s++) {
    if ((samples.values[s * profile.sampleTypes.length + typeIndex] ?? 0) <= 0) continue
    const leafLocation = samples.location[samples.locationStart[s] ?? 0] ?? 0
    const leaf = functions.name[locations.lineFunction[locations.lineStart[leafLocation] ?? 0] ?? 0]
    assert.equal(file.shared.frames[sampled.samples[i]?.at(-1) ?? -1]?.name, leaf)
    i++
    checked++
  }
  assert.equal(checked, sampled.samples.length)
  const topName = heapTop(profile, { sampleType: 'inuse_space', limit: 1 }).rows[0]?.name
  assert.ok(sampled.samples.some(stack => file.shared.frames[stack.at(-1) ?? -1]?.name === topName))
})

test('each function is one frame, with its source file', () => {
  const file = toSpeedscope(profile, sampleTypeIndex(profile, 'inuse_space'), 'gomemdoctor')
  const names = file.shared.frames.map(f => f.name)
  assert.equal(new Set(names).size, names.length)
  assert.ok(file.shared.frames.every(f => f.file === undefined || /\.(go|s)$/.test(f.file)))
  assert.ok(file.shared.frames.some(f => f.file?.endsWith('profilefixture/main.go')))
})

test('profile top --speedscope writes the file beside the table', async () => {
  const { mkdtemp } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { runCli } = await import('../../test/helpers/cli.ts')
  const out = `${await mkdtemp(`${tmpdir()}/gomemdoctor-ss-`)}/heap.speedscope.json`
  const run = await runCli('profile', 'top', path.pathname, '--speedscope', out)
  assert.equal(run.code, 0, run.err)
  assert.match(run.out, /wrote inuse_space to .*heap\.speedscope\.json/)
  const written = JSON.parse(readFileSync(out, 'utf8'))
  assert.equal(written.$schema, 'https://www.speedscope.app/file-format-schema.json')
  assert.equal(
    written.profiles[0].endValue,
    sampleTypeTotal(profile, sampleTypeIndex(profile, 'inuse_space')),
  )
})
