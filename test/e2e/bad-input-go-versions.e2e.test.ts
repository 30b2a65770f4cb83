import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { type TestContext, test } from 'node:test'
import { runJson } from '../helpers/cli.ts'
import { buildMemsick, startScenario } from '../helpers/memsick.ts'

// What Go binaries and servers of other versions than the parsers were written on give: a
// version from the future, build info stripped, a leak profile endpoint that is not one. Each is
// read, or answered as a gap with its cost; none crashes or guesses.

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1')

/** A copy of memsick, changed by `edit`, started as a healthy process; stopped after the test. */
async function startEdited(
  t: TestContext,
  go: 'go1.26' | 'go1.27',
  edit: (binary: string, copy: string) => Promise<void>,
): Promise<{ pid: number; url: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-edited-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const copy = join(dir, 'memsick')
  await edit(await buildMemsick(go), copy)
  const child: ChildProcess = spawn(copy, ['healthy', '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  t.after(() => child.kill('SIGKILL'))
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const ready = /^READY pid=(\d+) addr=(\S+) /.exec(line)
    if (ready) return { pid: Number(ready[1]), url: `http://${ready[2]}` }
  }
  throw new Error('the edited memsick exited before READY')
}

test('a Go binary from a Go newer than the parser knows (go1.28.0 patched into go1.27.3) is read as that version', async t => {
  const target = await startEdited(t, 'go1.27', async (binary, copy) => {
    const bytes = await readFile(binary)
    let at = bytes.indexOf(MAGIC)
    while (at % 16 !== 0) at = bytes.indexOf(MAGIC, at + 1)
    const version = bytes.indexOf('go1.27.3', at)
    assert.ok(version > at && version < at + 64)
    bytes.write('go1.28.0', version, 'latin1')
    await writeFile(copy, bytes, { mode: 0o755 })
  })
  const { result, report } = await runJson([
    'diagnose',
    String(target.pid),
    '--duration',
    '2s',
    '--leak-profile',
  ])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.target.goVersion, 'go1.28.0')
  assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings))
  // A Go ≥ 1.27 serves the leak profile: it is read, and says none leaked.
  assert.deepEqual(
    report.gaps.filter(g => g.signal === 'target.goVersion' || g.signal.includes('goroutineLeak')),
    [],
  )
  assert.equal(report.notes.filter(n => n.startsWith('--leak-profile:')).length, 2)
})

test('a Go binary whose .go.buildinfo section was removed is diagnosed, the unknown version a gap with its cost', async t => {
  try {
    execFileSync('objcopy', ['--version'], { stdio: 'ignore' })
  } catch {
    return t.skip('binutils objcopy absent')
  }
  const target = await startEdited(t, 'go1.26', async (binary, copy) => {
    execFileSync('objcopy', ['--remove-section', '.go.buildinfo', binary, copy])
  })
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '2s'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.target.goVersion, undefined)
  const gap = report.gaps.find(g => g.signal === 'target.goVersion')
  assert.match(
    gap?.reason ?? '',
    /is a Go binary \(its \.\S+ section\) without Go build information/,
  )
  assert.match(gap?.cost ?? '', /fixes cannot be tailored/)
  assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings))
})

/**
 * A server in front of a real memsick that answers /debug/pprof/goroutineleak itself, as a
 * reverse proxy, a login wall or another program could; everything else is passed through.
 */
async function leakProfileImpostor(
  t: TestContext,
  upstream: string,
  answer: { status: number; type: string; body: string },
): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    if (req.url?.startsWith('/debug/pprof/goroutineleak')) {
      res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body)
      return
    }
    const response = await fetch(upstream + (req.url ?? '/'))
    res.writeHead(response.status, {
      'content-type': response.headers.get('content-type') ?? 'text/plain',
    })
    res.end(Buffer.from(await response.arrayBuffer()))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise(resolve => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('a goroutineleak endpoint that answers a login page, or 200 with something else, is a gap with its cost', async t => {
  const target = await startScenario('goroutine-leak', { go: 'go1.27' })
  t.after(() => target.stop())
  const html = await leakProfileImpostor(t, target.url, {
    status: 200,
    type: 'text/html',
    body: '<!DOCTYPE html><html><body><form>Sign in</form></body></html>',
  })
  const garbage = await leakProfileImpostor(t, target.url, {
    status: 200,
    type: 'text/plain',
    body: 'leaks: none\n',
  })
  const diagnose = (url: string) => runJson(['diagnose', url, '--duration', '5s', '--leak-profile'])
  const [fromHtml, fromGarbage] = await Promise.all([diagnose(html), diagnose(garbage)])
  for (const { result, report } of [fromHtml, fromGarbage]) {
    assert.equal(result.code, 0, result.err)
    // The leak is still found from the count and the stack groups, without the runtime's proof.
    const finding = report.findings.find(f => f.id === 'goroutine-leak')
    assert.ok(finding, JSON.stringify(report.findings, null, 2))
    assert.ok(!finding.evidence.some(e => e.label.includes('runtime leak detection')))
  }
  const gap = (report: typeof fromHtml.report) =>
    report.gaps.find(g => g.signal === 'profile.goroutineLeak')
  assert.match(gap(fromHtml.report)?.reason ?? '', /goroutineleak: got HTML, not a pprof profile/)
  // 200 with text that is no profile: refused by the parser, named, and nothing kept.
  assert.match(
    gap(fromGarbage.report)?.reason ?? '',
    /goroutineleak: got text, not a pprof profile/,
  )
  for (const { report } of [fromHtml, fromGarbage]) {
    assert.match(gap(report)?.cost ?? '', /not proved by the runtime/)
    // The target ran no leak detection for us: no note says it did.
    assert.deepEqual(
      report.notes.filter(n => n.startsWith('--leak-profile:')),
      [],
    )
  }
})
