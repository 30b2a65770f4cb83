// Rules the layout depends on (STYLE.md §3, §6.5, §8). Each test asserts; none only prints.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { GO_BUILDS } from '../src/demo/go-toolchains.ts'
import { DETECTORS } from '../src/detectors/index.ts'
import { FINDING_IDS } from '../src/model/finding.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return tsFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  return [...text.matchAll(/^(?:import|export)\s[^'"]*from\s+'([^']+)'/gm)].map(m => m[1] ?? '')
}

/** Interfaces, registries and wiring carry no logic of their own to test. */
const NO_SIBLING_TEST = new Set([
  'src/detectors/detector.ts',
  'src/detectors/index.ts',
  'src/sources/formats/format.ts',
  'src/sources/formats/index.ts',
  'src/sources/formats/sniff.ts',
  // The encoder is tested by round trips in pprof.test.ts: decode(encode(real profile)) = model.
  'src/sources/formats/pprof-encode.ts',
])

test('every module under src/detectors and src/sources/formats has a sibling test', () => {
  const missing = [...tsFiles('src/detectors'), ...tsFiles('src/sources/formats')]
    .filter(file => !NO_SIBLING_TEST.has(file))
    .filter(file => !existsSync(join(ROOT, file.replace(/\.ts$/, '.test.ts'))))
  assert.deepEqual(missing, [])
})

test('model/ imports nothing outside model/; detectors/ and report/ import no sources', () => {
  const offenders: string[] = []
  for (const file of tsFiles('src/model')) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.') && !spec.startsWith('./')) offenders.push(`${file} -> ${spec}`)
    }
  }
  for (const file of [...tsFiles('src/detectors'), ...tsFiles('src/report')]) {
    for (const spec of importsOf(file)) {
      if (/\/sources\/|\/cli\/|\/store\//.test(spec) || spec.startsWith('node:fs'))
        offenders.push(`${file} -> ${spec}`)
    }
  }
  assert.deepEqual(offenders, [])
})

test('every finding id has a detector, a doc page, a memsick scenario, a capture with its control and an e2e test', () => {
  const scenarios = readFileSync(join(ROOT, 'testprograms/memsick/scenarios.go'), 'utf8')
  const captures = readdirSync(join(ROOT, 'testdata/captures'))
  const missing: string[] = []
  for (const id of FINDING_IDS) {
    const need = (ok: boolean, what: string) => ok || missing.push(`${id}: ${what}`)
    need(
      DETECTORS.some(d => d.id === id),
      'a detector registered in src/detectors/index.ts',
    )
    need(existsSync(join(ROOT, `docs/findings/${id}.md`)), `docs/findings/${id}.md`)
    need(scenarios.includes(`"${id}"`), `a "${id}" scenario in testprograms/memsick/scenarios.go`)
    need(existsSync(join(ROOT, `test/e2e/${id}.e2e.test.ts`)), `test/e2e/${id}.e2e.test.ts`)
    // Every Go build findings are proven on, including Go 1.26 from a go 1.24 module (unnamed
    // mappings): scripts/capture-all.sh <build> writes them.
    // A build that only adds a GOEXPERIMENT (go1.26-leakprofile) serves the tests of that
    // feature; the release it builds is proven on by its plain build.
    for (const [build, spec] of Object.entries(GO_BUILDS)) {
      if ('goexperiment' in spec) continue
      for (const suffix of ['', '-control']) {
        need(
          captures.some(
            dir =>
              dir.startsWith(`${build}-linux`) &&
              existsSync(join(ROOT, 'testdata/captures', dir, `${id}${suffix}`, 'capture.json')),
          ),
          `a capture testdata/captures/${build}-linux*/${id}${suffix}`,
        )
      }
    }
  }
  assert.deepEqual(missing, [])
})

test('every detector is registered once, under its own id and file name', () => {
  const ids = DETECTORS.map(d => d.id)
  assert.equal(new Set(ids).size, ids.length)
  for (const id of ids) assert.ok(existsSync(join(ROOT, `src/detectors/${id}.ts`)), id)
  const files = tsFiles('src/detectors').map(f => relative('src/detectors', f).replace(/\.ts$/, ''))
  // The detectors' shared parts: the interface, the registry, the ranking, and measurements.
  const shared = ['detector', 'index', 'diagnose', 'trend', 'live-heap-growth']
  const detectorFiles = files.filter(f => !shared.includes(f))
  assert.deepEqual(
    detectorFiles.filter(f => !ids.includes(f as never)),
    [],
    'detector files not registered',
  )
})
