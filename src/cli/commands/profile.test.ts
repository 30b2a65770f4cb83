import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { generateDeepProfile } from '../../../bench/gen-deep-profile.ts'
import { runCli } from '../../../test/helpers/cli.ts'
import { goPprofTop } from '../../../test/helpers/go-pprof.ts'
import { heapTop, type TopOptions } from '../../model/heap-top.ts'
import { parsePprof } from '../../sources/formats/pprof.ts'
import { encodeProfileGzip } from '../../sources/formats/pprof-encode.ts'

const dir = 'testdata/formats/pprof'
const t0 = join(dir, 'go1.19-heap-t0.pb.gz')
const t1 = join(dir, 'go1.19-heap-t1.pb.gz')

const cli = runCli

test('profile top prints a pprof-like table with bytes in IEC units', async () => {
  const { code, out } = await cli('profile', 'top', t1, '-n', '5')
  assert.equal(code, 0)
  const lines = out.trimEnd().split('\n')
  assert.match(
    lines[0] ?? '',
    /go1\.19-heap-t1\.pb\.gz · inuse_space \(bytes\) · total \d+(\.\d+)? MiB/,
  )
  assert.match(lines[2] ?? '', /^\s+flat\s+flat%\s+sum%\s+cum\s+cum%$/)
  assert.match(lines[3] ?? '', /MiB .*main\.newBlock$/)
  assert.equal(lines.length, 3 + 5)
})

test('profile top --json prints one document with raw numbers', async () => {
  const { code, out } = await cli('profile', 'top', t1, '--json', '--sample-index', 'alloc_objects')
  assert.equal(code, 0)
  const doc = JSON.parse(out) as {
    schemaVersion: number
    sampleType: { type: string }
    rows: { flat: number }[]
  }
  assert.equal(doc.schemaVersion, 1)
  assert.equal(doc.sampleType.type, 'alloc_objects')
  assert.equal(doc.rows.length, 20)
  assert.ok(Number.isInteger(doc.rows[0]?.flat))
})

test('profile top gives the rows heapTop gives on the stored model, by flat, cum and -sample_index', async () => {
  // The CLI reads the samples from the file's bytes in passes, storing none; a file and a URL
  // take different ways in (chunks as read, bytes in memory). Deep stacks tie on flat and cum.
  const path = join(mkdtempSync(join(tmpdir(), 'gomemdoctor-')), 'deep.pb.gz')
  const deep = generateDeepProfile({
    leaves: 150,
    sitesPerLeaf: 3,
    chainsPerSite: 2,
    midFunctions: 50,
    minDepth: 10,
    maxDepth: 25,
  })
  writeFileSync(path, encodeProfileGzip(deep))
  const model = parsePprof(readFileSync(path), path)
  for (const [flags, options] of [
    [[], { sampleType: 'inuse_space', limit: 20 }],
    [['--cum', '-n', '1000'], { sampleType: 'inuse_space', limit: 1000, sortBy: 'cum' }],
    [['--sample-index', 'alloc_objects', '-n', '7'], { sampleType: 'alloc_objects', limit: 7 }],
    [['--sample-index', '1', '--cum'], { sampleType: '1', limit: 20, sortBy: 'cum' }],
  ] as [string[], TopOptions][]) {
    const { code, out } = await cli('profile', 'top', path, '--json', ...flags)
    assert.equal(code, 0)
    assert.deepEqual(
      JSON.parse(out),
      { schemaVersion: 1, ...heapTop(model, options) },
      String(flags),
    )
  }
})

test('profile diff writes a profile that go tool pprof opens with the same top', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'gomemdoctor-')), 'diff.pb.gz')
  const { code, out: json } = await cli('profile', 'diff', t0, t1, '--json', '--output', out)
  assert.equal(code, 0)
  const doc = JSON.parse(json) as { rows: { name: string; flat: number; cum: number }[] }
  // go tool pprof opens the written diff, and its first row is ours.
  const [name, flat, cum] = goPprofTop(['-sample_index=inuse_space', out])[0] ?? []
  const first = doc.rows[0]
  assert.ok(first)
  assert.deepEqual([first.name, first.flat, first.cum], [name, flat, cum])
})

test('profile top reads a URL, using /debug/pprof/heap for a base URL', async () => {
  const body = (await import('node:fs')).readFileSync(t1)
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(req.url ?? '')
    res.end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = server.address() as AddressInfo
    const { code, out } = await cli('profile', 'top', `http://127.0.0.1:${port}`, '-n', '1')
    assert.equal(code, 0)
    assert.match(out, /main\.newBlock/)
    assert.deepEqual(seen, ['/debug/pprof/heap'])
  } finally {
    server.close()
  }
})

const bad: [string, string[], number, RegExp][] = [
  ['a missing file', ['profile', 'top', 'nope.pb.gz'], 2, /nope\.pb\.gz: no such file/],
  ['an HTML page', ['profile', 'top', 'HTML'], 2, /got HTML, not a pprof profile/],
  [
    'an unknown sample type',
    ['profile', 'top', t1, '--sample-index', 'cpu'],
    2,
    /no sample type cpu/,
  ],
  [
    'profiles of different types',
    ['profile', 'diff', t1, join(dir, 'go1.19-goroutine.pb.gz')],
    2,
    /different sample types/,
  ],
  ['an unreachable URL', ['profile', 'top', 'CLOSED'], 3, /connection refused/],
]
for (const [what, argv, exit, message] of bad) {
  test(`profile exits ${exit} with one line on ${what}`, async () => {
    const html = join(mkdtempSync(join(tmpdir(), 'gomemdoctor-')), 'heap')
    writeFileSync(html, '<!DOCTYPE html><html><body>Sign in</body></html>')
    const closed = await closedPortUrl()
    const { code, out, err } = await cli(
      ...argv.map(a => (a === 'HTML' ? html : a === 'CLOSED' ? closed : a)),
    )
    assert.equal(code, exit)
    assert.equal(out, '')
    assert.match(err, message)
    assert.equal(err.trimEnd().split('\n').length, 1, err)
  })
}

/** A URL on a port that was just free: nothing listens there. */
async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}/`
}
