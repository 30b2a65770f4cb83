import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import type { FleetJson } from '../../src/report/fleet.ts'
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
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts'
import {
  instanceName,
  type Planted,
  plantedAt,
  SYNTHETIC_END_S,
  syntheticFleetBlocks,
} from '../helpers/synthetic-fleet.ts'

/** The fleet page's RSS chart: its canvas. */
const RSS_CANVAS = '#chart-fleet-rss .uplot canvas'

// 1,000 instances × 30 min at 30 s, backfilled with promtool into a real Prometheus.
const INSTANCES = 1000
const ARGS = ['--range', '30m', '--step', '30s', '--end', String(SYNTHETIC_END_S), '--json']
let blocks: string
let prometheus: RunningPrometheus

before(async () => {
  blocks = await syntheticFleetBlocks({ instances: INSTANCES, points: 61, stepS: 30 })
  prometheus = await startPrometheus({ blocksFrom: blocks })
})
after(() => prometheus?.stop())

async function fleet(url: string): Promise<FleetJson> {
  const run = await runCli('fleet', '--prometheus', url, ...ARGS)
  assert.equal(run.code, 0, run.err)
  return JSON.parse(run.out) as FleetJson
}

const planted = new Map(
  Array.from({ length: INSTANCES }, (_, i) => [instanceName(i), plantedAt(i)] as const),
)
const kind = (instance: string): Planted => planted.get(instance) ?? 'healthy'

test('ranks 1,000 backfilled instances with one query per metric: the planted causes first', async () => {
  const report = await fleet(prometheus.url)
  assert.equal(report.instances.length, INSTANCES)
  assert.equal(
    report.source.queries,
    1 + RUNTIME_METRIC_NAMES.length + CADVISOR_METRIC_NAMES.length,
  )
  assert.deepEqual(
    report.gaps.map(g => g.signal).filter(s => s.startsWith('prometheus:')),
    [],
  )

  // The 10 MADV_FREE instances (go1.15: MADV_FREE by default) are critical and come first.
  const first = report.instances.slice(0, 10)
  assert.deepEqual(
    first.map(i => [kind(i.instance), i.verdict, i.findings[0]?.severity, i.goVersion]),
    Array(10).fill(['madv', 'madv-free-retention', 'critical', 'go1.15.15']),
  )
  const verdicts = new Map<Planted, Set<string>>()
  for (const instance of report.instances) {
    const set = verdicts.get(kind(instance.instance)) ?? new Set()
    set.add(instance.verdict)
    verdicts.set(kind(instance.instance), set)
  }
  assert.deepEqual([...(verdicts.get('leak') ?? [])], ['heap-growth'])
  // Prometheus has no /proc: file-mapped, non-go-memory and thp-bloat cannot judge, so an
  // instance without a finding is inconclusive, never healthy; heap-growth did judge it.
  assert.deepEqual([...(verdicts.get('healthy') ?? [])], ['inconclusive'])
  assert.deepEqual([...(verdicts.get('restart') ?? [])], ['inconclusive'])
  // The leaks rank right after the MADV_FREE instances.
  assert.deepEqual(
    new Set(report.instances.slice(10, 20).map(i => kind(i.instance))),
    new Set(['leak']),
  )

  for (const instance of report.instances) {
    const what = kind(instance.instance)
    if (what === 'restart') {
      assert.match(instance.notes.join(' '), /restarted once during the window/)
    }
    if (what === 'partial') {
      // Only go_info, go_goroutines and RSS: kept, its RSS shown, the runtime's detectors unjudged.
      assert.ok(instance.rss?.bytes, instance.instance)
      assert.ok(instance.unjudged.includes('heap-growth'))
      assert.ok(instance.gaps.some(g => g.signal === 'runtime.memstats'))
    }
    if (what === 'healthy' || what === 'restart') {
      assert.ok(!instance.unjudged.includes('heap-growth'), instance.instance)
    }
    // cAdvisor's series joined by namespace and pod give a cgroup view to those only.
    assert.equal(instance.unjudged.includes('cgroup-limit-risk'), what !== 'k8s', instance.instance)
  }
})

test('answers over the server sample limit are split in time and give the same ranking', async () => {
  const limited = await startPrometheus({
    blocksFrom: blocks,
    args: ['--query.max-samples=20000'],
  })
  try {
    const [split, whole] = await Promise.all([fleet(limited.url), fleet(prometheus.url)])
    assert.ok(split.source.queries > whole.source.queries, `${split.source.queries} queries`)
    assert.deepEqual(split.gaps, whole.gaps)
    assert.deepEqual(
      split.instances.map(i => [i.instance, i.verdict, i.rss?.bytes]),
      whole.instances.map(i => [i.instance, i.verdict, i.rss?.bytes]),
    )
  } finally {
    await limited.stop()
  }
})

