import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, type TestContext, test } from 'node:test'
import type { Page } from 'playwright-core'
import type { FleetJson } from '../../src/report/fleet.ts'
import type { JsonReport } from '../../src/report/json.ts'
import { RUNTIME_METRIC_NAMES } from '../../src/sources/formats/prom-text.ts'
import { CADVISOR_METRIC_NAMES } from '../../src/sources/transports/prometheus.ts'
import {
  drewLines,
  inkedPixels,
  launchBrowser,
  legendLabels,
  openFilePage,
} from '../helpers/browser.ts'
import { runCli } from '../helpers/cli.ts'
import {
  type FleetMember,
  type RunningPrometheus,
  startFleetMember,
  startPrometheus,
  waitForScrapes,
} from '../helpers/prometheus.ts'

/** The fleet page's RSS chart: its canvas. */
const RSS_CANVAS = '#chart-fleet-rss .uplot canvas'

// A real Prometheus scraping four real Go processes built with the real client_golang, every
// 1 s: a 1 GiB spike freed under GODEBUG=madvdontneed=0, the same workload under
// madvdontneed=1 (its control), a leak, and a steady heap with heavier churn (the leak's control).
// A second job scrapes the leak again under a job name and labels that are markup, as a scrape
// config (or a service discovery) may give them: the HTML report must show them as text.
let prometheus: RunningPrometheus
let members: Record<'madv' | 'madvControl' | 'leak' | 'steady', FleetMember>
const WINDOW = ['--range', '12s', '--step', '1s']
// Short enough that the terminal table's last column keeps its header at 120 columns.
const HOSTILE_JOB = '<svg/onload=alert(1)>'
const HOSTILE_INSTANCE = '<img src=x onerror=alert(2)>'
const HOSTILE_POD = '</script><script>window.__pwned=3;alert(3)</script><!--'

before(async () => {
  const [madv, madvControl, leak, steady] = await Promise.all([
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=0' }),
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=1' }),
    startFleetMember('heap-growth'),
    startFleetMember('healthy', {}, ['-live-mib', '96', '-churn-mib-per-sec', '96']),
  ])
  members = { madv, madvControl, leak, steady }
  prometheus = await startPrometheus({
    jobs: { api: Object.values(members).map(m => m.addr), [HOSTILE_JOB]: [leak.addr] },
    labels: { [HOSTILE_JOB]: { instance: HOSTILE_INSTANCE, pod: HOSTILE_POD } },
  })
  await waitForScrapes(prometheus, 5, 13)
})

after(async () => {
  for (const member of Object.values(members ?? {})) member.stop()
  await prometheus?.stop()
})

async function fleetJson(...args: string[]): Promise<FleetJson> {
  const run = await runCli('fleet', '--prometheus', prometheus.url, ...args, '--json')
  assert.equal(run.code, 0, run.err)
  return JSON.parse(run.out) as FleetJson
}

test('ranks the MADV_FREE and the leaking instance above the healthy ones, with their finding ids', async () => {
  const fleet = await fleetJson(...WINDOW, '--selector', '{job="api"}')
  const byAddr = (m: FleetMember) => fleet.instances.find(i => i.instance === m.addr)
  const order = fleet.instances.map(i => `${i.instance} ${i.verdict}`)
  assert.equal(fleet.instances.length, 4, order.join('\n'))
  assert.deepEqual(
    fleet.instances.slice(0, 2).map(i => i.instance),
    [members.madv.addr, members.leak.addr],
    order.join('\n'),
  )
  const madv = byAddr(members.madv)
  assert.equal(madv?.verdict, 'madv-free-retention')
  assert.equal(madv?.findings[0]?.severity, 'critical')
  assert.ok(
    (madv?.rss?.unexplained ?? 0) > 768 * 2 ** 20,
    'the freed spike is RSS Go does not count',
  )
  assert.equal(byAddr(members.leak)?.verdict, 'heap-growth')
  // Prometheus has no /proc: the detectors that need it cannot judge, so an instance without a
  // finding is inconclusive, never healthy.
  for (const quiet of [members.madvControl, members.steady]) {
    const instance = byAddr(quiet)
    assert.equal(instance?.verdict, 'inconclusive', JSON.stringify(instance?.findings))
    for (const id of ['file-mapped', 'non-go-memory', 'thp-bloat'] as const)
      assert.ok(instance?.unjudged.includes(id), `${id}: ${instance?.unjudged}`)
  }
  for (const instance of fleet.instances) {
    assert.equal(instance.job, 'api')
    assert.match(instance.goVersion ?? '', /^go1\.\d+/)
    assert.ok(instance.samples >= 10, `${instance.instance}: ${instance.samples} samples`)
  }
  // A fixed number of queries for the fleet, whatever its size: one per metric name.
  assert.equal(fleet.source.queries, 1 + RUNTIME_METRIC_NAMES.length + CADVISOR_METRIC_NAMES.length)
  assert.deepEqual(fleet.gaps.map(gap => gap.signal).sort(), [
    'os.anonHugePages',
    'os.lazyFree',
    'os.rssSplit',
    'profile.heap',
    'target.godebug',
  ])
})

