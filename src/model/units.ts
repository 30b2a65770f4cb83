/** Byte and time units. JSON carries raw bytes and milliseconds; only reports format them. */

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

/** IEC units, three significant digits: 412 MiB, 2.61 GiB, 38.0 KiB. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : ''
  const abs = Math.abs(bytes)
  if (abs < KiB) return `${sign}${Math.round(abs)} B`
  const units: [number, string][] = [
    [GiB * 1024, 'TiB'],
    [GiB, 'GiB'],
    [MiB, 'MiB'],
    [KiB, 'KiB'],
  ]
  for (const [size, name] of units) {
    if (abs >= size) {
      const value = abs / size
      const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
      return `${sign}${value.toFixed(digits)} ${name}`
    }
  }
  return `${sign}${abs} B`
}

/** Durations as people type them: 30s, 1m, 1m30s, 500ms, 2h. Returns milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g
  const scale: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
  let total = 0
  let consumed = 0
  for (const match of text.matchAll(part)) {
    if (match.index !== consumed) return undefined
    total += Number(match[1]) * (scale[match[2] ?? ''] ?? Number.NaN)
    consumed += match[0].length
  }
  if (consumed === 0 || consumed !== text.length || !Number.isFinite(total)) return undefined
  return total
}

/** 1.5 s, 30 s, 2 min 5 s, 3 h 10 min: for humans. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  // A window asked as 5 s ends a few ms late; 5.0 s would claim a precision nobody asked for.
  if (seconds < 60)
    return `${Math.abs(seconds - Math.round(seconds)) < 0.05 ? Math.round(seconds) : seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** Sizes as people type them: 8GiB, 512MiB, 8G, 1073741824. Returns bytes, or undefined. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)?$/i.exec(text.trim())
  if (!match) return undefined
  const unit = (match[2] ?? 'B').toUpperCase().replace('IB', '').replace(/B$/, '')
  const scale: Record<string, number> = { '': 1, K: KiB, M: MiB, G: GiB, T: GiB * 1024 }
  const factor = scale[unit]
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor)
}
