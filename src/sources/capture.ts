/**
 * Bytes exactly as read, and where from. Captures travel from transports to formats and into
 * recordings, so a newer parser can re-read an old recording.
 */
export const CAPTURE_KINDS = [
  'proc-status',
  'smaps-rollup',
  'proc-environ',
  'proc-cgroup',
  'proc-net-tcp',
  'kernel-release',
  'proc-smaps',
  'sysfs-thp',
  'pprof-index',
  'go-buildinfo',
  'cgroup-memory-usage',
  'cgroup-memory-limit',
  'cgroup-memory-stat',
  'cgroup-memory-events',
  'cgroup-memory-failcnt',
  'expvar',
  'prom-text',
  'pprof-heap-text',
  'pprof-heap',
  'pprof-goroutine',
  'pprof-goroutineleak',
  'goroutine-text',
  'prom-query',
] as const
export type CaptureKind = (typeof CAPTURE_KINDS)[number]

export interface RawCapture {
  kind: CaptureKind
  /** '/proc/4242/smaps_rollup', 'http://127.0.0.1:6060/debug/vars', or a file path. */
  origin: string
  /** Unix ms when the read started. */
  atMs: number
  /**
   * Unix ms when an HTTP answer's headers arrived: the target produced it between atMs and this.
   * Kept in capture directories (diagnose --save); absent for files, in recordings (whose
   * schema would need a migration, and older readers refuse newer files), and in directories
   * saved before it was kept.
   */
  answeredAtMs?: number
  bytes: Uint8Array
}

/** Text of a capture. Proc and HTTP text formats are UTF-8 (or ASCII). */
export function captureText(capture: RawCapture): string {
  return Buffer.from(
    capture.bytes.buffer,
    capture.bytes.byteOffset,
    capture.bytes.byteLength,
  ).toString('utf8')
}

/**
 * Everything read from one target: what is read once at the start (the binary's build info,
 * GODEBUG and friends, the kernel, the cgroup path) and one list of captures per tick.
 * Live runs, capture directories and recordings all reduce to this, then to the same parsers.
 */
export interface CaptureSet {
  pid?: number
  url?: string
  once: RawCapture[]
  ticks: { atMs: number; captures: RawCapture[] }[]
}

/**
 * A capture set whose ticks are read as they are iterated, once, so a day-long recording is
 * never in memory all at once (`report` of a recording). assemble() takes either.
 */
export interface CaptureStream extends Omit<CaptureSet, 'ticks'> {
  ticks: Iterable<CaptureSet['ticks'][number]>
}
