import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCli } from '../../../test/helpers/cli.ts'

const cli = runCli

const dir = 'testdata/formats/goroutines'

test('goroutines shows the leaked workers first, with state and stack', async () => {
  const { code, out } = await cli('goroutines', `${dir}/go1.19-debug2.txt`, '-n', '3')
  assert.equal(code, 0)
  const lines = out.split('\n')
  assert.match(lines[0] ?? '', /debug=2 · \d+ goroutines in \d+ buckets \(similarity any-value\)/)
  assert.equal(lines[2], '300 [chan receive]  main.leakyWorker')
  assert.match(lines[3] ?? '', /^ {4}main\.leakyWorker\(…\) {2}\/.*main\.go:\d+$/)
  assert.match(out, /… \d+ more buckets/)
})

test('goroutines reads the proto profile and says it has no states', async () => {
  const { code, out } = await cli('goroutines', 'testdata/formats/pprof/go1.19-goroutine.pb.gz')
  assert.equal(code, 0)
  assert.match(out, /· proto ·/)
  assert.match(out, /no goroutine states/)
  assert.match(out, /^300 {2}main\.leakyWorker$/m)
})

test('goroutines --json prints every bucket with wait minutes', async () => {
  const { code, out } = await cli(
    'goroutines',
    `${dir}/go1.19-debug2-waiting.txt`,
    '--json',
    '--similarity',
    'any-pointer',
  )
  assert.equal(code, 0)
  const doc = JSON.parse(out) as {
    similarity: string
    buckets: { count: number; maxWaitMinutes: number }[]
  }
  assert.equal(doc.similarity, 'any-pointer')
  assert.ok(doc.buckets.some(b => b.maxWaitMinutes === 1))
})

test('goroutines reports a truncated dump', async () => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs')
  const full = readFileSync(`${dir}/go1.19-debug2.txt`)
  const path = `${mkdtempSync('/tmp/gomemdoctor-')}/cut.txt`
  writeFileSync(path, full.subarray(0, Math.floor(full.length / 2) + 3))
  const { code, out } = await cli('goroutines', path)
  assert.equal(code, 0)
  assert.match(out, /^TRUNCATED: /m)
})

test('goroutines exits 2 with one line for a heap profile or a bad similarity', async () => {
  const heap = await cli('goroutines', 'testdata/formats/pprof/go1.19-heap-t0.pb.gz')
  assert.equal(heap.code, 2)
  assert.match(heap.err, /not a goroutine profile/)
  const level = await cli('goroutines', `${dir}/go1.19-debug1.txt`, '--similarity', 'fuzzy')
  assert.equal(level.code, 2)
  assert.match(level.err, /--similarity fuzzy: expected one of exact, any-pointer, any-value/)
})

test('a dump file read in chunks parses to what its whole buffer does, in every form', async () => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs')
  const { parseDump, parseDumpFile } = await import('./goroutines.ts')
  const tmp = mkdtempSync('/tmp/gomemdoctor-')
  // 40 copies of a real dump: 2.5 MiB, three 1 MiB chunks whose edges cut its lines.
  const big = `${tmp}/big.txt`
  writeFileSync(
    big,
    Buffer.concat(Array.from({ length: 40 }, () => readFileSync(`${dir}/go1.19-debug2.txt`))),
  )
  const files = [
    big,
    `${dir}/go1.19-sigquit.log`,
    `${dir}/go1.19-debug1.txt`,
    'testdata/formats/pprof/go1.19-goroutine.pb.gz',
  ]
  for (const path of files)
    for (const similarity of ['any-value', 'any-pointer'] as const) {
      const bytes = readFileSync(path)
      const whole = parseDump({ kind: 'goroutine-text', origin: path, atMs: 0, bytes }, similarity)
      assert.deepEqual(await parseDumpFile(path, similarity), whole, `${path} ${similarity}`)
    }
  const empty = `${tmp}/empty.txt`
  writeFileSync(empty, '')
  await assert.rejects(parseDumpFile(empty), /empty\.txt: empty file, no goroutine stacks/)
  await assert.rejects(parseDumpFile(`${tmp}/none.txt`), /none\.txt: no such file/)
  await assert.rejects(parseDumpFile(tmp), /is a directory, not a file/)
})
