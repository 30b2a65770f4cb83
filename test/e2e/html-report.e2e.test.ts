import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { captureText, type RawCapture } from '../../src/sources/capture.ts'
import { parsePprof } from '../../src/sources/formats/pprof.ts'
import { encodeProfileGzip } from '../../src/sources/formats/pprof-encode.ts'
import type { SavedRun } from '../../src/sources/transports/capture-dir.ts'
import { openStore } from '../../src/store/db.ts'
import { appendCaptures, createRecording } from '../../src/store/recordings.ts'
import { type Browser, inkedPixels, launchBrowser, openFilePage } from '../helpers/browser.ts'
import { capturePath, GO119, loadRun } from '../helpers/capture.ts'
import { runCli, runJson } from '../helpers/cli.ts'

let browser: Browser
before(async () => {
  browser = await launchBrowser()
})
after(() => browser?.close())

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'gomemdoctor-html-'))
}

/** Opens a report from disk in the shared browser. */
function openReport(file: string): Promise<{ page: Page; problems: string[] }> {
  return openFilePage(browser, file)
}

test('diagnose --html writes one self-contained page that draws its charts and shows the findings', async () => {
  const dir = await tempDir()
  const html = join(dir, 'madv.html')
  const { result, report } = await runJson([
    'diagnose',
    capturePath(`${GO119}/madv-free-retention`),
    '--html',
    html,
  ])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'madv-free-retention', 'stdout is still the JSON document')
  const text = await readFile(html, 'utf8')
  assert.doesNotMatch(text, /<(script|link|img)[^>]+(src|href)=/i, 'nothing loaded from elsewhere')

  const { page, problems } = await openReport(html)
  const finding = page.locator('article.finding[data-id="madv-free-retention"]')
  assert.equal(await finding.count(), 1)
  assert.match((await finding.textContent()) ?? '', /LazyFree/)
  assert.ok((await finding.locator('table.evidence tbody tr').count()) >= 2)
  assert.ok((await finding.locator('.fixes li').count()) >= 1)
  assert.equal(await page.locator('#verdict h1').textContent(), 'madv-free-retention')
  // The breakdown card says how much is Go's, and that it is estimated here, and why.
  assert.match(
    (await page.locator('#rss .rss-split').textContent()) ?? '',
    /^Go \S+ GiB · non-Go \S+ \S+ · files \S+ MiB, estimated \(heap arenas measured\): go1\.19\.8 does not name its mappings \(Go ≥ 1\.25 does\)$/,
  )
  // uPlot draws each chart on a canvas; every chart with data must have ink on it.
  for (const chart of ['#chart-rss', '#chart-heap', '#chart-goroutines', '#chart-gc']) {
    assert.equal(await page.locator(`${chart} .uplot`).count(), 1, chart)
  }
  const inked = await inkedPixels(page, '.uplot canvas')
  assert.ok(
    inked.every(n => n > 500),
    `blank chart canvas: ${inked.join(', ')}`,
  )
  const legend = (await page.locator('#chart-rss .u-legend').textContent()) ?? ''
  assert.match(legend, /LazyFree/, 'the MADV_FREE slice is in the RSS chart')
  assert.deepEqual(problems, [])
  await page.close()
})

const HOSTILE = [
  '<script>window.__pwned=1;alert(1)</script>',
  '<img src=x onerror="window.__pwned=2;alert(2)">',
  '</script><script>window.__pwned=3;alert(3)</script>',
  '"><svg onload=alert(4)>\u2028<!--',
]

