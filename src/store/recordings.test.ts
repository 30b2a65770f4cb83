import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { GO119, loadRun } from '../../test/helpers/capture.ts'
import { InputError } from '../errors.ts'
import { assemble } from '../sources/assemble.ts'
import { type Db, openStore } from './db.ts'
import { APPLICATION_ID, MIGRATIONS } from './migrations.ts'
import {
  appendCaptures,
  createRecording,
  finishRecording,
  listRecordings,
  loadRecording,
  streamRecording,
} from './recordings.ts'

async function tempDb(name = 'rec.db'): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'gomemdoctor-store-')), name)
}

/** Writes a committed capture into a new session, tick by tick, as `record` does. */
async function recordCapture(db: Db, path: string, capture: string): Promise<number> {
  const run = await loadRun(capture)
  const notes = { gaps: run.gaps, notes: run.notes, sources: run.sources }
  const id = createRecording(db, path, { startedAtMs: 1, command: 'test', pid: 4242 })
  appendCaptures(db, path, id, 'once', 0, run.captures.once, notes)
  run.captures.ticks.forEach((tick, i) => {
    appendCaptures(db, path, id, i, tick.atMs, tick.captures, notes)
  })
  finishRecording(db, path, id, 2, notes)
  return id
}

test('a recording reads back byte for byte, in order, with its gaps and notes', async () => {
  const path = await tempDb()
  const db = openStore(path, { mode: 'write' })
  const id = await recordCapture(db, path, `${GO119}/cgroup-limit-risk`)
  db.close()
  const original = await loadRun(`${GO119}/cgroup-limit-risk`)

  const reader = openStore(path, { mode: 'read' })
  const loaded = loadRecording(reader, path, id)
  reader.close()
  const plain = (set: typeof original.captures) => ({
    pid: 4242,
    once: set.once.map(c => ({ ...c, bytes: Buffer.from(c.bytes).toString('base64') })),
    ticks: set.ticks.map(t => ({
      atMs: t.atMs,
      captures: t.captures.map(c => ({ ...c, bytes: Buffer.from(c.bytes).toString('base64') })),
    })),
  })
  assert.deepEqual(plain(loaded.captures), plain(original.captures))
  assert.deepEqual(loaded.gaps, original.gaps)
  assert.deepEqual(loaded.notes, original.notes)
  assert.deepEqual(loaded.sources, original.sources)
  assert.equal(loaded.info.ticks, original.captures.ticks.length)
})

test('a streamed session gives the ticks and the assembled evidence a loaded one gives', async () => {
  const path = await tempDb()
  const db = openStore(path, { mode: 'write' })
  const id = await recordCapture(db, path, `${GO119}/cgroup-limit-risk`)
  db.close()
  const reader = openStore(path, { mode: 'read' })
  const loaded = loadRecording(reader, path, id)
  const streamed = streamRecording(reader, path, id)
  const ticks = [...streamed.captures.ticks].map(tick => ({
    atMs: tick.atMs,
    kinds: tick.captures.map(c => c.kind),
  }))
  assert.deepEqual(
    ticks,
    loaded.captures.ticks.map(t => ({ atMs: t.atMs, kinds: t.captures.map(c => c.kind) })),
  )
  assert.equal(ticks.length, loaded.info.ticks)
  // Profiles and smaps at both edges are found in one pass over the stream.
  const once = streamRecording(reader, path, id)
  const fromStream = assemble(once.captures)
  const fromLoaded = assemble(loaded.captures)
  reader.close()
  assert.ok(fromLoaded.heapProfiles?.first && fromLoaded.heapProfiles.last)
  assert.deepEqual(fromStream, fromLoaded)
  assert.deepEqual({ ...streamed, captures: undefined }, { ...loaded, captures: undefined })
})

test('text captures are stored deflated and profiles as they are', async () => {
  const path = await tempDb()
  const db = openStore(path, { mode: 'write' })
  await recordCapture(db, path, `${GO119}/cgroup-limit-risk`)
  const rows = db.prepare('SELECT kind, encoding FROM capture').all() as {
    kind: string
    encoding: string
  }[]
  db.close()
  assert.ok(rows.some(r => r.kind === 'expvar' && r.encoding === 'deflate'))
  // A gzipped profile does not shrink again.
  assert.ok(rows.some(r => r.kind === 'pprof-heap' && r.encoding === 'identity'))
})

