import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { InputError } from '../errors.ts'
import type { Gap } from '../model/finding.ts'
import {
  CAPTURE_KINDS,
  type CaptureKind,
  type CaptureSet,
  type CaptureStream,
  type RawCapture,
} from '../sources/capture.ts'
import { type Db, storeError } from './db.ts'

/** The tick number of the captures read once, before the first sample. */
const ONCE = -1

/** Deflate only when it saves at least this share: profiles arrive gzipped already. */
const MIN_SAVING = 0.1

/** A recording session: one `record` run into the file. Several can share a file. */
export interface RecordingInfo {
  id: number
  startedAtMs: number
  /** Absent while recording, and when the recorder was killed before it could finish. */
  endedAtMs?: number
  pid?: number
  url?: string
  command: string
  ticks: number
}

/** What a run knows besides its captures: kept so a replay prints the same report. */
export interface RunNotes {
  gaps: readonly Gap[]
  notes: readonly string[]
  sources: readonly string[]
}

/** A recording read back: the same shape a live collection and a capture directory give. */
export interface LoadedRecording {
  info: RecordingInfo
  captures: CaptureSet
  gaps: Gap[]
  notes: string[]
  sources: string[]
}

/** Starts a new session in the file and returns its id (`report --session N`). */
export function createRecording(
  db: Db,
  path: string,
  meta: { startedAtMs: number; command: string; pid?: number; url?: string },
): number {
  return guard(path, () => {
    const result = db
      .prepare('INSERT INTO recording (started_at_ms, pid, url, command) VALUES (?, ?, ?, ?)')
      .run(meta.startedAtMs, meta.pid ?? null, meta.url ?? null, meta.command)
    return Number(result.lastInsertRowid)
  })
}

/**
 * Commits captures in one transaction: a tick (or the read-once captures, tick 'once') together
 * with what the run knows so far, so a recorder killed at any instant leaves complete ticks
 * and their notes. Appending to a tick already stored adds after its captures (the last tick's
 * end-of-window profile and dump arrive after the tick itself).
 */
export function appendCaptures(
  db: Db,
  path: string,
  recordingId: number,
  tick: number | 'once',
  tickAtMs: number,
  captures: readonly RawCapture[],
  run: RunNotes & { pid?: number; url?: string },
): void {
  const tickNo = tick === 'once' ? ONCE : tick
  guard(path, () => {
    const statements = prepared(db)
    db.transaction(() => {
      if (tickNo !== ONCE) statements.tick.run(recordingId, tickNo, tickAtMs)
      let seq = (statements.nextSeq.get(recordingId, tickNo) as { seq: number }).seq
      for (const capture of captures) {
        const { encoding, bytes } = encode(capture.bytes)
        statements.capture.run(
          recordingId,
          tickNo,
          seq++,
          capture.atMs,
          capture.kind,
          capture.origin,
          encoding,
          bytes,
        )
      }
      statements.notes.run(
        JSON.stringify(run.gaps),
        JSON.stringify(run.notes),
        JSON.stringify(run.sources),
        run.pid ?? null,
        run.url ?? null,
        recordingId,
      )
    })()
  })
}

/** Marks the session finished, with the run's final gaps and notes. */
export function finishRecording(
  db: Db,
  path: string,
  recordingId: number,
  endedAtMs: number,
  run: RunNotes,
): void {
  guard(path, () => {
    db.prepare(
      'UPDATE recording SET ended_at_ms = ?, gaps = ?, notes = ?, sources = ? WHERE id = ?',
    ).run(
      endedAtMs,
      JSON.stringify(run.gaps),
      JSON.stringify(run.notes),
      JSON.stringify(run.sources),
      recordingId,
    )
  })
}

/** Every session in the file, oldest first. */
export function listRecordings(db: Db, path: string): RecordingInfo[] {
  return guard(path, () => {
    const rows = db
      .prepare(
        `SELECT r.id, r.started_at_ms, r.ended_at_ms, r.pid, r.url, r.command,
           (SELECT count(*) FROM tick t WHERE t.recording_id = r.id) AS ticks
         FROM recording r ORDER BY r.id`,
      )
      .all() as RecordingRow[]
    return rows.map(toInfo)
  })
}