test('prints the table worst first, and --fail-on critical exits 1', async () => {
  const run = await runCli(
    'fleet',
    '--prometheus',
    prometheus.url,
    ...WINDOW,
    '--fail-on',
    'critical',
  )
  assert.equal(run.code, 1, run.err)
  const rows = run.out.split('\n').filter(line => line.startsWith('127.0.0.1:'))
  assert.equal(rows.length, 4, run.out)
  assert.ok(
    rows[0]?.startsWith(members.madv.addr) && /madv-free-retention .*CRITICAL/.test(rows[0]),
    run.out,
  )
  assert.ok(rows[1]?.startsWith(members.leak.addr) && / heap-growth /.test(rows[1]), run.out)
  assert.match(run.out, /instance +job +go +verdict +RSS +unexplained +top finding/)
})

test('diagnose --prometheus --instance gives one instance the same diagnosis document as a live run', async () => {
  const run = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.madv.addr,
    ...WINDOW,
    '--json',
  )
  assert.equal(run.code, 0, run.err)
  const report = JSON.parse(run.out) as JsonReport
  assert.equal(report.verdict, 'madv-free-retention')
  assert.ok(report.window.samples >= 10)
  assert.ok(
    report.sources.includes(`${prometheus.url}/api/v1/query_range`),
    report.sources.join(' '),
  )
  const rss = report.findings[0]?.evidence.find(e => e.label === 'RSS')
  assert.match(
    rss?.source ?? '',
    /process_resident_memory_bytes\{instance="127\.0\.0\.1:\d+",job="api"\}/,
  )

  const healthy = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.steady.addr,
    ...WINDOW,
  )
  assert.equal(healthy.code, 0, healthy.err)
  // Prometheus holds no smaps: the detectors that need it cannot judge, so the instance is not
  // called healthy.
  assert.match(healthy.out, /verdict: inconclusive \(\d of 10 detectors could not judge\)/)
})

test("a bad selector exits 2 with Prometheus's own words; one that matches nothing exits 2 too", async () => {
  const bad = await runCli('fleet', '--prometheus', prometheus.url, '--selector', '{job=api}')
  assert.equal(bad.code, 2)
  assert.match(
    bad.err,
    /^gomemdoctor: Prometheus rejected the query go_info\{job=api\}: .*parse error/,
  )
  assert.equal(bad.err.trim().split('\n').length, 1)
  const none = await runCli(
    'fleet',
    '--prometheus',
    prometheus.url,
    '--selector',
    '{job="nope"}',
    ...WINDOW,
  )
  assert.equal(none.code, 2)
  assert.match(
    none.err,
    /^gomemdoctor: no Go instances: no go_\* series match \{job="nope"\} at http/,
  )
  const unknown = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    '10.9.9.9:1',
    ...WINDOW,
  )
  assert.equal(unknown.code, 2)
  assert.match(unknown.err, /no Go instances/)
})

test('a URL that is not Prometheus (a web page, a 404) or does not answer exits 3 in one line', async t => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/html')) {
      res.setHeader('content-type', 'text/html')
      res.end('<!DOCTYPE html><html><body>Sign in</body></html>')
    } else if (req.url?.startsWith('/slow')) {
      // never answers
    } else {
      res.statusCode = 404
      res.end('404 page not found\n')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const [path, message] of [
    ['/html', /is not a Prometheus HTTP API \(HTTP 200 .*got HTML/],
    ['/', /is not a Prometheus HTTP API \(HTTP 404 .*404 page not found/],
    ['/slow', /no answer within 1000 ms/],
  ] as const) {
    const run = await runCli('fleet', '--prometheus', `${base}${path}`, '--timeout', '1s')
    assert.equal(run.code, 3, `${path}: ${run.err}`)
    assert.match(run.err, message)
    assert.equal(run.err.trim().split('\n').length, 1, run.err)
  }
})

