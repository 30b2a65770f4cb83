/**
 * /proc/PID/status: one `Key:<TAB>value` line per field, sizes as `<n> kB`.
 *
 *   Name:	procfixture
 *   VmRSS:	  107580 kB
 *   RssAnon:	  102972 kB
 *
 * Only the fields we read are validated; the kernel adds lines (THP_enabled, untag_mask) and a
 * line we do not use must not make the whole file unreadable.
 *
 * Reference: Documentation/filesystems/proc.rst (Linux v6.1), table 1-2 "Contents of the status
 * fields"; fs/proc/task_mmu.c task_mem() prints the Vm and Rss lines.
 */
import { InputError, TargetError } from '../../errors.ts'
import type { ProcStatus } from '../../model/snapshot.ts'
import { KiB } from '../../model/units.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

const WHAT = '/proc/PID/status'

/**
 * A zombie or a kernel thread has no address space (no mm), so its status has no Vm or Rss lines.
 * The bytes are fine; the target has no memory to read. That is a TargetError (exit 3), not an
 * InputError, so the caller can say "the process has exited" instead of "broken file".
 */
export class NoAddressSpaceError extends TargetError {
  override name = 'NoAddressSpaceError'
  readonly origin: string
  readonly reason: 'zombie' | 'kernel thread'
  constructor(origin: string, reason: 'zombie' | 'kernel thread') {
    super(`${origin}: no VmRSS: the process is a ${reason} and has no memory of its own`)
    this.origin = origin
    this.reason = reason
  }
}

export const procStatus: Format<ProcStatus> = {
  kind: 'proc-status',
  // Name is always first; Umask (Linux ≥ 4.7) or State follows it.
  sniff: head => /^Name:\t[^\n]*\n(Umask|State):\t/.test(head),
  parse: capture => parseProcStatus(capture),
}

/** Parses /proc/PID/status; errors name capture.origin and the line. */
export function parseProcStatus(capture: RawCapture): ProcStatus {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, WHAT)
  if (!text.startsWith('Name:')) throw new InputError(`${origin}: not ${WHAT}: no Name: line first`)
  const fields = new Map<string, { value: string; line: number }>()
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line === '' && index === lines.length - 1) break
    const colon = line.indexOf(':')
    if (colon <= 0) {
      throw new InputError(`${origin}:${index + 1}: not a "Key: value" line: ${excerpt(line)}`)
    }
    fields.set(line.slice(0, colon), { value: line.slice(colon + 1).trim(), line: index + 1 })
  }
  const kb = (key: string): number | undefined => {
    const field = fields.get(key)
    return field && parseKiB(field.value, key, origin, field.line)
  }
  const vmRss = kb('VmRSS')
  if (vmRss === undefined) throw noVmRss(fields, text, origin)
  const status: ProcStatus = { source: origin, vmRss }
  const optional = { rssAnon: 'RssAnon', rssFile: 'RssFile', rssShmem: 'RssShmem' } as const
  for (const [name, key] of Object.entries(optional)) {
    const bytes = kb(key)
    if (bytes !== undefined) status[name as keyof typeof optional] = bytes
  }
  const vmHwm = kb('VmHWM')
  if (vmHwm !== undefined) status.vmHwm = vmHwm
  const vmSwap = kb('VmSwap')
  if (vmSwap !== undefined) status.vmSwap = vmSwap
  const threads = fields.get('Threads')
  if (threads) {
    if (!/^\d{1,20}$/.test(threads.value)) {
      throw new InputError(
        `${origin}:${threads.line}: Threads is not a number: ${excerpt(threads.value)}`,
      )
    }
    status.threads = Number(threads.value)
  }
  // The kernel escapes '\n' and '\\' in the name (proc_task_name), so the line is the whole name.
  const name = fields.get('Name')?.value
  if (name) status.name = name
  return status
}

/** Why there is no VmRSS: an exited or kernel process (TargetError), or a broken file. */
function noVmRss(
  fields: Map<string, { value: string }>,
  text: string,
  origin: string,
): TargetError | InputError {
  if (fields.get('State')?.value.startsWith('Z')) return new NoAddressSpaceError(origin, 'zombie')
  // Kthread: exists since Linux 6.x; older kernels show a complete file (Threads is printed after
  // the Vm block) with no Vm lines at all.
  const complete = text.endsWith('\n') && fields.has('Threads')
  const hasVm = [...fields.keys()].some(key => key.startsWith('Vm'))
  if (fields.get('Kthread')?.value === '1' || (complete && !hasVm)) {
    return new NoAddressSpaceError(origin, 'kernel thread')
  }
  return new InputError(`${origin}: no VmRSS line in ${WHAT} (truncated?)`)
}

/**
 * Reads `<n> kB` as bytes. `kB` in /proc is KiB: the kernel prints pages << (PAGE_SHIFT - 10).
 * Shared with smaps_rollup, whose lines have the same shape.
 */
export function parseKiB(value: string, key: string, origin: string, line: number): number {
  // At most 20 digits (a u64): a longer run would read as Infinity.
  const match = /^(\d{1,20}) kB$/.exec(value)
  if (match) return Number(match[1]) * KiB
  const problem = /^\d+$/.test(value) ? 'has no unit (want "<n> kB")' : 'is not "<n> kB"'
  throw new InputError(`${origin}:${line}: ${key} ${problem}: ${excerpt(value)}`)
}

/**
 * The checks every /proc text parser starts with: an empty read and an HTML page (a proxy or a
 * login page where a file was expected) are named as such, not parsed as garbage.
 */
export function rejectNonText(text: string, origin: string, what: string): void {
  if (text.trim() === '') throw new InputError(`${origin}: empty, not ${what}`)
  if (looksLikeHtml(text.slice(0, 512))) throw new InputError(`${origin}: got HTML, not ${what}`)
}

/** A value as it may appear in a one-line error: quoted, control characters escaped, ≤ 40 chars. */
export function excerpt(text: string): string {
  const clipped = text.length > 40 ? `${text.slice(0, 40)}…` : text
  return JSON.stringify(clipped)
}

/** The first line of a text, without scanning a 10 MB one twice. */
export function firstLine(text: string): string {
  const end = text.indexOf('\n')
  return end === -1 ? text : text.slice(0, end)
}
