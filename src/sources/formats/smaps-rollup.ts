/**
 * /proc/PID/smaps_rollup (Linux ≥ 4.14): every mapping's smaps counters summed, under one
 * header line that spans the whole address space and ends in `[rollup]`.
 *
 *   00400000-7fff72abb000 ---p 00000000 00:00 0                              [rollup]
 *   Rss:              107580 kB
 *   LazyFree:          65512 kB
 *
 * LazyFree (Linux ≥ 4.12) is what MADV_FREE returned but the kernel has not reclaimed: still in
 * Rss, gone under memory pressure. Only the fields we read are validated.
 *
 * Reference: Documentation/filesystems/proc.rst (Linux v6.1), section 1.1, "/proc/PID/smaps_rollup";
 * fs/proc/task_mmu.c show_smaps_rollup().
 */
import { InputError } from '../../errors.ts'
import type { SmapsRollup } from '../../model/snapshot.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { excerpt, firstLine, parseKiB, rejectNonText } from './proc-status.ts'

const WHAT = '/proc/PID/smaps_rollup'
/** `start-end perms offset dev inode`, as in /proc/PID/maps; rollup prints `---p … 0`. */
const MAPPING = /^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][-sp] [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+/
const ROLLUP = new RegExp(`${MAPPING.source}\\s+\\[rollup\\]$`)

export const smapsRollup: Format<SmapsRollup> = {
  kind: 'smaps-rollup',
  sniff: head => ROLLUP.test(firstLine(head)),
  parse: capture => parseSmapsRollup(capture),
}

/** Parses /proc/PID/smaps_rollup; errors name capture.origin and the line. */
export function parseSmapsRollup(capture: RawCapture): SmapsRollup {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, WHAT)
  const header = firstLine(text)
  if (!ROLLUP.test(header)) {
    // Someone passed /proc/PID/smaps: same lines, one block per mapping, no rollup.
    const hint = MAPPING.test(header) ? ' (a mapping header: is this /proc/PID/smaps?)' : ''
    throw new InputError(`${origin}:1: not ${WHAT}: no [rollup] header${hint}: ${excerpt(header)}`)
  }
  const fields = new Map<string, { value: string; line: number }>()
  const lines = text.split('\n')
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] ?? ''
    if (line === '' && index === lines.length - 1) break
    const match = /^(\w+):\s*(.*)$/.exec(line)
    if (!match) {
      throw new InputError(`${origin}:${index + 1}: not a "Key: <n> kB" line: ${excerpt(line)}`)
    }
    fields.set(match[1] ?? '', { value: match[2] ?? '', line: index + 1 })
  }
  const kb = (key: string): number | undefined => {
    const field = fields.get(key)
    return field && parseKiB(field.value, key, origin, field.line)
  }
  const rss = kb('Rss')
  if (rss === undefined) throw new InputError(`${origin}: no Rss line in ${WHAT} (truncated?)`)
  const rollup: SmapsRollup = { source: origin, rss }
  const optional = {
    pss: 'Pss',
    anonymous: 'Anonymous',
    lazyFree: 'LazyFree',
    anonHugePages: 'AnonHugePages',
    swap: 'Swap',
  } as const
  for (const [name, key] of Object.entries(optional)) {
    const bytes = kb(key)
    if (bytes !== undefined) rollup[name as keyof typeof optional] = bytes
  }
  return rollup
}
