/** Facts about the target that do not change while it runs: read once, at the start. */
export interface TargetFacts {
  pid?: number
  url?: string
  /** The process name from /proc/PID/status (comm). */
  name?: string
  /** From the binary's .go.buildinfo, e.g. "go1.19.8". */
  goVersion?: string
  /** GODEBUG from /proc/PID/environ; absent when unset (or unreadable: a Gap says which). */
  godebug?: string
  /** DefaultGODEBUG recorded in the binary at build time (Go ≥ 1.21, only when non-empty). */
  defaultGodebug?: string
  gogc?: string
  gomemlimit?: string
  gomaxprocs?: string
  /** Linux release from /proc/sys/kernel/osrelease, e.g. "6.1.0-18-amd64". */
  kernel?: string
  /** The build settings from .go.buildinfo (CGO_ENABLED, GOARCH, -ldflags …). */
  buildSettings?: Record<string, string>
  /** The main module path, e.g. "github.com/acme/orders". */
  mainModule?: string
  /** Path of the memory cgroup, relative to its hierarchy root. */
  cgroupPath?: string
  /** Where the facts came from, in order: '/proc/4242/exe', '/proc/4242/environ', … */
  sources: string[]
}

/** A Go release as numbers, for comparisons. go1.21rc2 → {major:1, minor:21, patch:0}. */
export interface GoVersion {
  major: number
  minor: number
  patch: number
}

export function parseGoVersion(text: string | undefined): GoVersion | undefined {
  const match = /go(\d+)\.(\d+)(?:\.(\d+))?/.exec(text ?? '')
  if (!match) return undefined
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) }
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareGoVersions(a: GoVersion, b: GoVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch
}

/** True when `version` is at least goX.Y(.Z). */
export function goAtLeast(version: GoVersion, minor: number, patch = 0): boolean {
  return compareGoVersions(version, { major: 1, minor, patch }) >= 0
}

/**
 * The value a GODEBUG key takes in the running process: the environment wins over the binary's
 * DefaultGODEBUG, as the runtime applies them (runtime1.go parsedebugvars). Later entries win.
 */
export function godebugValue(facts: TargetFacts, key: string): string | undefined {
  let value: string | undefined
  for (const list of [facts.defaultGodebug, facts.godebug]) {
    for (const pair of (list ?? '').split(',')) {
      const [k, v] = pair.split('=')
      if (k?.trim() === key && v !== undefined) value = v.trim()
    }
  }
  return value
}

/** The Linux release as numbers: "6.1.0-18-amd64" → [6, 1]. */
export function parseKernelVersion(release: string | undefined): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(release ?? '')
  return match ? [Number(match[1]), Number(match[2])] : undefined
}
