// Builds and starts testprograms/pkgfixture, the small Go program of the packaging and
// namespace tests, plainly or as PID 1 of its own PID, network, mount and cgroup namespaces.
// Any Go from 1.19 on builds it; the tests name Go 1.26, the Go teams run today.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { goCommand } from '../../src/demo/go-toolchains.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SOURCE = join(ROOT, 'testprograms', 'pkgfixture')
const READY = /^READY pid=(\d+) addr=(\S+)$/m

let built: string | undefined

/** Builds the fixture once per test process, to a path of its own (no race with other files). */
export function buildPkgFixture(): string {
  if (built) return built
  const out = join(ROOT, 'build', 'pkgfixture', `pkgfixture-${process.pid}`)
  const go = goCommand('1.26')
  const env: NodeJS.ProcessEnv = { ...process.env, ...go.env, CGO_ENABLED: '0' }
  // Go needs a cache directory; without HOME (some CI sandboxes) it has none.
  if (!env.GOCACHE && !env.XDG_CACHE_HOME && !env.HOME)
    env.GOCACHE = join(ROOT, 'build', 'go-cache')
  const result = spawnSync(go.command, ['build', '-o', `${out}.tmp`, '.'], {
    cwd: SOURCE,
    env,
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`go build in ${SOURCE} failed: ${result.stderr}`)
  renameSync(`${out}.tmp`, out)
  built = out
  return out
}

export interface RunningFixture {
  /** The PID as the host sees it. */
  pid: number
  /** host:port as the fixture printed it (inside its network namespace, if it has one). */
  addr: string
  /** SIGTERM (the fixture handles it, PID 1 or not), SIGKILL after 5 s; resolves on exit. */
  stop(): Promise<void>
}

/** Starts the fixture as an ordinary child. */
export async function startPkgFixture(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<RunningFixture> {
  const child = spawn(buildPkgFixture(), [...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const { addr } = await readyLine(child)
  return { pid: child.pid ?? 0, addr, stop: () => stopChild(child, child.pid ?? 0) }
}

/** A v1 memory cgroup of the test's own, with `target` (limited) and `debugger` children. */
export interface TestCgroups {
  target: string
  debugger: string
  remove(): Promise<void>
}

/** The memory cgroup v1 directory of this process, or undefined without one. */
export function ownMemoryCgroup(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find(l => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l))
  const dir = line && join('/sys/fs/cgroup/memory', line.split(':')[2] ?? '/')
  return dir && existsSync(join(dir, 'memory.limit_in_bytes')) ? dir : undefined
}

export async function makeTestCgroups(parent: string, targetLimit: number): Promise<TestCgroups> {
  const base = join(parent, `gomemdoctor-ns-${randomUUID()}`)
  const target = join(base, 'target')
  const debuggerDir = join(base, 'debugger')
  await mkdir(target, { recursive: true })
  await mkdir(debuggerDir)
  await writeFile(join(target, 'memory.limit_in_bytes'), String(targetLimit))
  return {
    target,
    debugger: debuggerDir,
    remove: async () => {
      // A cgroup with processes cannot be removed: whatever is left goes to the parent first.
      for (const dir of [target, debuggerDir]) {
        for (const pid of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) {
          if (pid) await writeFile(join(parent, 'cgroup.procs'), pid).catch(() => {})
        }
      }
      for (const dir of [target, debuggerDir, base]) {
        for (let i = 0; ; i++) {
          try {
            await rmdir(dir)
            break
          } catch (error) {
            if (i >= 30) throw error
            await new Promise(resolve => setTimeout(resolve, 100))
          }
        }
      }
    },
  }
}

/**
 * What a container runtime does inside a container: a fresh /sys/fs/cgroup with the memory
 * hierarchy mounted from inside the container's cgroup namespace, so it is rooted at its cgroup.
 */
export const MOUNT_CONTAINER_CGROUPFS =
  'mount -t tmpfs cgroups /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && mount -t cgroup -o memory memory /sys/fs/cgroup/memory'

/**
 * Starts the fixture as a container would run it: in `cgroupDir`, then PID 1 of new PID,
 * network (loopback up, nothing else), mount and cgroup namespaces, with /proc and the cgroup
 * file system mounted inside them.
 */
export async function startInNamespaces(
  cgroupDir: string,
  args: readonly string[],
): Promise<RunningFixture & { unsharePid: number }> {
  const inside = `ip link set lo up && ${MOUNT_CONTAINER_CGROUPFS} && exec ${buildPkgFixture()} ${args.join(' ')}`
  const child = spawn(
    'sh',
    [
      '-c',
      'echo $$ > "$0/cgroup.procs" && exec unshare --pid --net --mount --cgroup --fork --mount-proc sh -c "$1"',
      cgroupDir,
      inside,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const { addr } = await readyLine(child)
  const unsharePid = child.pid ?? 0
  // unshare forked the namespace's PID 1 and waits for it: its only child.
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim()
  const pid = Number(children.split(/\s+/)[0])
  return { pid, addr, unsharePid, stop: () => stopChild(child, pid) }
}

function readyLine(child: ChildProcess): Promise<{ addr: string }> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`fixture not READY in 30 s: ${err}`)), 30_000)
    const check = () => {
      const match = READY.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve({ addr: match[2] ?? '' })
      }
    }
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      check()
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`fixture exited (${code}) before READY: ${err}`))
    })
    check()
  })
}

async function stopChild(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    // Already gone.
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** The value of a v1 cgroup file, as a number. */
export function cgroupNumber(dir: string, file: string): number {
  return Number(readFileSync(join(dir, file), 'utf8'))
}
