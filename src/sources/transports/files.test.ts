import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { readChunks } from './files.ts'

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
