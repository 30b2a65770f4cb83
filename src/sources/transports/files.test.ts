import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { fileChunks, gzipFile } from './files.ts'

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