test('bad flags exit 2 with one line', async () => {
  for (const args of [
    ['fleet', '--prometheus', prometheus.url, '--selector', 'job="api"'],
    ['fleet', '--prometheus', prometheus.url, '--range', 'six hours'],
    ['fleet', '--prometheus', 'ftp://x'],
    ['fleet'],
    ['diagnose', '--prometheus', prometheus.url],
  ]) {
    const run = await runCli(...args)
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.err}`)
    assert.equal(
      run.err
        .trim()
        .split('\n')
        .filter(l => !l.startsWith('(run with')).length,
      1,
      run.err,
    )
  }
})

test('a server error on some queries leaves those metrics as named gaps; the rest is judged', async t => {
  // A proxy in front of the real Prometheus that fails go_goroutines with Prometheus's own error.
  const proxy = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.searchParams.get('query')?.startsWith('go_goroutines')) {
      res.statusCode = 503
      res.end('{"status":"error","errorType":"unavailable","error":"too many queries in flight"}')
      return
    }
    const upstream = await fetch(`${prometheus.url}${req.url}`)
    res.statusCode = upstream.status
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => proxy.close())
  const run = await runCli(
    'fleet',
    '--prometheus',
    `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    ...WINDOW,
    '--json',
  )
  assert.equal(run.code, 0, run.err)
  const fleet = JSON.parse(run.out) as FleetJson
  const gap = fleet.gaps.find(g => g.signal === 'prometheus:go_goroutines')
  assert.match(gap?.reason ?? '', /unavailable \(HTTP 503\): too many queries in flight/)
  assert.equal(fleet.instances[0]?.instance, members.madv.addr)
  assert.equal(fleet.instances[0]?.verdict, 'madv-free-retention')
  assert.ok(
    fleet.instances.every(i => i.unjudged.includes('goroutine-leak')),
    'no goroutine counts',
  )
})

/** Opens a page from disk in a browser of its own, closed after the test. */
async function openPage(t: TestContext, file: string): Promise<{ page: Page; problems: string[] }> {
  const browser = await launchBrowser()
  t.after(() => browser.close())
  return openFilePage(browser, file)
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-fleet-html-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** `fleet --json --html` of the test fleet: the page's path and the JSON document. */
async function fleetPage(t: TestContext): Promise<{ html: string; fleet: FleetJson }> {
  const html = join(await tempDir(t), 'fleet.html')
  const run = await runCli(
    'fleet',
    '--prometheus',
    prometheus.url,
    ...WINDOW,
    '--json',
    '--html',
    html,
  )
  assert.equal(run.code, 0, run.err)
  return { html, fleet: JSON.parse(run.out) as FleetJson }
}

test('fleet --html: the ranked table, the worst instances drawn, findings per instance; markup in labels is text', async t => {
  const { html, fleet } = await fleetPage(t)
  assert.equal(fleet.instances.length, 5)
  const text = await readFile(html, 'utf8')
  assert.doesNotMatch(text, /<(script|link|img)[^>]+(src|href)=/i, 'nothing loaded from elsewhere')

  const { page, problems } = await openPage(t, html)
  // The table is the JSON's ranking, row for row.
  const rows = page.locator('table.fleet-table tbody tr')
  assert.deepEqual(
    await rows.locator('td.instance').allTextContents(),
    fleet.instances.map(i => i.instance),
  )
  assert.deepEqual(
    await rows.locator('td.job').allTextContents(),
    fleet.instances.map(i => i.job),
  )
  assert.deepEqual(
    await rows.locator('td.verdict-cell').allTextContents(),
    fleet.instances.map(i => i.verdict),
  )
  assert.equal(await rows.first().locator('td.instance').textContent(), members.madv.addr)
  assert.match((await rows.first().textContent()) ?? '', /critical/)
  // A fleet under the first 100 rows is drawn whole: nothing to page through.
  assert.equal(await page.locator('#fleet-count').textContent(), 'showing all 5 instances')
  assert.equal(await page.locator('#fleet-show-all').isVisible(), false)
  assert.equal(await page.locator('#fleet-more').isVisible(), false)
  // One card per instance with findings, in rank order, with the finding cards of the report.
  const cards = page.locator('article.instance-card')
  const troubled = fleet.instances.filter(i => i.findings.length > 0)
  assert.deepEqual(
    await cards.locator('h3.instance-name').allTextContents(),
    troubled.map(i => i.instance),
  )
  const madv = cards.first().locator('article.finding[data-id="madv-free-retention"]')
  assert.ok((await madv.locator('table.evidence tbody tr').count()) >= 2)
  assert.ok((await madv.locator('.fixes li').count()) >= 1)
  // The RSS chart draws every instance (five, under the eight drawn at most).
  const inked = await inkedPixels(page, RSS_CANVAS)
  assert.ok(inked.length === 1 && (inked[0] ?? 0) > 500, `blank chart: ${inked.join(', ')}`)
  const legend = (await page.locator('#chart-fleet-rss .u-legend').textContent()) ?? ''
  assert.ok(legend.includes(`#1 ${members.madv.addr}`), legend)

  // The hostile names ran nothing and arrived intact, as text.
  assert.equal(await page.evaluate('window.__pwned'), undefined)
  assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0)
  assert.equal(await page.locator('script').count(), 3, 'the page data, its config, the client')
  assert.ok(legend.includes(HOSTILE_INSTANCE), legend)
  const hostile = cards.filter({
    has: page.locator('h3.instance-name', { hasText: HOSTILE_INSTANCE }),
  })
  assert.equal(
    await hostile.count(),
    1,
    JSON.stringify(fleet.instances.map(i => [i.instance, i.job, i.verdict, i.unjudged, i.gaps])),
  )
  const facts = (await hostile.locator('dl.facts').textContent()) ?? ''
  assert.ok(facts.includes(HOSTILE_JOB) && facts.includes(HOSTILE_POD), facts)
  assert.deepEqual(problems, [])
})