/** The instance names in the table's rows, top to bottom. */
function rowNames(page: Page): Promise<string[]> {
  return page.locator('table.fleet-table tbody tr td.instance').allTextContents()
}

function countLine(page: Page): Promise<string | null> {
  return page.locator('#fleet-count').textContent()
}

test('fleet --html of 1,000 instances: the worst 100 drawn, a filter narrows them as you type, show all shows every one', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-fleet-scale-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const html = join(dir, 'fleet.html')
  const run = await runCli('fleet', '--prometheus', prometheus.url, ...ARGS, '--html', html)
  assert.equal(run.code, 0, run.err)
  const report = JSON.parse(run.out) as FleetJson
  const names = report.instances.map(i => i.instance)
  const planted = (what: Planted) => names.filter(name => kind(name) === what)
  const troubled = report.instances.filter(i => i.findings.length > 0).map(i => i.instance)
  // The page carries every instance, whatever it draws: an archived page loses nothing.
  const data = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(
    await readFile(html, 'utf8'),
  )
  const embedded = JSON.parse(data?.[1] ?? 'null') as { instances: { instance: string }[] }
  assert.deepEqual(
    embedded.instances.map(i => i.instance),
    names,
  )

  const browser = await launchBrowser()
  t.after(() => browser.close())
  const { page, problems } = await openFilePage(browser, html)
  assert.deepEqual(await rowNames(page), names.slice(0, 100))
  assert.equal(await countLine(page), 'showing the worst 100 of 1,000 instances')
  assert.equal(await page.locator('#fleet-more span').textContent(), '900 more not shown')
  assert.equal(await page.locator('#fleet-show-all-below').textContent(), 'show all 1,000')
  // Detail cards only for the rows drawn: here every instance with findings ranks in the top 100.
  assert.deepEqual(
    await page.locator('article.instance-card h3.instance-name').allTextContents(),
    troubled.filter(name => names.indexOf(name) < 100),
  )

  // From the keyboard: / goes to the filter, and the table narrows with each key.
  await page.keyboard.press('/')
  await page.keyboard.type('mad')
  assert.equal(await countLine(page), "showing 10 of 1,000 instances matching 'mad'")
  await page.keyboard.type('v')
  assert.deepEqual(await rowNames(page), planted('madv'))
  assert.equal(await countLine(page), "showing 10 of 1,000 instances matching 'madv'")
  assert.deepEqual(
    await page.locator('article.instance-card h3.instance-name').allTextContents(),
    planted('madv'),
  )
  assert.equal(await page.locator('#fleet-show-all').isVisible(), false, 'nothing more to show')

  const filterBy = async (text: string) => {
    await page.locator('#fleet-filter').fill(text)
    return rowNames(page)
  }
  // A label value (cAdvisor's namespace, on the Kubernetes instances only), a severity, a
  // finding id, words that must all match, and no match at all.
  assert.deepEqual(await filterBy('shop'), planted('k8s'))
  assert.deepEqual(await filterBy('namespace=shop'), planted('k8s'))
  assert.deepEqual(await filterBy('WARNING'), planted('leak'))
  assert.deepEqual(await filterBy('heap-growth'), planted('leak'))
  assert.deepEqual(
    await filterBy('critical 10.1.0.'),
    planted('madv').filter(name => name.startsWith('10.1.0.')),
  )
  assert.deepEqual(await filterBy('no-such-thing'), [])
  assert.equal(await countLine(page), "showing 0 of 1,000 instances matching 'no-such-thing'")
  assert.equal(
    await page.locator('#details h2').textContent(),
    'Instances with findings (0 of 20: those in the table above)',
  )
  // The page's verdict is the JSON's: from Prometheus nothing is judged in full, so no row is
  // healthy. More matches than are drawn: the worst of them, and the count says so.
  assert.deepEqual(await filterBy('healthy'), [])
  const inconclusive = names.filter((_, i) => report.instances[i]?.verdict === 'inconclusive')
  assert.equal(inconclusive.length, 1000 - troubled.length)
  assert.deepEqual(await filterBy('inconclusive'), inconclusive.slice(0, 100))
  assert.equal(
    await countLine(page),
    `showing the worst 100 of the ${inconclusive.length} instances matching 'inconclusive' (1,000 instances in all)`,
  )
  assert.equal(
    await page.locator('#fleet-show-all').textContent(),
    `show all ${inconclusive.length}`,
  )

  // Escape empties the filter; Tab reaches "show all", Enter shows every instance in rank order.
  await page.locator('#fleet-filter').press('Escape')
  assert.equal(await countLine(page), 'showing the worst 100 of 1,000 instances')
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate('document.activeElement.id'), 'fleet-show-all')
  await page.keyboard.press('Enter')
  assert.deepEqual(await rowNames(page), names)
  assert.equal(await countLine(page), 'showing all 1,000 instances')
  assert.deepEqual(
    await page.locator('article.instance-card h3.instance-name').allTextContents(),
    troubled,
  )
  assert.equal(await page.locator('#fleet-show-all').textContent(), 'show the worst 100 only')
  await page.locator('#fleet-show-all-below').click()
  assert.equal((await rowNames(page)).length, 100)
  assert.deepEqual(problems, [])

  // A link to an instance below the first 100 (kept from an earlier look) draws down to it.
  const linked = await browser.context.newPage()
  await linked.goto(`file://${html}#instance-250`)
  await linked.waitForSelector('body[data-rendered="true"]')
  assert.equal(await countLine(linked), 'showing the worst 250 of 1,000 instances')
  assert.equal(await linked.locator('tr[data-rank="250"] td.instance').textContent(), names[249])
})