/**
 * Reads one session back as a capture set. The bytes stay compressed in memory and are inflated
 * each time a parser reads them, so a day-long recording costs its compressed size, not 1 GB.
 */
export function loadRecording(db: Db, path: string, recordingId: number): LoadedRecording {
  const stream = streamRecording(db, path, recordingId)
  return guard(path, () => ({
    ...stream,
    captures: { ...stream.captures, ticks: [...stream.captures.ticks] },
  }))
}

/** A session whose ticks are read from the file as they are iterated (once). */
export interface StreamedRecording extends Omit<LoadedRecording, 'captures'> {
  captures: CaptureStream
}

/**
 * Reads one session as a stream: the read-once captures and the notes now, each tick as it is
 * iterated, in order, so `report` of a day-long recording holds one tick at a time. The
 * connection is busy until the iteration ends; iterate before using `db` for anything else.
 */
export function streamRecording(db: Db, path: string, recordingId: number): StreamedRecording {
  return guard(path, () => {
    const row = db
      .prepare(
        `SELECT r.*, (SELECT count(*) FROM tick t WHERE t.recording_id = r.id) AS ticks
         FROM recording r WHERE r.id = ?`,
      )
      .get(recordingId) as (RecordingRow & NotesRow) | undefined
    if (!row) throw new InputError(`${path}: has no session ${recordingId}`)
    const once = (
      db
        .prepare(
          `SELECT tick, at_ms, kind, origin, encoding, bytes FROM capture
           WHERE recording_id = ? AND tick = ? ORDER BY seq`,
        )
        .all(recordingId, ONCE) as CaptureRow[]
    ).map(capture => decode(path, capture))
    const captures: CaptureStream = { once, ticks: ticksOf(db, path, recordingId) }
    if (row.pid !== null) captures.pid = row.pid
    if (row.url !== null) captures.url = row.url
    const notes = parseJson(path, row.notes) as string[]
    if (row.ended_at_ms === null) notes.push(unfinishedNote(db, recordingId, row.ticks))
    return {
      info: toInfo(row),
      captures,
      gaps: parseJson(path, row.gaps) as Gap[],
      notes,
      sources: parseJson(path, row.sources) as string[],
    }
  })
}

/**
 * A session with no end was cut short (kill -9, a crash, a power cut) or is being recorded now:
 * either way the report covers only the samples committed so far, and says so.
 */
function unfinishedNote(db: Db, recordingId: number, ticks: number): string {
  const { last } = db
    .prepare('SELECT max(at_ms) AS last FROM tick WHERE recording_id = ?')
    .get(recordingId) as { last: number | null }
  const when = last === null ? '' : `, the last at ${new Date(last).toISOString()}`
  return `session ${recordingId} never finished (the recorder was killed, or is still recording): this covers the ${ticks} samples committed${when}`
}

/** Each tick of a session with its captures, in order: one query, read as it is iterated. */
function* ticksOf(
  db: Db,
  path: string,
  recordingId: number,
): Generator<CaptureSet['ticks'][number]> {
  // Every tick row, with its captures when it has any (a LEFT JOIN keeps a tick without).
  const rows = db
    .prepare(
      `SELECT t.tick, t.at_ms AS tick_at_ms, c.at_ms, c.kind, c.origin, c.encoding, c.bytes
       FROM tick t LEFT JOIN capture c ON c.recording_id = t.recording_id AND c.tick = t.tick
       WHERE t.recording_id = ? ORDER BY t.tick, c.seq`,
    )
    .iterate(recordingId) as IterableIterator<TickCaptureRow>
  let current: { tick: number; value: CaptureSet['ticks'][number] } | undefined
  try {
    for (const row of rows) {
      if (current?.tick !== row.tick) {
        if (current) yield current.value
        current = { tick: row.tick, value: { atMs: row.tick_at_ms, captures: [] } }
      }
      if (row.kind !== null) current.value.captures.push(decode(path, row as CaptureRow))
    }
    if (current) yield current.value
  } catch (error) {
    throw storeError(path, error)
  }
}

