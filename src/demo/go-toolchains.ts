// Which Go builds each of the project's Go programs, named, never assumed: `go` on PATH may be any
// release (Go 1.26.8 on the project's machines, Debian's golang-go 1.19 elsewhere). Tests,
// captures and `demo --live` pick a build from GO_BUILDS; each resolves to an exact toolchain.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { INSTALL_ROOT } from '../install-root.ts'

/** The Go releases the project proves its diagnosis on, each pinned to one patch release. */
export const GO_RELEASES = {
  /** Debian's golang-1.19-go: the MADV_FREE era's runtime (GODEBUG=madvdontneed=0 reproduces it). */
  '1.19': 'go1.19.8',
  /** Green Tea GC by default, randomised heap base, named mappings (kernel permitting). */
  '1.26': 'go1.26.8',
  /** The goroutine leak profile always served; through the module proxy (GOTOOLCHAIN). */
  '1.27': 'go1.27.3',
} as const
export type GoRelease = keyof typeof GO_RELEASES

/**
 * A Go program build: the toolchain, and the `go` line of the main module, which sets the
 * binary's DefaultGODEBUG (a go 1.24 module built by Go 1.26 gets decoratemappings=0, so its
 * mappings stay unnamed).
 */
export interface GoBuild {
  release: GoRelease
  goLine: string
  /** GOEXPERIMENT at build time, for a runtime feature the release keeps behind an experiment. */
  goexperiment?: string
}

export const GO_BUILDS = {
  'go1.19': { release: '1.19', goLine: '1.19' },
  'go1.26': { release: '1.26', goLine: '1.26' },
  /** Go 1.26 from a module still on go 1.24: no mapping names, today's runtime otherwise. */
  'go1.26-line1.24': { release: '1.26', goLine: '1.24' },
  /**
   * Go 1.26 with the goroutine leak profile (/debug/pprof/goroutineleak), an experiment in 1.26
   * and always served from 1.27. Only the goroutine-leak tests run on it; no other capture.
   */
  'go1.26-leakprofile': { release: '1.26', goLine: '1.26', goexperiment: 'goroutineleakprofile' },
  'go1.27': { release: '1.27', goLine: '1.27' },
} as const satisfies Record<string, GoBuild>
export type GoBuildName = keyof typeof GO_BUILDS

/**
 * The builds every finding's scenario and control run on in the end-to-end tests. Go 1.27 joins
 * them when GOMEMDOCTOR_E2E_GO says so (`GOMEMDOCTOR_E2E_GO=go1.19,go1.26,go1.27 npm test`).
 */
export function e2eGoBuilds(): GoBuildName[] {
  const wanted = process.env.GOMEMDOCTOR_E2E_GO
  if (!wanted) return ['go1.19', 'go1.26', 'go1.27']
  const names = wanted.split(',').map(s => s.trim())
  for (const name of names) {
    if (!(name in GO_BUILDS)) throw new Error(`GOMEMDOCTOR_E2E_GO: unknown Go build ${name}`)
  }
  return names as GoBuildName[]
}

/** How to run one exact toolchain: the command and the environment it needs. */
export interface GoCommand {
  version: string
  command: string
  env: Record<string, string>
}

/** Debian's golang-1.19-go installs here; its `go` is never on PATH by itself. */
const GO_119 = '/usr/lib/go-1.19/bin/go'
/** scripts/setup.sh fetches Go 1.26 from the module proxy here when no Go ≥ 1.21 is on PATH. */
const FETCHED_DRIVER = join(INSTALL_ROOT, 'build', 'toolchains', 'go1.26.8', 'bin', 'go')

const resolved = new Map<GoRelease, GoCommand>()

/**
 * The command that runs exactly `release`'s toolchain. Go 1.19 is Debian's; Go 1.26 and 1.27
 * come through the module proxy, selected with GOTOOLCHAIN by any Go ≥ 1.21 (which runs itself
 * when it already is that version). Throws a one-line reason when it cannot be had.
 */
export function goCommand(release: GoRelease): GoCommand {
  const known = resolved.get(release)
  if (known) return known
  const version = GO_RELEASES[release]
  let command: GoCommand
  if (release === '1.19') {
    if (!existsSync(GO_119))
      throw new Error(`${version} not found at ${GO_119}: apt-get install golang-1.19-go`)
    command = { version, command: GO_119, env: { GOTOOLCHAIN: 'local' } }
  } else {
    const driver = toolchainDriver()
    if (!driver)
      throw new Error(
        `${version} needs a Go ≥ 1.21 to fetch it through the module proxy, and none is on PATH or in build/toolchains: run scripts/setup.sh`,
      )
    command = { version, command: driver, env: { GOTOOLCHAIN: version } }
  }
  const reported = goVersionOf(command)
  if (reported !== version)
    throw new Error(
      `${command.command} with GOTOOLCHAIN=${command.env.GOTOOLCHAIN} is ${reported}, not ${version}`,
    )
  resolved.set(release, command)
  return command
}

/** A `go` that understands GOTOOLCHAIN (Go ≥ 1.21): PATH's, else the one setup.sh fetched. */
function toolchainDriver(): string | undefined {
  for (const candidate of ['go', FETCHED_DRIVER]) {
    const minor = /^go1\.(\d+)/.exec(
      goVersionOf({ version: '', command: candidate, env: { GOTOOLCHAIN: 'local' } }),
    )
    if (minor && Number(minor[1]) >= 21) return candidate
  }
  return undefined
}

/** `go env GOVERSION` of a command, or '' when it does not run. */
function goVersionOf(go: GoCommand): string {
  try {
    return execFileSync(go.command, ['env', 'GOVERSION'], {
      encoding: 'utf8',
      env: { ...process.env, ...go.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    }).trim()
  } catch {
    return ''
  }
}
