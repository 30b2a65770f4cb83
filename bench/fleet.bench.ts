/**
 * `gomemdoctor fleet` against a real Prometheus holding 1,000 Go instances × 6 h at 30 s steps
 * (test/helpers/synthetic-fleet.ts, backfilled with promtool; the blocks are cached in
 * build/synthetic-fleet/, the first run takes a couple of minutes to make them): wall time, range
 * queries and peak RSS of the CLI; then the `--html` page of the same fleet: its size (whole,
 * gzipped, and the chart's share: every instance's RSS), and Chromium's time from navigation to
 * the first complete render (as bench/report.bench.ts measures it). Not part of the test suite: `node --import tsx bench/fleet.bench.ts`.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { clientAssets } from '../src/cli/html-report.ts'
import type { FleetJson } from '../src/report/fleet.ts'
import type { FleetView } from '../src/report/html/fleet-view.ts'
import { renderHtmlPage } from '../src/report/html/page.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import { startPrometheus } from '../test/helpers/prometheus.ts'
import { SYNTHETIC_END_S, syntheticFleetBlocks } from '../test/helpers/synthetic-fleet.ts'
import { measure } from './measure.ts'

const INSTANCES = 1000
const POINTS = 721
const RENDERS = 5
const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const DIR = join(tmpdir(), 'gomemdoctor-bench')
const HTML = join(DIR, `fleet-${INSTANCES}.html`)
const TROUBLED_HTML = join(DIR, `fleet-${INSTANCES}-all-troubled.html`)

/**
 * The same page as if every instance were in trouble (a fleet still on Go 1.15 is all
 * madv-free-retention): each healthy instance takes the findings and breakdown of one of the
 * planted ones, so the page has a detail card per instance.
 */
async function allTroubled(view: FleetView): Promise<string> {
  const troubled = view.instances.filter(i => i.findings.length > 0)
  const instances = view.instances.map((instance, n) => {
    if (instance.findings.length > 0) return instance
    const donor = troubled[n % troubled.length] ?? instance
    const { findings, rss, top, verdict, severity, gaps, notes } = donor
    return { ...instance, findings, rss, top, verdict, severity, gaps, notes }
  })
  const counts = { critical: 0, warning: 0, info: 0, inconclusive: 0, healthy: 0 }
  for (const i of instances) counts[i.findings[0]?.severity ?? 'healthy']++
  return renderHtmlPage({ ...view, instances, counts }, await clientAssets())
}

/** Per run: ms from navigation to body[data-rendered], and what the page holds then. */
async function firstRenders(file: string, runs: number): Promise<string[]> {
  const browser = await launchBrowser()
  try {
    const lines: string[] = []
    for (let i = 0; i < runs; i++) {
      const page = await browser.context.newPage()
      const started = performance.now()
      await page.goto(`file://${file}`)
      await page.waitForSelector('body[data-rendered="true"]', { timeout: 120_000 })
      const ms = performance.now() - started
      const rows = await page.locator('table.fleet-table tbody tr').count()
      const cards = await page.locator('article.instance-card').count()
      const nodes = await page.evaluate('document.getElementsByTagName("*").length')
      lines.push(`${Math.round(ms)} ms (${rows} rows, ${cards} detail cards, ${nodes} elements)`)
      const showAll = page.locator('#fleet-show-all')
      if (i === 0 && (await showAll.count()) > 0) {
        const clicked = performance.now()
        await showAll.click()
        await page.evaluate('new Promise(r => requestAnimationFrame(() => setTimeout(r)))')
        const all = await page.locator('table.fleet-table tbody tr').count()
        lines.push(`  show all: ${Math.round(performance.now() - clicked)} ms to ${all} rows`)
      }
      await page.close()
    }
    return lines
  } finally {
    await browser.close()
  }
}

const made = Date.now()
const blocks = await syntheticFleetBlocks({ instances: INSTANCES, points: POINTS, stepS: 30 })
console.log(`blocks: ${blocks} (ready in ${((Date.now() - made) / 1000).toFixed(1)} s)`)
const prometheus = await startPrometheus({ blocksFrom: blocks })
try {
  const args = [bin, 'fleet', '--prometheus', prometheus.url, '--range', '6h', '--step', '30s']
  const json = [...args, '--end', String(SYNTHETIC_END_S), '--json']
  const once = spawnSync(process.execPath, json, { encoding: 'utf8', maxBuffer: 1 << 30 })
  if (once.status !== 0) throw new Error(`fleet exited ${once.status}: ${once.stderr}`)
  const report = JSON.parse(once.stdout) as FleetJson
  const ranked = report.instances.slice(0, 3).map(i => `${i.instance} ${i.verdict}`)
  const m = measure(`gomemdoctor fleet, ${INSTANCES} instances × 6 h`, process.execPath, json, 3)
  await mkdir(DIR, { recursive: true })
  const html = spawnSync(process.execPath, [...json, '--html', HTML], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  })
  if (html.status !== 0) throw new Error(`fleet --html exited ${html.status}: ${html.stderr}`)
  const page = await readFile(HTML, 'utf8')
  const data = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(page)
  const view = JSON.parse(data?.[1] ?? 'null') as FleetView
  const troubledPage = await allTroubled(view)
  await writeFile(TROUBLED_HTML, troubledPage)
  const renders = await firstRenders(HTML, RENDERS)
  const troubledRenders = await firstRenders(TROUBLED_HTML, RENDERS)
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`
  console.log(
    [
      `instances ${report.instances.length}, points per series ${POINTS}, range queries ${report.source.queries}`,
      `worst: ${ranked.join('; ')}`,
      `${m.label}: ${m.seconds.toFixed(2)} s wall, ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB peak RSS`,
      `HTML ${HTML}: ${kib(Buffer.byteLength(page))} (${kib(gzipSync(page).length)} gzipped), of which the embedded data ${kib(Buffer.byteLength(data?.[1] ?? ''))}, the chart's ${view.chart.lines.length} lines ${kib(Buffer.byteLength(JSON.stringify(view.chart)))}`,
      `Chromium, navigation to first complete render (${RENDERS} loads):`,
      ...renders.map(line => `  ${line}`),
      `the same fleet with every instance in trouble, ${TROUBLED_HTML}: ${kib(Buffer.byteLength(troubledPage))}`,
      ...troubledRenders.map(line => `  ${line}`),
    ].join('\n'),
  )
} finally {
  await prometheus.stop()
}
