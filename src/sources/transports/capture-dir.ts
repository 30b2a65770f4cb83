import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errorCode, InputError, messageOf } from '../../errors.ts'
import type { Gap } from '../../model/finding.ts'
import { CAPTURE_KINDS, type CaptureKind, type CaptureSet, type RawCapture } from '../capture.ts'

/**
 * A capture directory: the raw bytes of a run, one file per capture, and capture.json saying
 * what each file is. Written by `diagnose --save DIR` (and scripts/capture.ts), read back by
 * `diagnose DIR` and `demo`, so a replay goes through the same parsers as the live run.
 *
 *   capture.json   { format: 'gomemdoctor-capture', version: 1, pid, url, once: [...], ticks: [...] }
 *   once/<kind>    read once at the start (build info, Go environment, kernel, cgroup path)
 *   t000/<kind>    one directory per tick
 */
export interface CaptureManifest {
  format: 'gomemdoctor-capture'
  version: 1
  createdAt: string
  /** Free-form facts about how it was made: scenario, command line, GODEBUG, kernel. */
  about: Record<string, string>
  pid?: number
  url?: string
  gaps: Gap[]
  notes: string[]
  sources: string[]
  once: ManifestFile[]
  ticks: { dir: string; atMs: number; files: ManifestFile[] }[]
}

interface ManifestFile {
  file: string
  kind: CaptureKind
  origin: string
  atMs: number
  answeredAtMs?: number
}

export interface SavedRun {
  captures: CaptureSet
  gaps: Gap[]
  notes: string[]
  sources: string[]
  about: Record<string, string>
}

export async function writeCaptureDir(dir: string, run: SavedRun): Promise<void> {
  await mkdir(join(dir, 'once'), { recursive: true })
  const writeAll = async (sub: string, captures: readonly RawCapture[]) => {
    await mkdir(join(dir, sub), { recursive: true })
    const files: ManifestFile[] = []
    for (const capture of captures) {
      // Two captures of one kind in a tick (follow-up reads of the runtime view) get distinct
      // names: expvar, expvar.2, …
      let file: string = capture.kind
      for (let n = 2; files.some(f => f.file === file); n++) file = `${capture.kind}.${n}`
      await writeFile(join(dir, sub, file), capture.bytes)
      const { kind, origin, atMs, answeredAtMs } = capture
      files.push({
        file,
        kind,
        origin,
        atMs,
        ...(answeredAtMs === undefined ? {} : { answeredAtMs }),
      })
    }
    return files
  }
  const manifest: CaptureManifest = {
    format: 'gomemdoctor-capture',
    version: 1,
    createdAt: new Date().toISOString(),
    about: run.about,
    gaps: run.gaps,
    notes: run.notes,
    sources: run.sources,
    once: await writeAll('once', run.captures.once),
    ticks: [],
  }
  if (run.captures.pid !== undefined) manifest.pid = run.captures.pid
  if (run.captures.url !== undefined) manifest.url = run.captures.url
  for (const [i, tick] of run.captures.ticks.entries()) {
    const sub = `t${String(i).padStart(3, '0')}`
    manifest.ticks.push({ dir: sub, atMs: tick.atMs, files: await writeAll(sub, tick.captures) })
  }
  await writeFile(join(dir, 'capture.json'), `${JSON.stringify(manifest, null, 2)}\n`)
}

/** True when the path is a directory holding capture.json. */
export async function isCaptureDir(path: string): Promise<boolean> {
  try {
    return (await stat(join(path, 'capture.json'))).isFile()
  } catch {
    // No manifest: not a capture directory (it may still be loose files).
    return false
  }
}

/** Reads one file of a capture directory; readFile by default, a packed copy in the executable. */
export type CaptureFileReader = (path: string) => Promise<Buffer>

export async function readCaptureDir(
  dir: string,
  read: CaptureFileReader = path => readFile(path),
): Promise<SavedRun> {
  const manifestPath = join(dir, 'capture.json')
  let manifest: CaptureManifest
  try {
    manifest = checkManifest(JSON.parse((await read(manifestPath)).toString('utf8')), manifestPath)
  } catch (error) {
    if (error instanceof InputError) throw error
    if (errorCode(error) === 'ENOENT')
      throw new InputError(`${dir} is not a capture directory: no capture.json`)
    throw new InputError(`${manifestPath}: ${messageOf(error)}`)
  }
  const load = async (sub: string, file: ManifestFile): Promise<RawCapture> => {
    const path = join(dir, sub, file.file)
    try {
      const { kind, origin, atMs, answeredAtMs } = file
      const bytes = await read(path)
      return { kind, origin, atMs, ...(answeredAtMs === undefined ? {} : { answeredAtMs }), bytes }
    } catch (error) {
      throw new InputError(`${path}: ${messageOf(error)} (listed in ${manifestPath})`)
    }
  }
  const captures: CaptureSet = {
    once: await Promise.all(manifest.once.map(file => load('once', file))),
    ticks: [],
  }
  if (manifest.pid !== undefined) captures.pid = manifest.pid
  if (manifest.url !== undefined) captures.url = manifest.url
  for (const tick of manifest.ticks) {
    captures.ticks.push({
      atMs: tick.atMs,
      captures: await Promise.all(tick.files.map(file => load(tick.dir, file))),
    })
  }
  return {
    captures,
    gaps: manifest.gaps,
    notes: manifest.notes,
    sources: manifest.sources,
    about: manifest.about,
  }
}

/** The manifest is untrusted input: check the shape we rely on, and name what is wrong. */
function checkManifest(value: unknown, path: string): CaptureManifest {
  const fail = (what: string): never => {
    throw new InputError(`${path}: ${what}`)
  }
  if (typeof value !== 'object' || value === null) fail('not a JSON object')
  const m = value as Partial<CaptureManifest>
  if (m.format !== 'gomemdoctor-capture') fail('not a gomemdoctor capture manifest')
  if (m.version !== 1)
    fail(`capture format version ${String(m.version)} is newer than this gomemdoctor reads (1)`)
  const checkFile = (f: unknown, where: string) => {
    const file = f as Partial<ManifestFile>
    if (typeof file?.file !== 'string' || file.file.includes('/') || file.file.includes('..')) {
      fail(`${where}: bad file name`)
    }
    if (!CAPTURE_KINDS.includes(file.kind as CaptureKind))
      fail(`${where}: unknown kind ${String(file.kind)}`)
    if (typeof file.origin !== 'string' || typeof file.atMs !== 'number')
      fail(`${where}: missing origin or atMs`)
    if (file.answeredAtMs !== undefined && typeof file.answeredAtMs !== 'number')
      fail(`${where}: answeredAtMs is not a number`)
  }
  if (!Array.isArray(m.once) || !Array.isArray(m.ticks)) fail('missing once or ticks')
  for (const [i, f] of (m.once ?? []).entries()) checkFile(f, `once[${i}]`)
  for (const [i, tick] of (m.ticks ?? []).entries()) {
    if (typeof tick?.dir !== 'string' || !/^t\d+$/.test(tick.dir) || !Array.isArray(tick.files)) {
      fail(`ticks[${i}]: bad tick`)
    }
    for (const [j, f] of tick.files.entries()) checkFile(f, `ticks[${i}].files[${j}]`)
  }
  return {
    gaps: [],
    notes: [],
    sources: [],
    about: {},
    ...m,
  } as CaptureManifest
}

/** Lists a directory's regular files, for loose captures (files saved by hand). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries
    .filter(e => e.isFile())
    .map(e => join(dir, e.name))
    .sort()
}
