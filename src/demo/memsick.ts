// Builds and starts testprograms/memsick, the Go program that reproduces each finding for real
// (STYLE.md 6.4). Tests name the Go that builds it:
//   const s = await startScenario('madv-free-retention', { go: 'go1.26', env: { GODEBUG: 'madvdontneed=0' } })
//   t.after(() => s.stop())
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errorCode, UsageError } from '../errors.ts'
import { INSTALL_ROOT } from '../install-root.ts'
import { GO_BUILDS, type GoBuild, type GoBuildName, goCommand } from './go-toolchains.ts'

const ROOT = INSTALL_ROOT
const SOURCE_DIR = join(ROOT, 'testprograms', 'memsick')
const BUILD_DIR = join(ROOT, 'build', 'memsick')

/**
 * Which Go builds memsick: one of GO_BUILDS (tests and captures, always named), or 'path' for
 * whatever `go` is on PATH with the source's own go.mod (`demo --live` on a user's machine).
 */
export type MemsickGo = GoBuildName | 'path'

/** Where buildMemsick puts the binary of one Go build (`/build/` is gitignored). */
export function memsickBinary(go: MemsickGo): string {
  return join(BUILD_DIR, go, 'memsick')
}

const READY_LINE = /^READY pid=(\d+) addr=(\S+) scenario=(\S+) control=(true|false)$/
const STDERR_TAIL_CHARS = 4000
const STOP_GRACE_MS = 5000

/**
 * The Go runtime's memory settings are the scenario's business: they are removed from the
 * inherited environment, so a GODEBUG in the developer's shell cannot change what a test sees.
 */
const RUNTIME_KNOBS = ['GODEBUG', 'GOGC', 'GOMEMLIMIT', 'GOMAXPROCS']

export interface ScenarioOptions {
  /** The Go that builds memsick. */
  go: MemsickGo
  /** Run the scenario's control (`--control`): the same workload with the cause removed. */
  control?: boolean
  /** Variables for the Go runtime, e.g. `{ GODEBUG: 'madvdontneed=0' }`. */
  env?: Record<string, string>
  /** More memsick flags, e.g. `['--spike-mib', '256']`; they win over the ones set here. */
  args?: readonly string[]
  /** How long to wait for the READY line; 60 s by default. */
  readyTimeoutMs?: number
}

export interface RunningScenario {
  pid: number
  /** `host:port` of the scenario's HTTP server. */
  addr: string
  /** `http://host:port`, serving /debug/pprof/ and /debug/vars. */
  url: string
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
  child: ChildProcess
}

const building = new Map<MemsickGo, Promise<string>>()

/**
 * Builds memsick with `go` into build/memsick/<go>/memsick unless the binary is newer than every
 * source, and returns its path. Concurrent callers are safe: each build writes its own temporary
 * file and renames it into place, which is atomic, so no caller ever runs a half-written binary.
 */
export function buildMemsick(go: MemsickGo): Promise<string> {
  let build = building.get(go)
  if (!build) {
    build = buildIfStale(go).catch((error: unknown) => {
      building.delete(go)
      throw error
    })
    building.set(go, build)
  }
  return build
}

async function buildIfStale(go: MemsickGo): Promise<string> {
  const binary = memsickBinary(go)
  const built = await mtimeMs(binary)
  if (built !== undefined && built >= (await newestSourceMs(SOURCE_DIR))) return binary
  const dir = join(BUILD_DIR, go)
  await mkdir(dir, { recursive: true })
  // The binary is stamped with the time the build started, so a source saved during the build
  // is newer than the binary and triggers the next build.
  const startedAt = new Date()
  const tmp = join(dir, `memsick.${process.pid}.${randomUUID()}.tmp`)
  try {
    await goBuild(go, dir, tmp)
    await utimes(tmp, startedAt, startedAt)
    await rename(tmp, binary)
  } finally {
    await rm(tmp, { force: true })
  }
  return binary
}

