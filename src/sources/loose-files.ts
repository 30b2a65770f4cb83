import { readFile, stat } from 'node:fs/promises'
import { InputError, messageOf } from '../errors.ts'
import type { CaptureKind, CaptureSet, RawCapture } from './capture.ts'
import { sniffKind } from './formats/index.ts'
import { headOf } from './formats/sniff.ts'
import { listFiles, type SavedRun } from './transports/capture-dir.ts'

/** Kinds that describe the target rather than one instant of it. */
const ONCE_KINDS: ReadonlySet<CaptureKind> = new Set([
  'go-buildinfo',
  'proc-environ',
  'kernel-release',
  'proc-cgroup',
])

/**
 * Files saved by hand (`cat /proc/PID/smaps_rollup > rollup`, `curl …/debug/vars > vars.json`)
 * become one sample. Each file's kind is found from its content, not its name.
 */
export async function loadLooseFiles(path: string): Promise<SavedRun> {
  const paths = (await stat(path)).isDirectory() ? await listFiles(path) : [path]
  const set: CaptureSet = { once: [], ticks: [] }
  const captures: RawCapture[] = []
  const skipped: string[] = []
  for (const file of paths) {
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch (error) {
      throw new InputError(`${file}: ${messageOf(error)}`)
    }
    const kind = sniffKind(bytes, headOf(bytes))
    if (!kind) {
      skipped.push(file)
      continue
    }
    const mtimeMs = (await stat(file)).mtimeMs
    const capture: RawCapture = { kind, origin: file, atMs: Math.round(mtimeMs), bytes }
    if (ONCE_KINDS.has(kind)) set.once.push(capture)
    else captures.push(capture)
    // A status file names the process too.
    if (kind === 'proc-status') set.once.push(capture)
  }
  if (captures.length === 0) {
    throw new InputError(
      `${path}: no file there is a format gomemdoctor reads (/proc/PID/status, smaps_rollup, /debug/vars, /metrics, heap?debug=1, …)`,
    )
  }
  const atMs = Math.max(...captures.map(c => c.atMs))
  set.ticks.push({ atMs, captures })
  return {
    captures: set,
    gaps: [],
    notes:
      skipped.length > 0 ? [`not a format gomemdoctor reads, skipped: ${skipped.join(', ')}`] : [],
    sources: paths.filter(p => !skipped.includes(p)),
    about: {},
  }
}