test('fleet --html: typing markup from a label into the filter finds its instance, shows the markup as text and runs nothing', async t => {
  const { html } = await fleetPage(t)
  const { page, problems } = await openPage(t, html)
  const names = () => page.locator('table.fleet-table tbody tr td.instance').allTextContents()
  const filter = page.locator('#fleet-filter')
  // Typed key by key, as a user would, into the filter: the typed markup is text too.
  await filter.pressSequentially('<img src=x')
  assert.deepEqual(await names(), [HOSTILE_INSTANCE])
  assert.equal(
    await page.locator('#fleet-count').textContent(),
    "showing 1 of 5 instances matching '<img src=x'",
  )
  assert.deepEqual(await page.locator('article.instance-card h3.instance-name').allTextContents(), [
    HOSTILE_INSTANCE,
  ])
  // By a label's value (the pod), by name=value, and by the job.
  for (const text of [HOSTILE_POD, `pod=${HOSTILE_POD.slice(0, 20)}`, HOSTILE_JOB]) {
    await filter.fill(text)
    assert.deepEqual(await names(), [HOSTILE_INSTANCE], text)
  }
  await filter.fill('api')
  assert.equal((await names()).length, 4)
  assert.equal(await page.evaluate('window.__pwned'), undefined)
  assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0)
  assert.equal(await page.locator('script').count(), 3, 'the page data, its config, the client')
  assert.deepEqual(problems, [])
})

test('diagnose --prometheus --instance --html: the single-process page from the series, saying what Prometheus lacks', async t => {
  const html = join(await tempDir(t), 'madv.html')
  const run = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.madv.addr,
    ...WINDOW,
    '--html',
    html,
  )
  assert.equal(run.code, 0, run.err)
  assert.match(run.out, /verdict: madv-free-retention/)
  const { page, problems } = await openPage(t, html)
  assert.equal(await page.locator('#verdict h1').textContent(), 'madv-free-retention')
  assert.match(
    (await page.locator('.headline').textContent()) ?? '',
    /instance 127\.0\.0\.1:\d+ \(job api\)/,
  )
  assert.equal(await page.locator('article.finding[data-id="madv-free-retention"]').count(), 1)
  const inked = await inkedPixels(page, '.uplot canvas')
  assert.ok(inked.length >= 3 && inked.every(n => n > 500), `blank chart: ${inked.join(', ')}`)
  // What only /proc or a profile gives is named, not silently absent.
  const gaps = await page.locator('#gaps table.gaps tbody td:first-child').allTextContents()
  for (const signal of ['os.lazyFree', 'os.rssSplit', 'target.godebug', 'profile.heap']) {
    assert.ok(gaps.includes(signal), gaps.join(' '))
  }
  assert.match(
    (await page.locator('#flame').textContent()) ?? '',
    /Prometheus holds no heap profiles/,
  )
  assert.deepEqual(problems, [])
})

