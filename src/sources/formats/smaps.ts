/**
 * /proc/PID/smaps: one block per mapping, a header line then `Field: N kB` lines.
 *
 *   7f3a1c000000-7f3a20000000 rw-p 00000000 00:00 0
 *   Rss:               65536 kB
 *   LazyFree:          61440 kB
 *   c000000000-c004000000 rw-p 00000000 00:00 0                          [anon: Go: heap]
 *
 * Only the fields detectors use are kept. `kB` means KiB. The path may contain spaces and ends
 * the header line; deleted files carry ` (deleted)`.
 *
 * Reference: Documentation/filesystems/proc.rst (Linux v6.1), "/proc/<pid>/smaps".
 */
import { InputError } from '../../errors.ts'
import type { Mapping, MappingsSnapshot } from '../../model/mappings.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) ([-rwxsp]{4}) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+\s*(.*)$/
const FIELD = /^(\w+):\s+(\d+) kB$/
const KEPT: Record<string, keyof Mapping> = {
  Rss: 'rss',
  Anonymous: 'anonymous',
  LazyFree: 'lazyFree',
  AnonHugePages: 'anonHugePages',
  Swap: 'swap',
}

export const procSmaps: Format<MappingsSnapshot> = {
  kind: 'proc-smaps',
  // A mapping header followed by a Size line; smaps_rollup's single header ends in [rollup].
  sniff: head =>
    /^[0-9a-f]+-[0-9a-f]+ [-rwxsp]{4} .*\nSize:/.test(head) && !/\[rollup\]/.test(head),
  parse: capture => parseSmaps(capture),
}

export function parseSmaps(capture: RawCapture): MappingsSnapshot {
  const { origin } = capture
  const text = captureText(capture)
  if (looksLikeHtml(text.slice(0, 512)))
    throw new InputError(`${origin}: got HTML, not /proc/PID/smaps`)
  const mappings: Mapping[] = []
  let current: Mapping | undefined
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line === '') continue
    const header = HEADER.exec(line)
    if (header) {
      current = {
        start: Number.parseInt(header[1] ?? '', 16),
        end: Number.parseInt(header[2] ?? '', 16),
        perms: header[3] ?? '',
        path: header[4] ?? '',
        rss: 0,
        anonymous: 0,
        lazyFree: 0,
        anonHugePages: 0,
        swap: 0,
      }
      mappings.push(current)
      continue
    }
    const field = FIELD.exec(line)
    if (field && current) {
      const key = KEPT[field[1] ?? '']
      if (key) (current as unknown as Record<string, number>)[key] = Number(field[2]) * 1024
      continue
    }
    // VmFlags and THPeligible have no unit; anything else unknown is a broken file.
    if (/^(VmFlags|THPeligible|ProtectionKey):/.test(line) && current) continue
    throw new InputError(
      `${origin}:${index + 1}: not a smaps line: ${JSON.stringify(line.slice(0, 60))}`,
    )
  }
  if (mappings.length === 0)
    throw new InputError(`${origin}: no mappings (empty or not /proc/PID/smaps)`)
  return { source: origin, atMs: capture.atMs, mappings }
}
