// A real Prometheus (Debian's /usr/bin/prometheus) for the fleet tests, and the client_golang
// fleet member it scrapes (testprograms/fleetfixture). Each Prometheus gets a free port on
// 127.0.0.1, its own temporary data directory (optionally seeded with backfilled blocks) and a
// 1 s scrape interval; stop() ends it and removes the directory.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
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

const FIXTURE_DIR = join(ROOT, 'testprograms', 'fleetfixture')
export const FLEET_FIXTURE = join(ROOT, 'build', 'fleetfixture')

/**
 * Builds testprograms/fleetfixture unless up to date: Debian's client_golang in GOPATH mode,
 * by Debian's Go 1.19, which that package is built for.
 */
export async function buildFleetFixture(): Promise<string> {
  const built = await stat(FLEET_FIXTURE).catch(() => undefined)
  const source = await stat(join(FIXTURE_DIR, 'main.go'))
  if (built && built.mtimeMs >= source.mtimeMs) return FLEET_FIXTURE
  const go = goCommand('1.19')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...go.env,
    GO111MODULE: 'off',
    GOPATH: '/usr/share/gocode',
  }
  if (!env.GOCACHE && !env.HOME) env.GOCACHE = join(ROOT, 'build', 'go-cache')
  const tmp = `${FLEET_FIXTURE}.${process.pid}.tmp`
  execFileSync(go.command, ['build', '-o', tmp, './testprograms/fleetfixture'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  execFileSync('mv', [tmp, FLEET_FIXTURE])
  return FLEET_FIXTURE
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
): Promise<FleetMember> {
  const binary = await buildFleetFixture()
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