test('fleet --html: the RSS chart draws what the filter matches, and the filter is kept in the URL', async t => {
  const { html, fleet } = await fleetPage(t)
  const everyLine = fleet.instances.map((i, n) => `#${n + 1} ${i.instance}`)
  const api = everyLine.filter((_, n) => fleet.instances[n]?.job === 'api')
  const hostile = everyLine.filter(line => line.endsWith(HOSTILE_INSTANCE))
  const { page, problems } = await openPage(t, html)
  const names = () => page.locator('table.fleet-table tbody tr td.instance').allTextContents()
  const caption = page.locator('#fleet-chart-drawn')
  // The rows that wear a swatch, as the legend names their lines: '#rank instance'.
  const swatched = async () => {
    const rows = page.locator('table.fleet-table tbody tr:has(.swatch)')
    const ranks = await rows.evaluateAll(trs => trs.map(tr => tr.getAttribute('data-rank')))
    const instances = await rows.locator('td.instance').allTextContents()
    return ranks.map((rank, i) => `#${rank} ${instances[i]}`)
  }
  // No filter: every line (five, under the eight drawn at most), no caption, no hash.
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), everyLine)
  assert.deepEqual(await swatched(), everyLine)
  assert.match(
    (await page.locator('#chart-fleet-rss figcaption').textContent()) ?? '',
    /rounded to whole MiB/,
  )
  assert.equal(await caption.isVisible(), false)
  assert.equal(await page.evaluate('location.hash'), '')

  const entries = await page.evaluate('history.length')
  const filter = page.locator('#fleet-filter')
  await filter.pressSequentially('api')
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), api)
  assert.deepEqual(await swatched(), api)
  assert.ok(await drewLines(page, RSS_CANVAS), 'the filtered chart drew')
  assert.equal(await caption.textContent(), "drawn: the 4 instances matching 'api'")
  assert.equal(await page.evaluate('location.hash'), '#filter=api')
  // Typed text goes in the hash encoded, and markup in a label filters the chart as text.
  await filter.fill(HOSTILE_JOB)
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), hostile)
  assert.deepEqual(await swatched(), hostile)
  assert.ok(await drewLines(page, RSS_CANVAS))
  assert.equal(await caption.textContent(), `drawn: the only instance matching '${HOSTILE_JOB}'`)
  assert.equal(await page.evaluate('location.hash'), `#filter=${encodeURIComponent(HOSTILE_JOB)}`)
  await filter.fill('no-such-thing')
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), [])
  assert.equal(await page.locator('#chart-fleet-rss canvas').count(), 0)
  assert.equal(await caption.textContent(), "no instance matches 'no-such-thing'")
  // As the user types, the URL changes in place: no history entry per key.
  assert.equal(await page.evaluate('history.length'), entries)
  await filter.press('Escape')
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), everyLine)
  assert.deepEqual(await swatched(), everyLine)
  assert.deepEqual(
    await names(),
    fleet.instances.map(i => i.instance),
  )
  assert.equal(await page.evaluate('location.hash'), '')

  // Opened with a filter in the hash: the same rows and lines as typing it.
  const shared = await page.context().newPage()
  await shared.goto(`file://${html}#filter=${encodeURIComponent('api  madv')}`)
  await shared.waitForSelector('body[data-rendered="true"]')
  assert.equal(await shared.locator('#fleet-filter').inputValue(), 'api  madv')
  const madv = fleet.instances.filter(i => i.job === 'api' && i.verdict === 'madv-free-retention')
  assert.deepEqual(
    await shared.locator('table.fleet-table tbody tr td.instance').allTextContents(),
    madv.map(i => i.instance),
  )
  assert.deepEqual(await legendLabels(shared, '#chart-fleet-rss'), [`#1 ${members.madv.addr}`])
  assert.ok(
    await drewLines(shared, RSS_CANVAS),
    `no line drawn: ${await inkedPixels(shared, RSS_CANVAS)}`,
  )
  assert.equal(
    await shared.locator('#fleet-chart-drawn').textContent(),
    "drawn: the only instance matching 'api  madv'",
  )
  assert.deepEqual(problems, [])
})

