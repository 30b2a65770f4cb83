/** Facts about the target that do not change while it runs: read once, at the start. */
export interface TargetFacts {
  pid?: number
  url?: string
  /** The process name from /proc/PID/status (comm). */
  name?: string
  /** From the binary's .go.buildinfo, e.g. "go1.19.8", or client_golang's go_info. */
  goVersion?: string
  /** Where goVersion was read: '/proc/4242/exe', a /metrics URL, a Prometheus query. */
  goVersionSource?: string
  /** GODEBUG from /proc/PID/environ; absent when unset or unreadable (then godebugUnknown). */
  godebug?: string
  /** True when the environment could not be read, so an absent GODEBUG means "unknown", not "unset". */
  godebugUnknown?: boolean
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
 * True when the target can have GOMEMLIMIT (Go ≥ 1.19). An unknown version counts as one that
 * can: the fixes then name GOMEMLIMIT, which is what most Go in production runs today.
 */
export function hasMemoryLimit(version: GoVersion | undefined): boolean {
  return !version || goAtLeast(version, 19)
}

/** Where the target's GO* variables were read, for evidence: its environ, when it has a PID. */
export function environSource(facts: TargetFacts): string {
  return facts.pid === undefined ? 'the environment' : `/proc/${facts.pid}/environ`
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

/** How the runtime gives freed pages back to Linux, and why we think so. */
export interface ReleaseMode {
  mode: 'madv-free' | 'madv-dontneed' | 'unknown'
  why: string
}

/**
 * Go 1.12–1.15 release with MADV_FREE on Linux ≥ 4.5 unless GODEBUG=madvdontneed=1; Go ≥ 1.16
 * uses MADV_DONTNEED unless GODEBUG=madvdontneed=0; Go ≤ 1.11 always used MADV_DONTNEED.
 * Reference: go1.12 and go1.16 release notes; runtime/mem_linux.go sysUnusedOS (go1.19).
 */
export function releaseMode(facts: TargetFacts): ReleaseMode {
  const kernel = parseKernelVersion(facts.kernel)
  if (kernel && (kernel[0] < 4 || (kernel[0] === 4 && kernel[1] < 5))) {
    return { mode: 'madv-dontneed', why: `Linux ${facts.kernel} has no MADV_FREE (added in 4.5)` }
  }
  const version = parseGoVersion(facts.goVersion)
  const setting = godebugValue(facts, 'madvdontneed')
  if (!version) {
    if (setting === '1') return { mode: 'madv-dontneed', why: 'GODEBUG has madvdontneed=1' }
    return { mode: 'unknown', why: 'Go version unknown' }
  }
  if (!goAtLeast(version, 12)) {
    return { mode: 'madv-dontneed', why: `${facts.goVersion} predates MADV_FREE (Go 1.12)` }
  }
  if (setting === '1') return { mode: 'madv-dontneed', why: 'GODEBUG has madvdontneed=1' }
  if (setting === '0') return { mode: 'madv-free', why: 'GODEBUG has madvdontneed=0' }
  if (!goAtLeast(version, 16)) {
    return { mode: 'madv-free', why: `${facts.goVersion} uses MADV_FREE by default (Go 1.12–1.15)` }
  }
  if (facts.godebugUnknown) {
    return {
      mode: 'unknown',
      why: `GODEBUG unknown: ${facts.goVersion} uses MADV_DONTNEED unless GODEBUG has madvdontneed=0`,
    }
  }
  return {
    mode: 'madv-dontneed',
    why: `${facts.goVersion} uses MADV_DONTNEED by default (Go ≥ 1.16)`,
  }
}

/** Where the Go version came from, for evidence: the recorded source, else the usual place. */
export function goVersionSourceOf(facts: TargetFacts): string {
  return (
    facts.goVersionSource ?? (facts.pid === undefined ? 'the binary' : `/proc/${facts.pid}/exe`)
  )
}

/**
 * The GOEXPERIMENTs the binary was built with: the GOEXPERIMENT build setting, else the version's
 * `X:` suffix (go1.26.8-X:goroutineleakprofile in build info, `go1.26.8 X:…` in runtime.Version()).
 */
export function goExperiments(facts: TargetFacts): string[] {
  const setting = facts.buildSettings?.GOEXPERIMENT
  const fromVersion = /X:(\S+)/.exec(facts.goVersion ?? '')?.[1]
  return (setting ?? fromVersion ?? '').split(',').filter(name => name !== '')
}

/**
 * Whether the target's Go serves /debug/pprof/goroutineleak: always from Go 1.27; Go 1.26 only
 * when built with GOEXPERIMENT=goroutineleakprofile ('experiment' when it was not); never before.
 * Reference: go1.26 and go1.27 release notes (runtime/pprof).
 */
export function leakProfileSupport(
  facts: TargetFacts,
): 'served' | 'needs-experiment' | 'none' | 'unknown' {
  const version = parseGoVersion(facts.goVersion)
  if (!version) return 'unknown'
  if (goAtLeast(version, 27)) return 'served'
  if (!goAtLeast(version, 26)) return 'none'
  return goExperiments(facts).includes('goroutineleakprofile') ? 'served' : 'needs-experiment'
}

/**
 * True when the target runs the Green Tea garbage collector: the default from Go 1.26 (off with
 * GOEXPERIMENT=nogreenteagc), an experiment in Go 1.25 (GOEXPERIMENT=greenteagc). An unknown
 * version counts as Green Tea: what most Go built today runs. Reference: go1.25, go1.26 notes.
 */
export function greenTeaGC(facts: TargetFacts): boolean {
  const version = parseGoVersion(facts.goVersion)
  if (!version) return true
  const experiments = goExperiments(facts)
  if (goAtLeast(version, 26)) return !experiments.includes('nogreenteagc')
  return goAtLeast(version, 25) && experiments.includes('greenteagc')
}
