import { closeSync, openSync, readSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { errorCode, InputError, messageOf } from '../errors.ts'
import { APPLICATION_ID, MIGRATIONS } from './migrations.ts'
import { sqliteAddon } from './native.ts'

export type Db = Database.Database

/** The first 16 bytes of every SQLite 3 database file. */
const SQLITE_HEADER = 'SQLite format 3\0'

/**
 * How long to wait for another process's lock before giving up. A recording writes one short
 * transaction per sample, so a report reading the same file waits milliseconds at most; a
 * longer wait means something else holds the file.
 */
const BUSY_TIMEOUT_MS = 3000

export interface OpenOptions {
  /** 'write' creates the file and brings its schema up to date; 'read' changes nothing. */
  mode: 'read' | 'write'
}

/**
 * Opens a recording, refusing in one line what is not one: another file type, another
 * application's SQLite database, a schema newer than this gomemdoctor, a damaged file. Writers
 * get WAL mode, so a report can read a recording while it is being written, and
 * synchronous=NORMAL: a commit survives the recorder being killed (only a power cut between
 * commit and checkpoint can lose the last samples).
 */
export function openStore(path: string, options: OpenOptions): Db {
  const header = readHeader(path, options.mode)
  if (header !== undefined && header.length > 0 && header !== SQLITE_HEADER) {
    throw new InputError(`${path}: not a gomemdoctor recording (not an SQLite database)`)
  }
  let db: Db | undefined
  try {
    // Inside the single executable the addon comes from there (store/native.ts); the types
    // know only the path form of nativeBinding, better-sqlite3 also takes the loaded object.
    const addon = sqliteAddon([dirname(resolve(path))]) as string | undefined
    db = new Database(path, {
      fileMustExist: options.mode === 'read',
      ...(addon ? { nativeBinding: addon } : {}),
    })
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    const appId = db.pragma('application_id', { simple: true }) as number
    const version = db.pragma('user_version', { simple: true }) as number
    const tables = db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }
    const empty = appId === 0 && version === 0 && tables.n === 0
    if (!empty && appId !== APPLICATION_ID) {
      throw new InputError(
        `${path}: not a gomemdoctor recording (an SQLite database of another program)`,
      )
    }
    if (version > MIGRATIONS.length) {
      throw new InputError(
        `${path}: recording schema version ${version} is newer than this gomemdoctor reads (${MIGRATIONS.length}); use a newer gomemdoctor`,
      )
    }
    if (options.mode === 'read') {
      if (empty) throw new InputError(`${path}: holds no recording (an empty database)`)
      if (version < MIGRATIONS.length) {
        throw new InputError(
          `${path}: recording schema version ${version} is older than this gomemdoctor reads; record it again`,
        )
      }
      db.pragma('query_only = ON')
    } else {
      if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
        throw new InputError(`${path}: cannot switch the database to WAL mode`)
      }
      db.pragma('synchronous = NORMAL')
      migrate(db)
    }
    if (options.mode === 'write') {
      // Appending to a damaged file would bury the damage; a reader meets it on the pages it
      // reads instead (SQLITE_CORRUPT, below), without walking a day-long recording first.
      const check = db.pragma('quick_check', { simple: true })
      if (check !== 'ok') throw new InputError(`${path}: damaged recording (${String(check)})`)
    }
    return db
  } catch (error) {
    db?.close()
    throw storeError(path, error)
  }
}

function migrate(db: Db): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}

/** The file's first 16 bytes; undefined when it does not exist (fine for a writer). */
function readHeader(path: string, mode: OpenOptions['mode']): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT' && mode === 'write') return undefined
    if (code === 'ENOENT') throw new InputError(`${path}: no such file`)
    if (code === 'EISDIR') throw new InputError(`${path}: is a directory, not a recording`)
    throw new InputError(`${path}: ${messageOf(error)}`)
  }
  try {
    const buffer = Buffer.alloc(16)
    const n = readSync(fd, buffer, 0, 16, 0)
    return buffer.subarray(0, n).toString('latin1')
  } catch (error) {
    if (errorCode(error) === 'EISDIR')
      throw new InputError(`${path}: is a directory, not a recording`)
    throw new InputError(`${path}: ${messageOf(error)}`)
  } finally {
    closeSync(fd)
  }
}

/**
 * SQLite's errors as one line that says what to do. Anything already an InputError passes
 * through; an error that is not SQLite's is rethrown as it is (an internal error).
 */
export function storeError(path: string, error: unknown): unknown {
  if (error instanceof InputError) return error
  if (!(error instanceof Database.SqliteError)) return error
  const code = error.code
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_LOCKED') || code.startsWith('SQLITE_BUSY'))
    return new InputError(
      `${path}: locked by another process (is another gomemdoctor writing to it?)`,
    )
  if (code === 'SQLITE_NOTADB')
    return new InputError(`${path}: not a gomemdoctor recording (not an SQLite database)`)
  if (code.startsWith('SQLITE_CORRUPT'))
    return new InputError(`${path}: damaged or truncated recording (${error.message})`)
  if (code === 'SQLITE_FULL')
    return new InputError(`${path}: disk full; every sample committed before is kept`)
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'))
    return new InputError(`${path}: cannot write here (${error.message})`)
  if (code.startsWith('SQLITE_IOERR'))
    return new InputError(`${path}: I/O error (${error.message})`)
  return new InputError(`${path}: ${error.message}`)
}
