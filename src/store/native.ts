/**
 * better-sqlite3's compiled addon when gomemdoctor runs as the single executable. The addon is
 * packed inside it (scripts/package.ts), but the dynamic loader maps only real files, so it is
 * written to a fresh private directory, loaded with process.dlopen, and deleted again at once:
 * the mapping outlives the file. A fresh directory per run (mkdtemp, mode 0700) rather than a
 * cache at a fixed path, because a fixed path in a shared /tmp is one another user could fill
 * with a library of their own for root to load. It costs one 2 MiB write per SQLite command.
 *
 * Outside the executable this returns undefined and better-sqlite3 finds its addon in
 * node_modules as usual.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError, messageOf } from '../errors.ts'
import { embeddedAsset, IN_EXECUTABLE } from '../install-root.ts'

/** The asset's name inside the executable (scripts/package.ts packs it under this name). */
export const SQLITE_ADDON_ASSET = 'better_sqlite3.node'

/**
 * Where the addon may be written, in order. /tmp is often mounted noexec in hardened
 * containers (then dlopen fails) or read-only (readOnlyRootFilesystem), so the next places are
 * tried: /dev/shm, /var/tmp, and the directory the caller writes to anyway (record's --out).
 */
function candidateDirs(extra: readonly string[]): string[] {
  const dirs = [process.env.TMPDIR, tmpdir(), '/dev/shm', '/var/tmp', ...extra]
  return [...new Set(dirs.filter((d): d is string => typeof d === 'string' && d !== ''))]
}

let loaded: object | undefined

/**
 * The addon object for better-sqlite3's `nativeBinding` option, or undefined outside the
 * executable. `nearDirs` are extra places to try writing it (the recording's directory).
 * Throws an InputError naming every place tried when none could load it.
 */
export function sqliteAddon(nearDirs: readonly string[] = []): object | undefined {
  if (!IN_EXECUTABLE) return undefined
  if (loaded) return loaded
  const bytes = embeddedAsset(SQLITE_ADDON_ASSET)
  if (!bytes) throw new InputError('this executable was packed without SQLite; rebuild it')
  const tried: string[] = []
  for (const dir of candidateDirs(nearDirs)) {
    let scratch: string | undefined
    try {
      scratch = mkdtempSync(join(dir, 'gomemdoctor-sqlite-'))
      const file = join(scratch, SQLITE_ADDON_ASSET)
      writeFileSync(file, bytes, { mode: 0o700 })
      const module = { exports: {} }
      process.dlopen(module, file)
      loaded = module.exports
      return loaded
    } catch (error) {
      tried.push(`${dir}: ${firstLine(messageOf(error))}`)
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true })
    }
  }
  throw new InputError(
    `cannot load SQLite: it must be written to a directory that allows writing and executing, and none did (${tried.join('; ')}); set TMPDIR to one`,
  )
}

/** dlopen's messages repeat the whole path; the first line is enough for a one-line error. */
function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}
