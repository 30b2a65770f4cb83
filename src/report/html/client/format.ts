/** Compact figures for chart axes and legends; the report's own texts come formatted from Node. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  let v = Math.abs(value)
  let unit = 0
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024
    unit++
  }
  const digits = unit === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2
  return `${value < 0 ? '-' : ''}${v.toFixed(digits)} ${UNITS[unit]}`
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : String(+value.toFixed(2))
}

export function percent(share: number): string {
  const p = share * 100
  return p >= 10 || p === 0 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`
}

export function clock(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(11, 19)
}
