/**
 * One colour per RSS slice, for the stacked chart and the breakdown bar alike: a slice must look
 * the same in both. The LazyFree slice (released-resident) stands out on purpose.
 */
const SLICE_COLORS: Record<string, string> = {
  'live-heap': '#2563eb',
  'heap-fragmentation': '#60a5fa',
  'idle-heap': '#a5c8fd',
  'goroutine-stacks': '#7c3aed',
  'runtime-metadata': '#b9a5f5',
  'go-uncounted': '#c4b5fd',
  'non-go': '#475569',
  unexplained: '#9ca3af',
  anonymous: '#64748b',
  'file-backed': '#14b8a6',
  'released-resident': '#f97316',
  'go-not-resident': '#fecaca',
}

export function sliceColor(key: string): string {
  return SLICE_COLORS[key] ?? '#999'
}
