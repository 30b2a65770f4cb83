import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type CliRun, runCli, runJson } from '../helpers/cli.ts'
import { startScenario } from '../helpers/memsick.ts'

/** One clear line on stderr, and never a stack trace. */
function assertOneLine(run: CliRun, pattern: RegExp): void {
  const lines = run.err.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.err}`)
  assert.match(lines[0] ?? '', pattern)
  assert.doesNotMatch(run.err, /\n\s+at /)
}

/** A local HTTP server answering every request with `handler`; closed after the test. */
async function serve(
  t: { after(fn: () => unknown): void },
  handler: Parameters<typeof createServer>[1],
): Promise<string> {
  const server: Server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const address = server.address()
  assert.ok(address && typeof address === 'object')
  return `http://127.0.0.1:${address.port}`
}

test('a PID that does not exist exits 3 with one line', async () => {
  const run = await runCli('diagnose', '4194000')
  assert.equal(run.code, 3)
  assertOneLine(run, /no process with PID 4194000/)
})

test('a process that is not Go is refused with exit 2', async t => {
  const sleeper = spawn('sleep', ['30'])
  t.after(() => sleeper.kill())
  const run = await runCli('diagnose', String(sleeper.pid))
  assert.equal(run.code, 2)
  assertOneLine(run, new RegExp(`process ${sleeper.pid} \\(sleep\\) is not a Go program`))
})

test('a URL that refuses connections exits 3', async () => {
  // Listen, note the port, close: nothing listens there any more.
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address && typeof address === 'object')
  await new Promise(resolve => server.close(resolve))
  const run = await runCli('diagnose', `http://127.0.0.1:${address.port}`, '--duration', '1s')
  assert.equal(run.code, 3)
  assertOneLine(run, /connection refused/)
})

test('a URL on a port fetch refuses (6000, X11) says so, for a target and for Prometheus', async () => {
  const target = await runCli('diagnose', 'http://127.0.0.1:6000', '--duration', '1s')
  assert.equal(target.code, 3)
  assertOneLine(target, /127\.0\.0\.1:6000.*fetch will not connect to this port/)
  const prometheus = await runCli('fleet', '--prometheus', 'http://127.0.0.1:6000')
  assert.equal(prometheus.code, 3)
  assertOneLine(prometheus, /127\.0\.0\.1:6000.*fetch will not connect to this port/)
})

test('a URL that never answers times out with exit 3', async t => {
  const base = await serve(t, () => {
    // Accept and say nothing.
  })
  const run = await runCli('diagnose', base, '--http-timeout', '500ms')
  assert.equal(run.code, 3)
  assertOneLine(run, /no answer within 500 ms/)
})

test('a URL that answers 404 everywhere, or an HTML login page, says so and exits 3', async t => {
  const notFound = await serve(t, (_req, res) => {
    res.statusCode = 404
    res.end('404 page not found')
  })
  const run404 = await runCli('diagnose', notFound, '--duration', '1s')
  assert.equal(run404.code, 3)
  assertOneLine(
    run404,
    /serves no Go memory statistics \(\/metrics: HTTP 404; \/debug\/vars: HTTP 404; .*HTTP 404\)/,
  )

  const login = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end('<!DOCTYPE html><html><body><form>Sign in</form></body></html>')
  })
  const runHtml = await runCli('diagnose', login, '--duration', '1s')
  assert.equal(runHtml.code, 3)
  assertOneLine(runHtml, /serves no Go memory statistics .*HTML/)
})

test('a body that breaks off mid-way exits 3 naming the URL', async t => {
  const base = await serve(t, (_req, res) => {
    res.setHeader('content-length', '100000')
    res.write('{"memstats": {"Alloc": 1')
    setTimeout(() => res.destroy(), 50)
  })
  const run = await runCli('diagnose', base, '--duration', '1s')
  assert.equal(run.code, 3)
  assertOneLine(run, /\/metrics: the body broke off after \d+ bytes/)
})

