import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { fileChunks, gzipFile, readChunks } from './files.ts'

const heap = 'testdata/formats/pprof/go1.19-heap-t1.pb.gz'

test('gives a gzipped file as its size and the trailer size, and its bytes in chunks', async () => {
  const file = await gzipFile(heap, 1 << 30)
  assert.ok(file)
  const bytes = readFileSync(heap)
  assert.equal(file.size, bytes.length)
  assert.equal(file.isize, gunzipSync(bytes).length)
  const chunks: Buffer[] = []
  for await (const chunk of fileChunks(file.path)) chunks.push(chunk)
  assert.deepEqual(Buffer.concat(chunks), bytes)
})

test('gives nothing for a raw file, a directory, a missing file or one past the limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gomemdoctor-files-'))
  const raw = join(dir, 'heap.pb')
  writeFileSync(raw, gunzipSync(readFileSync(heap)))
  assert.equal(await gzipFile(raw, 1 << 30), undefined)
  assert.equal(await gzipFile(dir, 1 << 30), undefined)
  assert.equal(await gzipFile(join(dir, 'missing.pb.gz'), 1 << 30), undefined)
  assert.equal(await gzipFile(heap, 100), undefined)
})

test('readChunks gives the whole file in order, each chunk after its room, then the byte count', async () => {
  const path = `${mkdtempSync('/tmp/gomemdoctor-')}/f.bin`
  const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 251))
  writeFileSync(path, bytes)
  const got: Buffer[] = []
  const read = await readChunks(
    path,
    1 << 20,
    (chunk, room) => {
      assert.equal(room, 16)
      assert.ok(chunk.length - room <= 4096)
      got.push(Buffer.from(chunk.subarray(room)))
      // The consumer may write over its chunk, room included.
      chunk.fill(0)
    },
    4096,
    16,
  )
  assert.deepEqual(read, { ok: true, bytes: 10_000 })
  assert.equal(got.length, 3)
  assert.deepEqual(Buffer.concat(got), bytes)
})

test('readChunks answers EFBIG past maxBytes, ENOENT and EISDIR as codes, and lets errors of the consumer through', async () => {
  const dir = mkdtempSync('/tmp/gomemdoctor-')
  writeFileSync(`${dir}/f`, Buffer.alloc(5000))
  const ignore = () => undefined
  assert.equal((await readChunks(`${dir}/f`, 4999, ignore, 1024)).ok, false)
  assert.equal((await readChunks(`${dir}/f`, 5000, ignore, 1024)).ok, true)
  const codes = await Promise.all(
    [`${dir}/f`, `${dir}/none`, dir].map(async (p, i) => {
      const r = await readChunks(p, i === 0 ? 10 : 1 << 20, ignore, 1024)
      return r.ok ? 'ok' : r.code
    }),
  )
  assert.deepEqual(codes, ['EFBIG', 'ENOENT', 'EISDIR'])
  await assert.rejects(
    readChunks(`${dir}/f`, 1 << 20, () => {
      throw new Error('bad input')
    }),
    /bad input/,
  )
})