test("fleet --html: a row's link to its card keeps the filter in the URL, and that URL opens filtered at the card", async t => {
  const { html, fleet } = await fleetPage(t)
  // The MADV_FREE member, whose finding holds for as long as it runs: the leak stops at its cap
  // (512 MiB, about 2 min in) and its cycles grow past what a 12 s window judges, so a test this
  // late in the file found it inconclusive (3 of 5 pages, before and after 2026-12-08's changes).
  const rank = fleet.instances.findIndex(i => i.instance === members.madv.addr) + 1
  assert.equal(fleet.instances[rank - 1]?.verdict, 'madv-free-retention')
  const { page, problems } = await openPage(t, html)
  await page.locator('#fleet-filter').fill('madv-free-retention')
  await page.locator(`tr[data-rank="${rank}"] td.instance a`).click()
  assert.equal(await page.evaluate('location.hash'), `#instance-${rank}&filter=madv-free-retention`)
  // Back goes to the filtered table; its URL still has the filter.
  await page.goBack()
  assert.equal(await page.evaluate('location.hash'), '#filter=madv-free-retention')
  assert.equal(await page.locator('#fleet-filter').inputValue(), 'madv-free-retention')

  // The kept URL opens with the filter and scrolled to the card, which the browser cannot find
  // by itself in a hash that holds a filter.
  const kept = await page.context().newPage()
  await kept.goto(`file://${html}#instance-${rank}&filter=madv-free-retention`)
  await kept.waitForSelector('body[data-rendered="true"]')
  assert.equal(await kept.locator('#fleet-filter').inputValue(), 'madv-free-retention')
  assert.deepEqual(
    await kept.locator('table.fleet-table tbody tr td.instance').allTextContents(),
    fleet.instances.filter(i => i.verdict === 'madv-free-retention').map(i => i.instance),
  )
  const top = await kept.evaluate(
    `document.getElementById('instance-${rank}').getBoundingClientRect().top`,
  )
  assert.ok(typeof top === 'number' && top >= 0 && top < 900, `card at ${top}`)
  // A plain link to a card still works as before, unfiltered.
  const plain = await page.context().newPage()
  await plain.goto(`file://${html}#instance-${rank}`)
  await plain.waitForSelector('body[data-rendered="true"]')
  assert.equal(await plain.locator('#fleet-filter').inputValue(), '')
  assert.equal(await plain.locator(`#instance-${rank}`).count(), 1)
  assert.deepEqual(problems, [])
})

test('fleet --html: a hostile hash (a cut %-sequence, markup) is only ever the filter text: nothing throws, nothing runs', async t => {
  const { html } = await fleetPage(t)
  const { page, problems } = await openPage(t, html)
  const hashes: [string, string][] = [
    ['#filter=%E0%A4%A', '%E0%A4%A'],
    ['#filter=%E0%A4%Gapi', '%E0%A4%Gapi'],
    ['#filter=%', '%'],
    ['#filter=<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>'],
    [`#filter=${encodeURIComponent(HOSTILE_POD)}`, HOSTILE_POD],
    ['#instance-1&filter=%3Csvg%2Fonload%3Dalert(4)%3E&instance-x&filter', '<svg/onload=alert(4)>'],
  ]
  for (const [hash, value] of hashes) {
    // Both ways in: the hash changed under an open page, and a page opened with it.
    await page.goto(`file://${html}${hash}`)
    assert.equal(await page.locator('#fleet-filter').inputValue(), value, hash)
    await page.reload()
    await page.waitForSelector('body[data-rendered="true"]')
    assert.equal(await page.locator('#fleet-filter').inputValue(), value, hash)
    assert.match((await page.locator('#fleet-count').textContent()) ?? '', /^showing /, hash)
  }
  // The pod's markup, as a filter, finds its instance and stays text.
  await page.goto(`file://${html}#filter=${encodeURIComponent(HOSTILE_POD)}`)
  assert.deepEqual(await page.locator('table.fleet-table tbody tr td.instance').allTextContents(), [
    HOSTILE_INSTANCE,
  ])
  assert.equal(await page.evaluate('window.__pwned'), undefined)
  assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0)
  assert.equal(await page.locator('script').count(), 3, 'the page data, its config, the client')
  assert.deepEqual(problems, [])
})
