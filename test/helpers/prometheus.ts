// A real Prometheus (Debian's /usr/bin/prometheus) for the fleet tests, and the client_golang
// fleet member it scrapes (testprograms/fleetfixture), on Debian's client_golang or today's. Each Prometheus gets a free port on
// 127.0.0.1, its own temporary data directory (optionally seeded with backfilled blocks) and a
// 1 s scrape interval; stop() ends it and removes the directory.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { goCommand } from '../../src/demo/go-toolchains.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PROMETHEUS = '/usr/bin/prometheus'
export const PROMTOOL = '/usr/bin/promtool'

export interface RunningPrometheus {
  url: string
  dataDir: string
  stop(): Promise<void>
}

export interface PrometheusOptions {
  /** Scrape targets (host:port) by job name. */
  jobs?: Record<string, readonly string[]>
  /** Target labels by job name (an `instance` here replaces host:port as the instance label). */
  labels?: Record<string, Record<string, string>>
  /** A directory of TSDB blocks (promtool's output) copied into the data directory first. */
  blocksFrom?: string
  scrapeIntervalS?: number
  /** More prometheus flags, e.g. ['--query.max-samples=20000']. */
  args?: readonly string[]
}

/** Children not yet stopped; killed when this process exits, so none outlives a test file. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}

/** Starts Prometheus and resolves once /-/ready answers 200 (about 0.2 s with an empty TSDB). */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-prometheus-'))
  const dataDir = join(dir, 'data')
  if (options.blocksFrom) await cp(options.blocksFrom, dataDir, { recursive: true })
  const interval = options.scrapeIntervalS ?? 1
  const jobs = Object.entries(options.jobs ?? {})
  const config = [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    'scrape_configs:',
    ...jobs.flatMap(([job, targets]) => [
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
      ...(options.labels?.[job] ? [`        labels: ${JSON.stringify(options.labels[job])}`] : []),
    ]),
  ].join('\n')
  await writeFile(join(dir, 'prometheus.yml'), `${config}\n`)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled blocks are older than the default 15 days.
      '--storage.tsdb.retention.time=100y',
      '--log.level=warn',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  running.add(child)
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => {
      running.delete(child)
      resolve()
    }),
  )
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      await rm(dir, { recursive: true, force: true })
    })()
    return stopping
  }
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return { url, dataDir, stop }
    } catch {
      // Not listening yet: poll again.
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await stop()
  throw new Error(`prometheus did not become ready:\n${stderr}`)
}

/** Waits until Prometheus has scraped every target at least `samples` times. */
export async function waitForScrapes(
  prometheus: RunningPrometheus,
  targets: number,
  samples: number,
): Promise<void> {
  const deadline = Date.now() + 60_000
  const query = encodeURIComponent(`count(count_over_time(go_info[5m]) >= ${samples})`)
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
      data?: { result?: { value?: [number, string] }[] }
    }
    const count = Number(body.data?.result?.[0]?.value?.[1] ?? 0)
    if (count >= targets) return
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  throw new Error(`Prometheus did not scrape ${targets} targets ${samples} times within a minute`)
}

/**
 * The client_golang a fixture is built against: Debian's package (1.14, GOPATH source, built by
 * Debian's Go 1.19, which it is packaged for) or today's from the Go module proxy
 * (testprograms/go.mod and go.sum, module mode, Go 1.26; scripts/setup.sh downloads it).
 */
export type ClientGolang = 'debian' | 'modern'
export const CLIENT_GOLANGS: readonly ClientGolang[] = ['debian', 'modern']

/** The client_golang version a build uses, for test names: 1.14.0, or testprograms/go.mod's. */
export function clientGolangVersion(client: ClientGolang): string {
  if (client === 'debian') {
    // Debian's package version (1.14.0-3) is client_golang's, and dpkg is what installed it.
    const query = ['-W', '-f', '$' + '{Version}', 'golang-github-prometheus-client-golang-dev']
    return execFileSync('dpkg-query', query).toString().replace(/-.*$/, '')
  }
  const mod = readFileSync(join(ROOT, 'testprograms', 'go.mod'), 'utf8')
  const version = /^require github\.com\/prometheus\/client_golang v(\S+)$/m.exec(mod)?.[1]
  if (!version) throw new Error('testprograms/go.mod requires no client_golang')
  return version
}

