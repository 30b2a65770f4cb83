import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { request } from 'node:http'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { inkedPixels, launchBrowser } from '../helpers/browser.ts'
import { runCli } from '../helpers/cli.ts'
import { startScenario } from '../helpers/memsick.ts'

const BIN = fileURLToPath(new URL('../../bin/gomemdoctor.js', import.meta.url))

/** Starts `gomemdoctor watch …` and resolves with the dashboard URL it prints. */
function startWatch(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'watch', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stderr?.setEncoding('utf8').on('data', chunk => {
      err += chunk
    })
    child.stdout?.setEncoding('utf8').on('data', chunk => {
      out += chunk
      const match = /dashboard at (http:\/\/\S+)/.exec(out)
      if (match?.[1]) resolve({ url: match[1], child })
    })
    child.once('close', code => reject(new Error(`watch exited ${code} before serving:\n${err}`)))
  })
}

function stopWatch(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise(resolve => {
    child.once('close', () => resolve())
    child.kill('SIGINT')
  })
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A GET with a chosen Host header (fetch forbids setting it). */
function get(url: string, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, res => {
      res.resume()
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    req.once('error', reject)
    req.end()
  })
}

test('the dashboard shows live samples of a real Go process as they arrive', async t => {
  const target = await startScenario('heap-growth', { go: 'go1.26' })
  t.after(() => target.stop())
  const { url, child } = await startWatch([String(target.pid), '--interval', '250ms'])
  t.after(() => stopWatch(child))
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  // Another site's page reaching the port through DNS rebinding names another host.
  assert.equal(await get(url, 'attacker.example:80'), 403)

  const browser = await launchBrowser()
  t.after(() => browser.close())
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', error => errors.push(error.message))
  await page.goto(url)
  await page.waitForSelector('#live-status[data-state="live"]')
  const points = async () => Number(await page.evaluate('document.body.dataset.points ?? 0'))
  // Polled from here: the page's CSP allows no eval, so waitForFunction cannot run in it.
  await until(async () => (await points()) >= 3, 60_000, 'three samples drawn')
  const before = await points()
  await until(async () => (await points()) > before, 60_000, 'a new sample drawn')
  assert.ok((await points()) > before, 'new samples keep arriving')
  assert.match(
    (await page.locator('.headline').textContent()) ?? '',
    new RegExp(`pid ${target.pid}`),
  )
  assert.match((await page.locator('#live-status').textContent()) ?? '', /live · \d\d:\d\d:\d\d/)
  const [inked] = await inkedPixels(page, '#chart-rss .uplot canvas')
  assert.ok((inked ?? 0) > 500, `blank live RSS chart (${inked} pixels)`)
  assert.deepEqual(errors, [])
})

test('listening beyond loopback needs --allow-remote, and then every request needs the token', async t => {
  const refused = await runCli('watch', '1', '--host', '0.0.0.0')
  assert.equal(refused.code, 2, refused.err)
  assert.match(refused.err, /not a loopback address.*--allow-remote/)
  assert.equal(refused.err.trim().split('\n').length, 1)

  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const token = 'tok-0123456789abcdef'
  const { url, child } = await startWatch([
    String(target.pid),
    '--host',
    '0.0.0.0',
    '--allow-remote',
    '--token',
    token,
  ])
  t.after(() => stopWatch(child))
  assert.ok(url.endsWith(`/?token=${token}`), url)
  const port = new URL(url).port
  assert.equal(await get(`http://127.0.0.1:${port}/`), 403)
  assert.equal(await get(`http://127.0.0.1:${port}/events`), 403)
  assert.equal(await get(`http://127.0.0.1:${port}/?token=${token}x`), 403)
  assert.equal(await get(`http://127.0.0.1:${port}/?token=${token}`), 200)
})