async function goBuild(go: MemsickGo, dir: string, out: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Go needs a cache directory; without HOME (some CI sandboxes) it has none.
  if (!env.GOCACHE && !env.XDG_CACHE_HOME && !env.HOME)
    env.GOCACHE = join(ROOT, 'build', 'go-cache')
  let command = 'go'
  const args = ['build', '-o', out]
  if (go !== 'path') {
    const build: GoBuild = GO_BUILDS[go]
    const toolchain = goCommand(build.release)
    command = toolchain.command
    Object.assign(env, toolchain.env)
    // A GOEXPERIMENT in the developer's shell must not change what a build is.
    if (build.goexperiment) env.GOEXPERIMENT = build.goexperiment
    else delete env.GOEXPERIMENT
    const { goLine } = build
    // The go line sets the binary's DefaultGODEBUG; the source keeps the oldest (go 1.19), and
    // each build gets its own module file instead of an edited copy of the sources.
    const modfile = join(dir, 'go.mod')
    await writeFile(modfile, `module memsick\n\ngo ${goLine}\n`)
    args.push(`-modfile=${modfile}`)
  }
  args.push('.')
  const first = await run(command, args, env)
  if (first.code === 0) return
  // Without a C compiler only the cgo scenario (non-go-memory) is lost: build the rest.
  if (/gcc|C compiler|cgo/.test(first.stderr)) {
    const second = await run(command, args, { ...env, CGO_ENABLED: '0' })
    if (second.code === 0) return
  }
  throw new Error(
    `${command} build in testprograms/memsick (${go}) failed (exit ${first.code}):\n${first.stderr}`,
  )
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: SOURCE_DIR,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk
    })
    child.once('error', error => {
      reject(
        errorCode(error) === 'ENOENT'
          ? new UsageError(
              'go not found: install it (apt-get install golang-go, or run scripts/setup.sh), or run `demo` without --live',
            )
          : error,
      )
    })
    child.once('close', (code, signal) =>
      resolve({ code: code ?? 128, stderr: stderr || `${signal}` }),
    )
  })
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs
  } catch (error) {
    // A missing binary is the normal "never built" case; anything else is a real problem.
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

async function newestSourceMs(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, await newestSourceMs(path))
    else if (/\.go$|^go\.(mod|sum)$/.test(entry.name))
      newest = Math.max(newest, (await stat(path)).mtimeMs)
  }
  return newest
}

/** Children not yet stopped; killed when this process exits, so none outlives a test file. */
const running = new Set<ChildProcess>()
let killOnExit = false

function track(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
  if (killOnExit) return
  killOnExit = true
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL')
  })
}

/**
 * Starts memsick in scenario `id` and resolves once it printed READY, that is once the symptom
 * is established. The process keeps its stdin open with `--exit-on-stdin-close`, so it also ends
 * when this process dies by SIGKILL. Rejects, with the tail of memsick's stderr, when memsick
 * exits or stays silent for `readyTimeoutMs`.
 */
export async function startScenario(
  id: string,
  options: ScenarioOptions,
): Promise<RunningScenario> {
  const binary = await buildMemsick(options.go)
  const timeoutMs = options.readyTimeoutMs ?? 60_000
  const env = { ...process.env }
  for (const knob of RUNTIME_KNOBS) delete env[knob]
  Object.assign(env, options.env)
  const args = [
    id,
    ...(options.control ? ['--control'] : []),
    '--exit-on-stdin-close',
    // memsick gives up a little earlier than we do, so its own reason reaches the error.
    `--ready-timeout=${Math.max(1000, timeoutMs - 2000)}ms`,
    ...(options.args ?? []),
  ]
  const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  track(child)

  let stderrTail = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS)
  })
  const tail = () => (stderrTail ? `; memsick's stderr ends:\n${stderrTail.trimEnd()}` : '')

  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.ref()
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      await exited
      clearTimeout(killer)
    })()
    return stopping
  }

  const ready = await new Promise<{ pid: number; addr: string }>((resolve, reject) => {
    let stdout = ''
    const onData = (chunk: string) => {
      stdout += chunk
      for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
        const line = stdout.slice(0, nl)
        stdout = stdout.slice(nl + 1)
        const m = READY_LINE.exec(line)
        if (!m?.[1] || !m[2]) continue
        if (m[3] !== id || (m[4] === 'true') !== (options.control === true)) {
          return settle(new Error(`memsick ${id}: READY line for another run: ${line}`))
        }
        return settle(undefined, { pid: Number(m[1]), addr: m[2] })
      }
    }
    const onError = (error: Error) => settle(new Error(`memsick ${id}: ${error.message}`))
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(new Error(`memsick ${id} exited (${code ?? signal}) before READY${tail()}`))
    const timer = setTimeout(
      () => settle(new Error(`memsick ${id}: no READY line within ${timeoutMs} ms${tail()}`)),
      timeoutMs,
    )
    function settle(error: Error | undefined, value?: { pid: number; addr: string }) {
      clearTimeout(timer)
      child.stdout.off('data', onData)
      child.off('error', onError)
      child.off('exit', onExit)
      if (error || !value) {
        child.kill('SIGKILL')
        reject(error)
      } else resolve(value)
    }
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', onData)
    child.once('error', onError)
    child.once('exit', onExit)
  })

  // From here on a test that forgets stop() must not keep its process alive: the 'exit' hook
  // above (or stdin EOF) ends memsick when the test process ends. stop() takes a ref again.
  child.stdout.resume()
  child.unref()
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    ;(stream as { unref?: () => void }).unref?.()
  }
  return { pid: ready.pid, addr: ready.addr, url: `http://${ready.addr}`, stop, child }
}