/** A copy of a real run whose function names and process name are markup. */
async function hostileRun(): Promise<SavedRun> {
  const run = await loadRun(`${GO119}/cgroup-limit-risk`)
  const renamed = new Map<string, string>()
  const rename = (capture: RawCapture): RawCapture => {
    if (capture.kind === 'pprof-heap') {
      const profile = parsePprof(capture.bytes, capture.origin)
      profile.functions.name = profile.functions.name.map(name => {
        if (!name.startsWith('main.')) return name
        if (!renamed.has(name))
          renamed.set(name, `${HOSTILE[renamed.size % HOSTILE.length]}${name}`)
        return renamed.get(name) as string
      })
      return { ...capture, bytes: encodeProfileGzip(profile) }
    }
    if (capture.kind === 'proc-status') {
      const text = captureText(capture).replace(/^Name:.*$/m, 'Name:\t<img src=x onerror=alert(5)>')
      return { ...capture, bytes: new TextEncoder().encode(text) }
    }
    return capture
  }
  return {
    ...run,
    captures: {
      ...run.captures,
      once: run.captures.once.map(rename),
      ticks: run.captures.ticks.map(tick => ({ ...tick, captures: tick.captures.map(rename) })),
    },
  }
}

test('a recording whose profiles name functions in markup runs no script: the names are text', async () => {
  const dir = await tempDir()
  const db = join(dir, 'hostile.db')
  const html = join(dir, 'hostile.html')
  const run = await hostileRun()
  const store = openStore(db, { mode: 'write' })
  const notes = { gaps: run.gaps, notes: run.notes, sources: run.sources }
  const id = createRecording(store, db, { startedAtMs: 0, command: 'test', pid: 4242 })
  appendCaptures(store, db, id, 'once', 0, run.captures.once, notes)
  run.captures.ticks.forEach((tick, i) => {
    appendCaptures(store, db, id, i, tick.atMs, tick.captures, notes)
  })
  store.close()

  const result = await runCli('report', db, '--html', html)
  assert.equal(result.code, 0, result.err)
  assert.ok((await stat(html)).size > 10_000)

  const { page, problems } = await openReport(html)
  assert.equal(await page.evaluate('window.__pwned'), undefined)
  assert.equal(
    await page.locator('img, svg, iframe, object, embed').count(),
    0,
    'no injected element',
  )
  assert.equal(await page.locator('script').count(), 3, 'the page data, its config, the client')
  // The names arrive intact, as text: in the allocation-site table and the header.
  const names = await page.locator('table.top td.fn').allTextContents()
  assert.ok(
    names.some(n => HOSTILE.some(h => n.startsWith(h))),
    names.join('\n'),
  )
  assert.match(
    (await page.locator('.headline').textContent()) ?? '',
    /<img src=x onerror=alert\(5\)>/,
  )
  // The icicle draws the same names on its canvas.
  const [flame] = await inkedPixels(page, 'canvas.flame-canvas')
  assert.ok((flame ?? 0) > 500, `blank icicle: ${flame}`)
  // Hovering a frame shows its name in the tooltip, still as text.
  const box = await page.locator('canvas.flame-canvas').boundingBox()
  assert.ok(box)
  await page.mouse.move(box.x + 40, box.y + 30)
  await page.mouse.move(box.x + 60, box.y + 50)
  assert.equal(await page.locator('.flame-tip img, .flame-tip script').count(), 0)
  assert.deepEqual(problems, [])
  await page.close()
})

test('a chart whose signal was not read says so instead of drawing nothing', async () => {
  // Files saved by hand: /proc status and smaps_rollup and /debug/vars, but no goroutine count.
  const { cp, mkdir } = await import('node:fs/promises')
  const dir = await tempDir()
  const files = join(dir, 'files')
  await mkdir(files)
  for (const name of ['proc-status', 'smaps-rollup', 'expvar']) {
    await cp(join(capturePath(`${GO119}/madv-free-retention`), 't005', name), join(files, name))
  }
  const html = join(dir, 'loose.html')
  const run = await runCli('diagnose', files, '--html', html)
  assert.equal(run.code, 0, run.err)
  const { page } = await openReport(html)
  assert.match((await page.locator('#chart-goroutines').textContent()) ?? '', /not read/)
  assert.equal(await page.locator('#chart-goroutines .uplot').count(), 0)
})