const building = new Map<string, Promise<string>>()

/**
 * Builds testprograms/<program> against `client` into build/<program>[-modern] unless the binary
 * is newer than its source (and, in module mode, go.mod and go.sum). Concurrent callers share
 * one build.
 */
export function buildClientGolangFixture(
  program: 'promfixture' | 'fleetfixture',
  client: ClientGolang,
): Promise<string> {
  const key = `${program}-${client}`
  let build = building.get(key)
  if (!build) {
    build = buildIfStale(program, client).catch((error: unknown) => {
      building.delete(key)
      throw error
    })
    building.set(key, build)
  }
  return build
}

async function buildIfStale(program: string, client: ClientGolang): Promise<string> {
  const binary = join(ROOT, 'build', client === 'debian' ? program : `${program}-modern`)
  const sources = [join(ROOT, 'testprograms', program, 'main.go')]
  if (client === 'modern')
    sources.push(join(ROOT, 'testprograms', 'go.mod'), join(ROOT, 'testprograms', 'go.sum'))
  const built = await stat(binary).catch(() => undefined)
  const newest = Math.max(...(await Promise.all(sources.map(async f => (await stat(f)).mtimeMs))))
  if (built && built.mtimeMs >= newest) return binary
  await mkdir(join(ROOT, 'build'), { recursive: true })
  const go = goCommand(client === 'debian' ? '1.19' : '1.26')
  const env: NodeJS.ProcessEnv = { ...process.env, ...go.env }
  if (!env.GOCACHE && !env.HOME) env.GOCACHE = join(ROOT, 'build', 'go-cache')
  const tmp = `${binary}.${process.pid}.tmp`
  if (client === 'debian') {
    Object.assign(env, { GO111MODULE: 'off', GOPATH: '/usr/share/gocode' })
    execFileSync(go.command, ['build', '-o', tmp, `./testprograms/${program}`], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  } else {
    // The modules are in the cache (scripts/setup.sh); go.mod and go.sum are never rewritten.
    env.GOFLAGS = '-mod=readonly'
    execFileSync(go.command, ['build', '-o', tmp, `./${program}`], {
      cwd: join(ROOT, 'testprograms'),
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  }
  await rename(tmp, binary)
  return binary
}

/** testprograms/fleetfixture on Debian's client_golang (the fleet tests' default). */
export const FLEET_FIXTURE = join(ROOT, 'build', 'fleetfixture')

export function buildFleetFixture(client: ClientGolang = 'debian'): Promise<string> {
  return buildClientGolangFixture('fleetfixture', client)
}

export interface FleetMember {
  pid: number
  addr: string
  stop(): void
}

/**
 * Starts one fleet member and resolves at its READY line. Its stdin stays open: when this process
 * dies, the member sees EOF and exits. GODEBUG and friends come only from `env`.
 */
export async function startFleetMember(
  scenario: string,
  env: Record<string, string> = {},
  args: readonly string[] = [],
  client: ClientGolang = 'debian',
): Promise<FleetMember> {
  const binary = await buildFleetFixture(client)
  const clean: NodeJS.ProcessEnv = { ...process.env }
  for (const knob of ['GODEBUG', 'GOGC', 'GOMEMLIMIT', 'GOMAXPROCS']) delete clean[knob]
  const child = spawn(binary, [...args, scenario], {
    env: { ...clean, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  for await (const line of createInterface({ input: child.stdout })) {
    const ready = /^READY pid=(\d+) addr=(\S+) scenario=/.exec(line)
    if (ready) {
      return {
        pid: Number(ready[1]),
        addr: ready[2] as string,
        stop: () => {
          child.stdin.end()
          child.kill('SIGTERM')
        },
      }
    }
  }
  throw new Error(`fleetfixture ${scenario} exited before READY`)
}
