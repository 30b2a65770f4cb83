/**
 * A day at one sample per second: generates a 24 h recording (86,400 ticks) from a real capture,
 * then measures `report --json` and `report --html` (wall time, peak RSS), the HTML file's size,
 * and Chromium's time from navigation to the first complete render of that file.
 *
 *   node --import tsx bench/report.bench.ts [--ticks 86400]
 *
 * The recording is generated once into $TMPDIR/gomemdoctor-bench/day-<ticks>.db and reused.
 * Each tick is the madv-free-retention capture's tick with its figures moved along a day of
 * traffic: RSS climbs in steps after each peak and never comes back (MADV_FREE'd pages stay),
 * the live heap follows the traffic, GC runs faster at peaks. Heap profiles at both edges.
 */
import { existsSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MiB } from '../src/model/units.ts'
import { captureText, type RawCapture } from '../src/sources/capture.ts'
import { openStore } from '../src/store/db.ts'
import { appendCaptures, createRecording, finishRecording } from '../src/store/recordings.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import { GO119, loadRun } from '../test/helpers/capture.ts'
import { seededRandom } from '../test/helpers/random.ts'
import { measure } from './measure.ts'

const BIN = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const ticksArg = process.argv.indexOf('--ticks')
const TICKS = ticksArg > 0 ? Number(process.argv[ticksArg + 1]) : 86_400
const DIR = join(tmpdir(), 'gomemdoctor-bench')
const DB = join(DIR, `day-${TICKS}.db`)
const HTML = join(DIR, `day-${TICKS}.html`)

async function generate(): Promise<void> {
  const run = await loadRun(`${GO119}/madv-free-retention`)
  const profiles = (await loadRun(`${GO119}/cgroup-limit-risk`)).captures.ticks
    .flatMap(t => t.captures)
    .filter(c => c.kind === 'pprof-heap')
  const template = run.captures.ticks.at(-1)?.captures ?? []
  const rand = seededRandom(42)
  const startMs = Date.UTC(2026, 10, 1)
  await mkdir(DIR, { recursive: true })
  await rm(DB, { force: true })
  const db = openStore(DB, { mode: 'write' })
  const id = createRecording(db, DB, {
    startedAtMs: startMs,
    command: 'bench',
    pid: run.captures.pid ?? 1,
  })
  const notes = { gaps: run.gaps, notes: run.notes, sources: run.sources }
  appendCaptures(db, DB, id, 'once', 0, run.captures.once, notes)
  let retained = 0
  let numGC = 100
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const atMs = startMs + i * 1000
      const hour = (i / 3600) % 24
      // Two traffic peaks a day; the live heap follows them.
      const traffic = 0.3 + 0.7 * Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI)) ** 2
      const live = Math.round((120 + 380 * traffic + 3 * rand()) * MiB)
      // After each peak, freed pages stay resident as LazyFree: a step that never comes down.
      retained = Math.max(retained, live)
      const lazyFree = Math.max(0, retained - live)
      numGC += rand() < 0.05 + 0.2 * traffic ? 1 : 0
      const captures = template.map(c => vary(c, atMs, { live, lazyFree, numGC }))
      if (i === 0 || i === TICKS - 1) {
        const profile = profiles[i === 0 ? 0 : profiles.length - 1]
        if (profile) captures.push({ ...profile, atMs })
      }
      appendCaptures(db, DB, id, i, atMs, captures, notes)
    }
  })
  for (let from = 0; from < TICKS; from += 2000) batch(from, Math.min(TICKS, from + 2000))
  finishRecording(db, DB, id, startMs + TICKS * 1000, notes)
  db.close()
}

/** The template capture with its figures replaced: bytes in kB lines, memstats in expvar. */
function vary(
  capture: RawCapture,
  atMs: number,
  f: { live: number; lazyFree: number; numGC: number },
): RawCapture {
  const kb = (n: number) => String(Math.round(n / 1024))
  const overhead = 60 * MiB
  const rss = f.live + f.lazyFree + overhead
  let text = captureText(capture)
  switch (capture.kind) {
    case 'proc-status':
      text = text
        .replace(/^(VmRSS:\s+)\d+/m, `$1${kb(rss)}`)
        .replace(/^(RssAnon:\s+)\d+/m, `$1${kb(rss - 8 * MiB)}`)
      break
    case 'smaps-rollup':
      text = text
        .replace(/^(Rss:\s+)\d+/m, `$1${kb(rss)}`)
        .replace(/^(LazyFree:\s+)\d+/m, `$1${kb(f.lazyFree)}`)
        .replace(/^(Anonymous:\s+)\d+/m, `$1${kb(rss - 8 * MiB)}`)
      break
    case 'expvar': {
      const vars = JSON.parse(text) as { memstats: Record<string, number> }
      const m = vars.memstats
      const heapSys = f.live + f.lazyFree + 64 * MiB
      m.HeapAlloc = f.live
      m.HeapInuse = f.live + 4 * MiB
      m.HeapSys = heapSys
      m.HeapIdle = heapSys - m.HeapInuse
      m.HeapReleased = Math.max(0, m.HeapIdle - 16 * MiB)
      m.NextGC = f.live * 2
      m.NumGC = f.numGC
      m.Sys = heapSys + 40 * MiB
      text = JSON.stringify(vars)
      break
    }
    default:
      break
  }
  return { ...capture, atMs, bytes: new TextEncoder().encode(text) }
}

async function firstRender(file: string, runs: number): Promise<number[]> {
  const browser = await launchBrowser()
  try {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const page = await browser.context.newPage()
      const started = performance.now()
      await page.goto(`file://${file}`)
      await page.waitForSelector('body[data-rendered="true"]', { timeout: 60_000 })
      times.push(performance.now() - started)
      await page.close()
    }
    return times
  } finally {
    await browser.close()
  }
}

if (!existsSync(DB)) {
  const started = performance.now()
  await generate()
  console.log(`generated ${TICKS} ticks in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}
const dbSize = (await stat(DB)).size
const json = measure('report --json', process.execPath, [BIN, 'report', DB, '--json'], 3)
const html = measure(
  'report --html',
  process.execPath,
  [BIN, 'report', DB, '--json', '--html', HTML],
  3,
)
const htmlSize = (await stat(HTML)).size
const renders = await firstRender(HTML, 3)
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`
console.log(`\n| ${TICKS} samples | figure |\n|---|---|`)
console.log(`| recording (SQLite, WAL checkpointed) | ${mib(dbSize)} |`)
console.log(`| ${json.label} | ${json.seconds.toFixed(2)} s, peak RSS ${mib(json.peakRssBytes)} |`)
console.log(`| ${html.label} | ${html.seconds.toFixed(2)} s, peak RSS ${mib(html.peakRssBytes)} |`)
console.log(`| HTML file | ${mib(htmlSize)} |`)
console.log(
  `| Chromium, navigation to first complete render | ${renders.map(ms => `${Math.round(ms)} ms`).join(', ')} |`,
)