test('recording into an existing file adds a session and keeps the earlier ones', async () => {
  const path = await tempDb()
  let db = openStore(path, { mode: 'write' })
  const first = await recordCapture(db, path, `${GO119}/healthy`)
  db.close()
  db = openStore(path, { mode: 'write' })
  const second = await recordCapture(db, path, `${GO119}/madv-free-retention`)
  db.close()
  const reader = openStore(path, { mode: 'read' })
  const sessions = listRecordings(reader, path)
  assert.deepEqual(
    sessions.map(s => s.id),
    [first, second],
  )
  const healthy = await loadRun(`${GO119}/healthy`)
  assert.equal(
    loadRecording(reader, path, first).captures.ticks.length,
    healthy.captures.ticks.length,
  )
  reader.close()
})

test('each tick is visible to another connection as soon as it is committed', async () => {
  const path = await tempDb()
  const writer = openStore(path, { mode: 'write' })
  const run = await loadRun(`${GO119}/healthy`)
  const notes = { gaps: [], notes: [], sources: [] }
  const id = createRecording(writer, path, { startedAtMs: 1, command: 'test' })
  appendCaptures(writer, path, id, 'once', 0, run.captures.once, notes)
  const reader = openStore(path, { mode: 'read' })
  for (const [i, tick] of run.captures.ticks.slice(0, 3).entries()) {
    appendCaptures(writer, path, id, i, tick.atMs, tick.captures, notes)
    assert.equal(loadRecording(reader, path, id).captures.ticks.length, i + 1)
  }
  reader.close()
  writer.close()
})

test('a recorder killed with SIGKILL mid-recording leaves every committed tick readable', async () => {
  const path = await tempDb()
  // A child writes ticks as fast as it can; it is killed while it is still writing.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `
      const { openStore } = await import(${JSON.stringify(new URL('./db.ts', import.meta.url).href)})
      const r = await import(${JSON.stringify(new URL('./recordings.ts', import.meta.url).href)})
      const db = openStore(${JSON.stringify(path)}, { mode: 'write' })
      const notes = { gaps: [], notes: [], sources: [] }
      const id = r.createRecording(db, 'f', { startedAtMs: 1, command: 'x' })
      const bytes = new TextEncoder().encode('VmRSS:\\t 1024 kB\\n'.repeat(200))
      for (let i = 0; ; i++) {
        r.appendCaptures(db, 'f', id, i, i, [{ kind: 'proc-status', origin: 'o', atMs: i, bytes }], notes)
        if (i === 50) process.stdout.write('50\\n')
      }
      `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>(resolve => child.stdout.once('data', () => resolve()))
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('close', resolve))
  const reader = openStore(path, { mode: 'read' })
  const [session] = listRecordings(reader, path)
  assert.ok(session && session.ticks > 50, `ticks: ${session?.ticks}`)
  const loaded = loadRecording(reader, path, session.id)
  reader.close()
  loaded.captures.ticks.forEach((tick, i) => {
    assert.equal(tick.captures.length, 1, `tick ${i}`)
    assert.equal(Buffer.from(tick.captures[0]?.bytes ?? []).length, 3200)
  })
})

/** Opening for reading must throw exactly one InputError line matching `pattern`. */
function assertRefused(path: string, pattern: RegExp, mode: 'read' | 'write' = 'read'): void {
  assert.throws(
    () => openStore(path, { mode }),
    (error: unknown) => {
      assert.ok(error instanceof InputError, String(error))
      assert.match(error.message, pattern)
      assert.doesNotMatch(error.message, /\n/)
      return true
    },
  )
}

test('refuses what is not a recording, in one line, before writing anything', async () => {
  const text = await tempDb('notes.txt')
  await writeFile(text, 'this is not a database, just some text long enough\n')
  assertRefused(text, /not a gomemdoctor recording \(not an SQLite database\)/)
  assertRefused(text, /not a gomemdoctor recording/, 'write')
  assert.equal(await readFile(text, 'utf8'), 'this is not a database, just some text long enough\n')

  const other = await tempDb('other.db')
  const foreign = new Database(other)
  foreign.exec('CREATE TABLE t (x)')
  foreign.close()
  assertRefused(other, /an SQLite database of another program/)
  assertRefused(other, /an SQLite database of another program/, 'write')

  assertRefused(await tempDb('missing.db'), /no such file/)
  const empty = await tempDb('empty.db')
  await writeFile(empty, '')
  assertRefused(empty, /holds no recording/)
})

test('refuses a recording from a newer schema, and leaves it as it was', async () => {
  const path = await tempDb()
  openStore(path, { mode: 'write' }).close()
  const raw = new Database(path)
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`)
  raw.close()
  const before = (await stat(path)).size
  assertRefused(path, /schema version 2 is newer than this gomemdoctor reads \(1\)/)
  assertRefused(path, /newer than this gomemdoctor reads/, 'write')
  assert.equal((await stat(path)).size, before)
  const check = new Database(path, { readonly: true })
  assert.equal(check.pragma('application_id', { simple: true }), APPLICATION_ID)
  check.close()
})

