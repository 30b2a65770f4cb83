import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  allFixtures,
  assertInputError,
  fixture,
  HTML_PAGE,
  textCapture,
} from '../../../test/helpers/format-fixtures.ts'
import { bucketGoroutines } from '../../model/goroutine-buckets.ts'
import { parseGoroutineLeak, pprofGoroutineLeak } from './pprof-goroutineleak.ts'
import { headOf } from './sniff.ts'

const KIND = 'pprof-goroutineleak'
/** What scripts/capture-leak-fixtures.ts recorded beside the files. */
const INFO = JSON.parse(
  readFileSync(
    new URL('../../../testdata/formats/pprof-goroutineleak/capture.json', import.meta.url),
    'utf8',
  ),
) as {
  builds: Record<string, { debug1Header: string }>
  notServing: Record<string, { status: number; body: string }>
}
const SERVING = ['go1.27', 'go1.26-leakprofile']

/** The count a debug=1 header announces, read without the parser. */
const headerTotal = (name: string) =>
  Number(/total (\d+)$/.exec(INFO.builds[name]?.debug1Header ?? '')?.[1])

test('reads the leaked main.leakyWorker goroutines of real Go 1.27 and 1.26 (experiment) profiles, proto and debug=1', () => {
  for (const go of SERVING) {
    const proto = parseGoroutineLeak(fixture(KIND, `${go}-leak.pb.gz`))
    assert.equal(proto.form, 'proto')
    // memsick parks 10k leakyWorkers and adds 200/s: all of them leaked, in one stack group.
    assert.ok(proto.total >= 10_000 && proto.total < 20_000, `${go}: ${proto.total}`)
    const [group, ...others] = bucketGoroutines(proto).buckets
    assert.equal(others.length, 0, go)
    assert.equal(group?.site?.func, 'main.leakyWorker')
    assert.equal(group?.count, proto.total)
    // The proto keeps the runtime frames that name the wait.
    assert.ok(group?.frames.some(f => f.func === 'runtime.chanrecv1'))

    const text = parseGoroutineLeak(fixture(KIND, `${go}-leak-debug1.txt`))
    assert.equal(text.form, 'debug=1')
    assert.equal(text.total, headerTotal(`${go}-leak`))
    assert.equal(text.declaredTotal, text.total)
    assert.equal(text.truncated, undefined)
    assert.equal(bucketGoroutines(text).buckets[0]?.site?.func, 'main.leakyWorker')
  }
})

test("reads the control's profiles as none leaked: a pool of workers fed with jobs is not a leak", () => {
  for (const go of SERVING) {
    for (const name of [`${go}-control.pb.gz`, `${go}-control-debug1.txt`]) {
      const dump = parseGoroutineLeak(fixture(KIND, name))
      assert.equal(dump.total, 0, name)
      assert.deepEqual(dump.records, [], name)
    }
    assert.equal(headerTotal(`${go}-control`), 0)
  }
})

test('rejects what a server without the profile answers, and other profiles, in one line naming the origin', () => {
  const goroutineProto = readFileSync(
    new URL('../../../testdata/formats/pprof/go1.19-goroutine.pb.gz', import.meta.url),
  )
  const heapProto = readFileSync(
    new URL('../../../testdata/formats/pprof/go1.19-heap-t0.pb.gz', import.meta.url),
  )
  const goroutineText = readFileSync(
    new URL('../../../testdata/formats/goroutines/go1.19-debug1.txt', import.meta.url),
  )
  const leak = fixture(KIND, 'go1.27-leak.pb.gz').bytes
  const leakText = fixture(KIND, 'go1.27-leak-debug1.txt').bytes.toString()
  const bytes = (name: string, data: Uint8Array) =>
    ({ kind: KIND, origin: name, atMs: 0, bytes: data }) as const
  const cases: [ReturnType<typeof bytes>, RegExp][] = [
    // The real 404 bodies of Go 1.19 and of Go 1.26 built without the experiment.
    ...Object.entries(INFO.notServing).map(([go, answer]): [ReturnType<typeof bytes>, RegExp] => [
      bytes(`${go}-404`, Buffer.from(answer.body)),
      /not a pprof profile|not a profile/,
    ]),
    [bytes('html', Buffer.from(HTML_PAGE)), /HTML/],
    [bytes('empty', new Uint8Array()), /empty/],
    [
      bytes('goroutine-proto', goroutineProto),
      /a pprof profile of goroutine\/count, not the goroutineleak profile/,
    ],
    [
      bytes('heap-proto', heapProto),
      /a pprof profile of .*inuse_space\/bytes.*, not the goroutineleak profile/,
    ],
    [bytes('goroutine-text', goroutineText), /a goroutine profile, not the goroutineleak profile/],
    [bytes('cut-gzip', leak.subarray(0, leak.length - 20)), /gzip|truncated|unexpected end/i],
    [
      bytes('header-only', Buffer.from('goroutineleak profile: total 12\n')),
      /a goroutineleak profile header with no stacks/,
    ],
    [
      bytes('cut-text', Buffer.from(leakText.split('\n')[0] ?? '')),
      /a goroutineleak profile header with no stacks/,
    ],
  ]
  for (const [capture, pattern] of cases) {
    assertInputError(
      () => parseGoroutineLeak(capture),
      new RegExp(`^${capture.origin}: .*${pattern.source}`, pattern.flags),
    )
  }
})

test('a debug=1 profile cut after its first stacks says so', () => {
  const text = fixture(KIND, 'go1.27-leak-debug1.txt').bytes.toString()
  const announced = headerTotal('go1.27-leak')
  const inflated = text.replace(/total \d+/, `total ${announced + 5}`)
  const dump = parseGoroutineLeak(textCapture(KIND, inflated))
  assert.equal(dump.total, announced)
  assert.match(
    dump.truncated ?? '',
    new RegExp(`announces ${announced + 5} goroutines but lists ${announced}`),
  )
})

test('sniffs the debug=1 text form and no other fixture (a saved proto is gzip like every profile)', () => {
  for (const capture of allFixtures()) {
    const own = capture.kind === KIND && capture.origin.endsWith('-debug1.txt')
    assert.equal(pprofGoroutineLeak.sniff(headOf(capture.bytes)), own, capture.origin)
  }
  assert.equal(pprofGoroutineLeak.sniff('goroutine profile: total 3\n'), false)
  assert.equal(pprofGoroutineLeak.sniff(HTML_PAGE), false)
})
