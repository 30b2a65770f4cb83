/**
 * Transparent huge page settings under /sys/kernel/mm/transparent_hugepage/: `enabled` and
 * `defrag` list the choices with the active one in brackets; khugepaged/max_ptes_none is a number.
 *
 *   always [madvise] never
 *   always defer defer+madvise [madvise] never
 *   511
 *
 * One capture per file; the file name (origin) says which setting it is.
 * Reference: Documentation/admin-guide/mm/transhuge.rst (Linux v6.1).
 */
import { InputError } from '../../errors.ts'
import type { ThpSettings } from '../../model/mappings.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'

/** The bracketed choice, or the number, of one settings file. */
export function parseThpSetting(capture: RawCapture): string | number {
  const text = captureText(capture).trim()
  if (capture.origin.endsWith('max_ptes_none')) {
    if (!/^\d{1,6}$/.test(text))
      throw new InputError(`${capture.origin}: not a number: ${JSON.stringify(text.slice(0, 40))}`)
    return Number(text)
  }
  const chosen = /\[([a-z+]+)\]/.exec(text)
  if (!chosen?.[1])
    throw new InputError(
      `${capture.origin}: no [bracketed] choice in ${JSON.stringify(text.slice(0, 60))}`,
    )
  return chosen[1]
}

/** Combines the settings files read once into one view. */
export function thpFromCaptures(captures: readonly RawCapture[]): ThpSettings | undefined {
  if (captures.length === 0) return undefined
  const settings: ThpSettings = { source: '/sys/kernel/mm/transparent_hugepage' }
  for (const capture of captures) {
    const value = parseThpSetting(capture)
    if (capture.origin.endsWith('/enabled') && typeof value === 'string') settings.enabled = value
    else if (capture.origin.endsWith('/defrag') && typeof value === 'string')
      settings.defrag = value
    else if (typeof value === 'number') settings.maxPtesNone = value
  }
  return settings
}

export const sysfsThp: Format<string | number> = {
  kind: 'sysfs-thp',
  sniff: head => /^(\w[\w+]* )*\[[a-z+]+\]( [\w+]+)*\n?$/.test(head),
  parse: parseThpSetting,
}