/** The fleet page's line colours, in order: rgb() of fleet's instanceColor(0…7). */
const PALETTE = [
  'rgb(220, 38, 38)',
  'rgb(249, 115, 22)',
  'rgb(37, 99, 235)',
  'rgb(124, 58, 237)',
  'rgb(5, 150, 105)',
  'rgb(219, 39, 119)',
  'rgb(8, 145, 178)',
  'rgb(101, 163, 13)',
]

/**
 * '#rank colour' of each line drawn, in legend order (its marker's border), and of each table row
 * that wears a swatch, top to bottom (the swatch's background).
 */
async function colours(page: Page): Promise<{ lines: string[]; swatches: string[] }> {
  return page.evaluate(`(() => {
    const css = (el, property) => el ? getComputedStyle(el)[property] : 'none'
    const series = [...document.querySelectorAll('#chart-fleet-rss .u-legend .u-series')].slice(1)
    const rows = [...document.querySelectorAll('table.fleet-table tbody tr')]
    return {
      lines: series.map(s => s.querySelector('.u-label').textContent.split(' ')[0] + ' ' + css(s.querySelector('.u-marker'), 'borderTopColor')),
      swatches: rows.filter(r => r.querySelector('.swatch')).map(r => '#' + r.dataset.rank + ' ' + css(r.querySelector('.swatch'), 'backgroundColor')),
    }
  })()`)
}

/** The lines drawn and the table's swatches agree, and the i-th line drawn has the i-th colour. */
async function assertColours(page: Page, lines: number): Promise<void> {
  const drawn = await colours(page)
  assert.equal(drawn.lines.length, lines, drawn.lines.join(', '))
  assert.deepEqual(drawn.swatches, drawn.lines)
  assert.deepEqual(
    drawn.lines.map(l => l.slice(l.indexOf(' ') + 1)),
    PALETTE.slice(0, lines),
  )
}

