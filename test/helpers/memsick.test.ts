import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { test } from 'node:test'
import { GO_RELEASES, goCommand } from '../../src/demo/go-toolchains.ts'
import {
  buildMemsick,
  GO_BUILDS,
  type GoBuildName,
  memsickBinary,
  startScenario,
} from './memsick.ts'

// These tests validate the scenarios themselves, so they read /proc and /debug/vars directly
// rather than through gomemdoctor's parsers.
const MiB = 2 ** 20
const GiB = 2 ** 30

/** A `Key:  123 kB` field of a /proc file, in bytes (the kernel's kB is KiB). */
async function procField(
  pid: number,
  file: 'status' | 'smaps_rollup',
  key: string,
): Promise<number> {
  const text = await readFile(`/proc/${pid}/${file}`, 'utf8')
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)
  assert.ok(m?.[1], `no ${key} line in /proc/${pid}/${file}`)
  return Number(m[1]) * 1024
}

interface MemStats {
  HeapAlloc: number
  HeapIdle: number
  HeapReleased: number
}

async function debugVars(url: string): Promise<{ memstats: MemStats; memsick: unknown }> {
  const response = await fetch(`${url}/debug/vars`)
  assert.equal(response.status, 200)
  return (await response.json()) as { memstats: MemStats; memsick: unknown }
}

test('builds one binary per Go build and returns the same path to concurrent callers', async () => {
  const [a, b] = await Promise.all([buildMemsick('go1.26'), buildMemsick('go1.26')])
  assert.equal(a, memsickBinary('go1.26'))
  assert.equal(b, memsickBinary('go1.26'))
  assert.ok((await stat(a)).mode & 0o100, 'the binary is executable')
})

for (const [name, build] of Object.entries(GO_BUILDS) as [
  GoBuildName,
  (typeof GO_BUILDS)[GoBuildName],
][]) {
  test(`${name}: built by ${GO_RELEASES[build.release]} from a go ${build.goLine} module, as go version -m says`, async () => {
    const binary = await buildMemsick(name)
    // The toolchain's own `go version -m`, independent of gomemdoctor's build-info parser.
    const go = goCommand(build.release)
    const info = execFileSync(go.command, ['version', '-m', binary], {
      encoding: 'utf8',
      env: { ...process.env, ...go.env },
    })
    // A build with an experiment says so in its version: go1.26.8-X:goroutineleakprofile.
    const experiment = 'goexperiment' in build ? build.goexperiment : undefined
    const version = GO_RELEASES[build.release] + (experiment ? `-X:${experiment}` : '')
    assert.match(info, new RegExp(`^${binary}: ${version}\\n`))
    assert.equal(/\tbuild\tGOEXPERIMENT=(\S+)/.exec(info)?.[1], experiment, info)
    const defaults = /DefaultGODEBUG=(\S+)/.exec(info)?.[1] ?? ''
    // A module behind its toolchain keeps the old defaults; Go 1.25 made names the default.
    assert.equal(defaults.includes('decoratemappings=0'), build.goLine === '1.24', defaults)
  })
}

test('starts healthy and reports READY with a reachable /debug/vars', async t => {
  const s = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => s.stop())
  assert.equal(s.pid, s.child.pid)
  assert.match(s.addr, /^127\.0\.0\.1:\d+$/)
  assert.equal(s.url, `http://${s.addr}`)
  const vars = await debugVars(s.url)
  assert.deepEqual(vars.memsick, { scenario: 'healthy', control: false, ready: true })
  assert.ok(vars.memstats.HeapAlloc > 40 * MiB, `HeapAlloc ${vars.memstats.HeapAlloc}`)
  assert.ok(vars.memstats.HeapAlloc < 256 * MiB, `HeapAlloc ${vars.memstats.HeapAlloc}`)
  const goroutines = await (await fetch(`${s.url}/debug/pprof/goroutine?debug=1`)).text()
  assert.match(goroutines, /^goroutine profile: total \d+/)
})

test('madv-free-retention under madvdontneed=0 holds about 1 GiB as LazyFree', async t => {
  const s = await startScenario('madv-free-retention', {
    go: 'go1.19',
    env: { GODEBUG: 'madvdontneed=0' },
  })
  t.after(() => s.stop())
  const lazyFree = await procField(s.pid, 'smaps_rollup', 'LazyFree')
  const rss = await procField(s.pid, 'status', 'VmRSS')
  const { memstats } = await debugVars(s.url)
  // Light churn after READY reuses a few MiB of the spike, hence the lower bound below 1 GiB.
  assert.ok(lazyFree > 0.9 * GiB && lazyFree < 1.1 * GiB, `LazyFree ${lazyFree}`)
  assert.ok(rss > lazyFree, `VmRSS ${rss} should include LazyFree ${lazyFree}`)
  assert.ok(memstats.HeapReleased > 0.9 * GiB, `HeapReleased ${memstats.HeapReleased}`)
})

test('the control under madvdontneed=1 keeps RSS well below the spike', async t => {
  const s = await startScenario('madv-free-retention', {
    go: 'go1.19',
    control: true,
    env: { GODEBUG: 'madvdontneed=1' },
  })
  t.after(() => s.stop())
  const rss = await procField(s.pid, 'status', 'VmRSS')
  const lazyFree = await procField(s.pid, 'smaps_rollup', 'LazyFree')
  const { memstats } = await debugVars(s.url)
  assert.ok(rss < 256 * MiB, `VmRSS ${rss}`)
  assert.ok(lazyFree < 16 * MiB, `LazyFree ${lazyFree}`)
  // The same workload: the runtime released just as much.
  assert.ok(memstats.HeapReleased > 0.9 * GiB, `HeapReleased ${memstats.HeapReleased}`)
})

test('scavenger-lag leaves the spike idle and unreleased, and its control does not', async t => {
  const idle = async (control: boolean) => {
    const s = await startScenario('scavenger-lag', { go: 'go1.26', control })
    t.after(() => s.stop())
    const { memstats } = await debugVars(s.url)
    await s.stop()
    return memstats.HeapIdle - memstats.HeapReleased
  }
  const positive = await idle(false)
  assert.ok(positive > 0.5 * GiB, `HeapIdle - HeapReleased ${positive}`)
  const control = await idle(true)
  assert.ok(control < 64 * MiB, `control HeapIdle - HeapReleased ${control}`)
})

test('goroutine-leak parks 10k goroutines in main.leakyWorker and keeps adding', async t => {
  const s = await startScenario('goroutine-leak', { go: 'go1.26' })
  t.after(() => s.stop())
  const total = async () => {
    const text = await (await fetch(`${s.url}/debug/pprof/goroutine?debug=1`)).text()
    assert.match(text, /main\.leakyWorker/)
    return Number(/^goroutine profile: total (\d+)/.exec(text)?.[1])
  }
  const before = await total()
  await new Promise(resolve => setTimeout(resolve, 500))
  const after = await total()
  assert.ok(before >= 10_000, `${before} goroutines`)
  assert.ok(after - before >= 50, `${before} then ${after} goroutines half a second later`)
})

test('stop() ends the process with exit code 0, and a second stop() is a no-op', async () => {
  const s = await startScenario('healthy', { go: 'go1.26', args: ['--live-mib', '8'] })
  await s.stop()
  assert.equal(s.child.exitCode, 0)
  assert.equal(existsSync(`/proc/${s.pid}`), false)
  await s.stop()
})

test("rejects an unknown scenario with memsick's own message", async () => {
  await assert.rejects(
    startScenario('no-such-cause', { go: 'go1.26' }),
    /unknown scenario "no-such-cause"/,
  )
})