interface RecordingRow {
  id: number
  started_at_ms: number
  ended_at_ms: number | null
  pid: number | null
  url: string | null
  command: string
  ticks: number
}

interface NotesRow {
  gaps: string
  notes: string
  sources: string
}

type TickCaptureRow = { tick: number; tick_at_ms: number } & (
  | CaptureRow
  | { [K in Exclude<keyof CaptureRow, 'tick'>]: null }
)

interface CaptureRow {
  tick: number
  at_ms: number
  kind: string
  origin: string
  encoding: string
  bytes: Buffer
}

function toInfo(row: RecordingRow): RecordingInfo {
  const info: RecordingInfo = {
    id: row.id,
    startedAtMs: row.started_at_ms,
    command: row.command,
    ticks: row.ticks,
  }
  if (row.ended_at_ms !== null) info.endedAtMs = row.ended_at_ms
  if (row.pid !== null) info.pid = row.pid
  if (row.url !== null) info.url = row.url
  return info
}

function encode(bytes: Uint8Array): { encoding: 'deflate' | 'identity'; bytes: Uint8Array } {
  if (bytes.byteLength < 64) return { encoding: 'identity', bytes }
  const deflated = deflateRawSync(bytes)
  if (deflated.byteLength > bytes.byteLength * (1 - MIN_SAVING))
    return { encoding: 'identity', bytes }
  return { encoding: 'deflate', bytes: deflated }
}

/** A capture whose bytes are inflated on each read, and never kept inflated. */
function decode(path: string, row: CaptureRow): RawCapture {
  if (!CAPTURE_KINDS.includes(row.kind as CaptureKind)) {
    throw new InputError(`${path}: unknown capture kind ${JSON.stringify(row.kind)}`)
  }
  const base = { kind: row.kind as CaptureKind, origin: row.origin, atMs: row.at_ms }
  if (row.encoding === 'identity') return { ...base, bytes: row.bytes }
  if (row.encoding !== 'deflate') {
    throw new InputError(`${path}: unknown capture encoding ${JSON.stringify(row.encoding)}`)
  }
  const stored = row.bytes
  return {
    ...base,
    get bytes(): Uint8Array {
      try {
        return inflateRawSync(stored)
      } catch (error) {
        throw new InputError(`${path}: damaged capture ${row.origin} (${String(error)})`)
      }
    },
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new InputError(`${path}: damaged recording notes (not JSON)`)
  }
}

const statementCache = new WeakMap<Db, ReturnType<typeof prepare>>()

function prepared(db: Db): ReturnType<typeof prepare> {
  let statements = statementCache.get(db)
  if (!statements) {
    statements = prepare(db)
    statementCache.set(db, statements)
  }
  return statements
}

function prepare(db: Db) {
  return {
    tick: db.prepare('INSERT OR IGNORE INTO tick (recording_id, tick, at_ms) VALUES (?, ?, ?)'),
    nextSeq: db.prepare(
      'SELECT coalesce(max(seq) + 1, 0) AS seq FROM capture WHERE recording_id = ? AND tick = ?',
    ),
    capture: db.prepare(
      `INSERT INTO capture (recording_id, tick, seq, at_ms, kind, origin, encoding, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    notes: db.prepare(
      `UPDATE recording SET gaps = ?, notes = ?, sources = ?, pid = coalesce(?, pid),
         url = coalesce(?, url) WHERE id = ?`,
    ),
  }
}

/** Runs a store operation, turning SQLite's errors into one-line InputErrors. */
function guard<T>(path: string, operation: () => T): T {
  try {
    return operation()
  } catch (error) {
    throw storeError(path, error)
  }
}