test('fleet --html of 1,000 instances: the page holds every RSS line, the chart draws the worst 8 of what the filter matches with the swatches in its colours, and the URL keeps the filter', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-fleet-scale-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const html = join(dir, 'fleet.html')
  const run = await runCli('fleet', '--prometheus', prometheus.url, ...ARGS, '--html', html)
  assert.equal(run.code, 0, run.err)
  const names = (JSON.parse(run.out) as FleetJson).instances.map(i => i.instance)
  const planted = (what: Planted) => names.filter(name => kind(name) === what)
  const line = (name: string) => `#${names.indexOf(name) + 1} ${name}`
  // The page holds the RSS of every instance, in whole MiB.
  const data = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(
    await readFile(html, 'utf8'),
  )
  const embedded = JSON.parse(data?.[1] ?? 'null') as {
    chart: { unit: { name: string; bytes: number }; lines: { rank: number; values: unknown[] }[] }
  }
  assert.deepEqual(embedded.chart.unit, { name: 'MiB', bytes: 2 ** 20 })
  assert.deepEqual(
    embedded.chart.lines.map(l => l.rank),
    names.map((_, i) => i + 1),
  )
  assert.ok(embedded.chart.lines.every(l => l.values.every(v => v === null || Number.isInteger(v))))
  const worst8 = names.slice(0, 8).map(line)
  // The 10 MADV_FREE instances rank first: the worst 8 drawn are 8 of them.
  const madv = planted('madv')
  assert.deepEqual(names.slice(0, 10), madv)
  const ninth = madv[8] ?? ''

  const browser = await launchBrowser()
  t.after(() => browser.close())
  const { page, problems } = await openFilePage(browser, html)
  const caption = page.locator('#fleet-chart-drawn')
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), worst8)
  assert.ok(await drewLines(page, RSS_CANVAS), 'the chart drew')
  assert.equal(await caption.isVisible(), false)
  assert.match(
    (await page.locator('#chart-fleet-rss figcaption').textContent()) ?? '',
    /rounded to whole MiB/,
  )
  await assertColours(page, 8)

  // An SRE looking at one namespace: none of the 8 worst is in it; its own worst 8 are drawn.
  await page.keyboard.press('/')
  await page.keyboard.type('namespace=shop')
  const shop = planted('k8s')
  assert.deepEqual(await rowNames(page), shop)
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), shop.slice(0, 8).map(line))
  assert.ok(
    await drewLines(page, RSS_CANVAS),
    `no line drawn: ${await inkedPixels(page, RSS_CANVAS)}`,
  )
  assert.equal(
    await caption.textContent(),
    "drawn: the worst 8 of the 10 instances matching 'namespace=shop'",
  )
  assert.equal(await page.evaluate('location.hash'), '#filter=namespace%3Dshop')
  await assertColours(page, 8)

  const filterBy = async (text: string) => {
    await page.locator('#fleet-filter').fill(text)
    return legendLabels(page, '#chart-fleet-rss')
  }
  assert.deepEqual(await filterBy('madv'), worst8)
  assert.ok(await drewLines(page, RSS_CANVAS))
  assert.equal(
    await caption.textContent(),
    "drawn: the worst 8 of the 10 instances matching 'madv'",
  )
  await assertColours(page, 8)
  // The 9th MADV_FREE instance, not among the fleet's worst 8: drawn alone, in the first colour.
  assert.deepEqual(await filterBy(ninth), [line(ninth)])
  assert.ok(await drewLines(page, RSS_CANVAS))
  assert.equal(await caption.textContent(), `drawn: the only instance matching '${ninth}'`)
  assert.equal(await page.evaluate('location.hash'), `#filter=${encodeURIComponent(ninth)}`)
  await assertColours(page, 1)
  // Fewer than 8 matching (3: 10.1.0.4, .104, .204): each drawn, only their rows wear a swatch.
  const someShop = 'shop 10.1.0.'
  const matched = await filterBy(someShop)
  assert.equal(matched.length, 3, matched.join(', '))
  assert.deepEqual(matched, (await rowNames(page)).map(line))
  assert.equal(
    await caption.textContent(),
    `drawn: the ${matched.length} instances matching '${someShop}'`,
  )
  await assertColours(page, matched.length)
  assert.deepEqual(await filterBy('no-such-thing'), [])
  assert.equal(await page.locator('#chart-fleet-rss canvas').count(), 0)
  assert.equal(await caption.textContent(), "no instance matches 'no-such-thing'")
  assert.deepEqual((await colours(page)).swatches, [])
  await page.locator('#fleet-filter').press('Escape')
  assert.deepEqual(await legendLabels(page, '#chart-fleet-rss'), worst8)
  assert.equal(await page.evaluate('location.hash'), '')
  await assertColours(page, 8)
  assert.deepEqual(problems, [])

  // Opened with a filter: its lines are drawn at once, the swatches in their colours.
  const opened = await browser.context.newPage()
  await opened.goto(`file://${html}#filter=${encodeURIComponent(ninth)}`)
  await opened.waitForSelector('body[data-rendered="true"]')
  assert.deepEqual(await legendLabels(opened, '#chart-fleet-rss'), [line(ninth)])
  assert.ok(
    await drewLines(opened, RSS_CANVAS),
    `no line drawn: ${await inkedPixels(opened, RSS_CANVAS)}`,
  )
  await assertColours(opened, 1)
  // The filtered view's URL, shared: the same rows, count and chart.
  const shared = await browser.context.newPage()
  await shared.goto(`file://${html}#filter=namespace%3Dshop`)
  await shared.waitForSelector('body[data-rendered="true"]')
  assert.equal(await shared.locator('#fleet-filter').inputValue(), 'namespace=shop')
  assert.deepEqual(await rowNames(shared), shop)
  assert.equal(await countLine(shared), "showing 10 of 1,000 instances matching 'namespace=shop'")
  assert.deepEqual(await legendLabels(shared, '#chart-fleet-rss'), shop.slice(0, 8).map(line))
  assert.ok(await drewLines(shared, RSS_CANVAS))
  assert.equal(
    await shared.locator('#fleet-chart-drawn').textContent(),
    "drawn: the worst 8 of the 10 instances matching 'namespace=shop'",
  )
  await assertColours(shared, 8)
})