test('a target that exits mid-run is diagnosed on what was collected, and says so', async () => {
  const target = await startScenario('healthy', { go: 'go1.26' })
  // Late enough that the CLI has started and sampled even on a loaded machine.
  setTimeout(() => void target.stop(), 5000)
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '12s'])
  assert.equal(result.code, 0, result.err)
  assert.ok(
    report.window.samples >= 1 && report.window.samples < 12,
    `${report.window.samples} samples`,
  )
  assert.ok(
    report.notes.some(note => /the target exited \d+ s into the window/.test(note)),
    report.notes.join('\n'),
  )
  assert.equal(report.verdict, 'healthy')
})

test('files the user may not read become gaps with their cost, not a crash', async t => {
  // nobody runs this checkout's bin/: a checkout in a folder nobody cannot enter (/root) would
  // fail below with Node's MODULE_NOT_FOUND, which says nothing of why.
  // By its absolute path, as Node opens it: a relative one resolves from the inherited cwd.
  const bin = join(process.cwd(), 'bin/gomemdoctor.js')
  const readable = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', bin])
  assert.equal(
    readable.status,
    0,
    `nobody cannot read ${bin}: run this test from a checkout every user may read, as CI does`,
  )
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  // As nobody, a root process's smaps_rollup, environ, exe and fd list are forbidden.
  const run = await new Promise<CliRun>(resolve => {
    const child = spawn(
      'runuser',
      [
        '-u',
        'nobody',
        '--',
        process.execPath,
        'bin/gomemdoctor.js',
        'diagnose',
        String(target.pid),
        '--duration',
        '1s',
        '--json',
      ],
      {
        env: { ...process.env, HOME: tmpdir() },
      },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', c => {
      out += c
    })
    child.stderr.on('data', c => {
      err += c
    })
    child.on('close', code => resolve({ code, out, err }))
  })
  assert.equal(run.code, 0, run.err)
  const report = JSON.parse(run.out)
  const signals = report.gaps.map((gap: { signal: string }) => gap.signal)
  for (const signal of ['target.goVersion', 'target.godebug', 'os.lazyFree', 'runtime.memstats']) {
    assert.ok(signals.includes(signal), `gap for ${signal}: ${run.out}`)
  }
  assert.ok(report.gaps.every((gap: { reason: string; cost: string }) => gap.reason && gap.cost))
  assert.ok(report.unjudged.includes('madv-free-retention'))
})

test('bad usage and bad files exit 2 with one line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-bad-'))
  await writeFile(join(dir, 'capture.json'), '{ not json')
  const garbage = join(dir, 'random.bin')
  await writeFile(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)))
  const cases: [string[], RegExp][] = [
    [['diagnose'], /needs a target/],
    [['diagnose', '123', '--duration', 'soon'], /--duration: cannot read "soon"/],
    [['diagnose', '/nonexistent/path'], /is not a PID, a URL, or an existing/],
    [['diagnose', dir], /capture\.json: /],
    [['diagnose', garbage], /no file there is a format gomemdoctor reads/],
  ]
  for (const [args, pattern] of cases) {
    const run = await runCli(...args)
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.err}`)
    assertOneLine(run, pattern)
  }
})

test('output piped into a reader that stops early (| head) ends quietly, without a stack trace', async () => {
  // Far more than a pipe buffer (64 KiB) of output: 3,000 distinct stacks as JSON.
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-pipe-'))
  const dump = join(dir, 'dump.txt')
  const stacks = Array.from(
    { length: 3000 },
    (_, i) =>
      `goroutine ${i + 1} [chan receive]:\nmain.worker${i}()\n\t/src/main.go:${i + 10} +0x1d\ncreated by main.main\n\t/src/main.go:5 +0x2a\n`,
  )
  await writeFile(dump, stacks.join('\n'))
  const piped = spawnSync(
    'bash',
    [
      '-c',
      `"${process.execPath}" bin/gomemdoctor.js goroutines ${dump} --json -n 100000 | head -c 100`,
    ],
    {
      encoding: 'utf8',
    },
  )
  assert.equal(piped.status, 0, piped.stderr)
  assert.equal(piped.stdout.length, 100)
  assert.doesNotMatch(piped.stderr, /EPIPE|\n\s+at /)
})