test('a truncated recording is refused in one line when read', async () => {
  const path = await tempDb()
  const db = openStore(path, { mode: 'write' })
  const id = await recordCapture(db, path, `${GO119}/cgroup-limit-risk`)
  db.close()
  await truncate(path, Math.floor((await stat(path)).size / 3))
  assert.throws(
    () => {
      const reader = openStore(path, { mode: 'read' })
      try {
        loadRecording(reader, path, id)
      } finally {
        reader.close()
      }
    },
    (error: unknown) =>
      error instanceof InputError &&
      /damaged or truncated recording/.test(error.message) &&
      !error.message.includes('\n'),
  )
  assertRefused(path, /damaged/, 'write')
})

test('a recording locked by another process is refused in one line', async () => {
  const path = await tempDb()
  openStore(path, { mode: 'write' }).close()
  const holder = new Database(path)
  holder.pragma('locking_mode = EXCLUSIVE')
  holder.exec('BEGIN EXCLUSIVE')
  assertRefused(path, /locked by another process/)
  holder.exec('ROLLBACK')
  holder.close()
})

test('a disk that fills up stops the recording in one line and keeps every tick before it', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-full-'))
  // A 1 MiB tmpfs is a disk that fills up; mounting needs root, as the tests run in CI.
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])
  // CI runs as root, which may mount; elsewhere this fails with the reason rather than pass unseen.
  assert.equal(
    mounted.status,
    0,
    `cannot mount a small tmpfs here: ${String(mounted.stderr).trim()}`,
  )
  t.after(() => spawnSync('umount', [dir]))
  const path = join(dir, 'full.db')
  const db = openStore(path, { mode: 'write' })
  const notes = { gaps: [], notes: [], sources: [] }
  const id = createRecording(db, path, { startedAtMs: 1, command: 'test' })
  let committed = 0
  let failure: unknown
  for (let i = 0; i < 1000 && failure === undefined; i++) {
    // Random bytes do not deflate: each tick really takes 16 KiB.
    const bytes = randomBytes(16 * 1024)
    try {
      appendCaptures(
        db,
        path,
        id,
        i,
        i,
        [{ kind: 'proc-smaps', origin: 'o', atMs: i, bytes }],
        notes,
      )
      committed++
    } catch (error) {
      failure = error
    }
  }
  db.close()
  assert.ok(failure instanceof InputError, String(failure))
  assert.match(failure.message, /full\.db: disk full; every sample committed before is kept/)
  assert.ok(committed > 10, String(committed))
  const reader = openStore(path, { mode: 'read' })
  const loaded = loadRecording(reader, path, id)
  reader.close()
  assert.equal(loaded.captures.ticks.length, committed)
  assert.ok(loaded.captures.ticks.every(tick => tick.captures[0]?.bytes.length === 16 * 1024))
})