test('the dashboard reconnects by itself when gomemdoctor watch comes back', async t => {
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const first = await startWatch([String(target.pid), '--interval', '250ms'])
  t.after(() => stopWatch(first.child))
  const port = new URL(first.url).port
  const browser = await launchBrowser()
  t.after(() => browser.close())
  const page = await browser.context.newPage()
  await page.goto(first.url)
  const state = () => page.evaluate('document.getElementById("live-status")?.dataset.state')
  await until(async () => (await state()) === 'live', 60_000, 'the first connection')
  await stopWatch(first.child)
  await until(async () => (await state()) === 'retry', 60_000, 'the page to notice')

  const second = await startWatch([String(target.pid), '--interval', '250ms', '--port', port])
  t.after(() => stopWatch(second.child))
  const points = async () => Number(await page.evaluate('document.body.dataset.points ?? 0'))
  await until(async () => (await state()) === 'live' && (await points()) >= 2, 60_000, 'reconnect')
})

/** The server-sent events of `url` as they come: `event` and parsed `data`, until the stream ends. */
async function* events(url: string): AsyncGenerator<{ event: string; data: unknown }> {
  const response = await fetch(url)
  assert.ok(response.body, 'an event stream')
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true })
    let end = buffered.indexOf('\n\n')
    while (end >= 0) {
      const frame = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      const event = /^event: (.*)$/m.exec(frame)?.[1]
      const data = /^data: (.*)$/m.exec(frame)?.[1]
      if (event && data) yield { event, data: JSON.parse(data) }
      end = buffered.indexOf('\n\n')
    }
  }
}

type FindingsView = { findings: { id: string; evidence: { label: string; value: string }[] }[] }

/** The count a leak-profile evidence line of the goroutine-leak finding shows, if any. */
function leakedCount(view: FindingsView, edge: 'start' | 'end' | 'one read'): number | undefined {
  const finding = view.findings.find(f => f.id === 'goroutine-leak')
  const label = `goroutines leaked${edge === 'one read' ? '' : ` at ${edge}`} (runtime leak detection)`
  const value = finding?.evidence.find(e => e.label === label)?.value
  return value === undefined ? undefined : Number(value.replace(/[^\d]/g, ''))
}

// A watch that never shows the count would wait on its stream: the timeout makes that a failure.
test('go1.27: watch --leak-profile shows the runtime-counted leaked goroutines live, and at both edges once stopped', {
  timeout: 120_000,
}, async t => {
  const target = await startScenario('goroutine-leak', { go: 'go1.27' })
  t.after(() => target.stop())
  const { url, child } = await startWatch([
    String(target.pid),
    '--interval',
    '500ms',
    '--leak-profile',
  ])
  t.after(() => stopWatch(child))
  // One stream throughout: leaving a for-await loop would close it.
  const stream = events(new URL('/events', url).href)
  const next = async (): Promise<FindingsView | undefined> => {
    for (;;) {
      const { done, value } = await stream.next()
      if (done) return undefined
      if (value.event === 'findings' || value.event === 'view') return value.data as FindingsView
    }
  }
  // Live, only the start's profile has been read: its count stands alone, at no edge.
  let live = await next()
  while (live && leakedCount(live, 'one read') === undefined) live = await next()
  assert.ok(live, 'a live diagnosis with the leak profile')
  // memsick parks 10,000 leaked workers before it says READY, and adds 200 a second.
  assert.ok((leakedCount(live, 'one read') ?? 0) >= 10_000, JSON.stringify(live.findings[0]))

  // A later diagnosis (every 2 s) means more samples: a window of one has no end edge.
  assert.ok(await next(), 'a second live diagnosis')
  // Stopped, watch takes the end edge (the second leak profile) and sends the final diagnosis.
  child.kill('SIGINT')
  let last: FindingsView | undefined
  for (let view = await next(); view; view = await next()) last = view
  assert.ok(last, 'a final diagnosis before the stream ended')
  const start = leakedCount(last, 'start') ?? 0
  const end = leakedCount(last, 'end') ?? 0
  assert.ok(start >= 10_000 && end >= start, `${start} → ${end}: ${JSON.stringify(last.findings)}`)
  assert.equal(last.findings[0]?.id, 'goroutine-leak')
})
