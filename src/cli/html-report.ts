import { createHash, randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError, messageOf } from '../errors.ts'
import { embeddedAsset, IN_EXECUTABLE, INSTALL_ROOT } from '../install-root.ts'
import type { Diagnosis } from '../model/diagnosis.ts'
import type { Edges } from '../model/edges.ts'
import type { Profile } from '../model/heap-profile.ts'
import type { FleetView } from '../report/html/fleet-view.ts'
import { type ClientAssets, renderHtmlPage } from '../report/html/page.ts'
import { type ReportView, toReportView } from '../report/html/view-model.ts'
import { assemble } from '../sources/assemble.ts'
import type { CaptureSet } from '../sources/capture.ts'
import type { SavedRun } from '../sources/transports/capture-dir.ts'

const ROOT = INSTALL_ROOT
const HTML_DIR = join(ROOT, 'src', 'report', 'html')
const ENTRY = join(HTML_DIR, 'client', 'main.ts')
/** Built clients are kept here (gitignored), keyed by a hash of their sources. */
const CACHE_DIRS = [join(ROOT, 'build', 'client'), join(tmpdir(), 'gomemdoctor-client')]

/** The built client's name inside the single executable (scripts/package.ts packs it). */
export const CLIENT_ASSET = 'report-client.json'

let assets: Promise<ClientAssets> | undefined

/**
 * The browser client, bundled by esbuild on first use and cached by the hash of its sources and
 * of the bundler and uPlot versions, so `npx gomemdoctor` works straight after `npm ci` and later
 * runs skip the ~0.3 s build.
 */
export function clientAssets(): Promise<ClientAssets> {
  assets ??= loadAssets().catch((error: unknown) => {
    assets = undefined
    throw error
  })
  return assets
}

async function loadAssets(): Promise<ClientAssets> {
  // The executable carries the client built when it was packed, and neither sources nor esbuild.
  const packed = embeddedAsset(CLIENT_ASSET)
  if (packed) return JSON.parse(packed.toString('utf8')) as ClientAssets
  if (IN_EXECUTABLE)
    throw new InputError('this executable was packed without the HTML report client')
  const key = await sourceHash()
  for (const dir of CACHE_DIRS) {
    try {
      const cached = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as ClientAssets
      if (typeof cached.js === 'string' && typeof cached.css === 'string') return cached
    } catch {
      // Not built yet, or unreadable: build below.
    }
  }
  const built = await buildClient()
  for (const dir of CACHE_DIRS) {
    const tmp = join(dir, `${key}.${randomUUID()}.tmp`)
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(tmp, JSON.stringify(built))
      await rename(tmp, join(dir, `${key}.json`))
      break
    } catch {
      // A read-only install: try the next place; without a cache the next run builds again.
      await rm(tmp, { force: true })
    }
  }
  return built
}

/** Bundles src/report/html/client into one script and one style sheet, both minified. */
export async function buildClient(): Promise<ClientAssets> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    write: false,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    outdir: join(ROOT, 'build', 'client-out'),
    legalComments: 'none',
    logLevel: 'silent',
  })
  const js = result.outputFiles.find(f => f.path.endsWith('.js'))?.text
  const css = result.outputFiles.find(f => f.path.endsWith('.css'))?.text
  if (js === undefined || css === undefined) throw new Error('esbuild gave no client bundle')
  return { js, css }
}

async function sourceHash(): Promise<string> {
  const require = createRequire(import.meta.url)
  const hash = createHash('sha256')
  for (const pkg of ['esbuild/package.json', 'uplot/package.json']) {
    hash.update(JSON.parse(await readFile(require.resolve(pkg), 'utf8')).version as string)
  }
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true })
    const files = await Promise.all(
      entries.map(e => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
    )
    return files.flat().sort()
  }
  for (const file of await walk(HTML_DIR)) {
    hash.update(file.slice(HTML_DIR.length))
    hash.update(await readFile(file))
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * The heap profiles at the window's edges, for the allocation-site icicle. Only the two ticks
 * holding them are assembled again, which costs the same for a 30 s run and a day-long one.
 */
export function heapProfilesOf(set: CaptureSet): Edges<Profile> | undefined {
  const withHeap = set.ticks.filter(tick => tick.captures.some(c => c.kind === 'pprof-heap'))
  const edges = [withHeap[0], withHeap.length > 1 ? withHeap.at(-1) : undefined].flatMap(tick =>
    tick ? [{ atMs: tick.atMs, captures: tick.captures.filter(c => c.kind === 'pprof-heap') }] : [],
  )
  return assemble({ once: [], ticks: edges }).heapProfiles
}

/** Writes the self-contained HTML report of a diagnosed run. */
export async function writeHtmlReport(
  path: string,
  run: SavedRun,
  diagnosis: Diagnosis,
): Promise<void> {
  const heapProfiles = heapProfilesOf(run.captures)
  const view = toReportView(diagnosis, {
    mode: 'report',
    generatedAtMs: Date.now(),
    ...(heapProfiles ? { heapProfiles } : {}),
  })
  await writeHtmlPage(path, view)
}

/** Writes a view (one process's report, or a fleet's) as one self-contained page. */
export async function writeHtmlPage(path: string, view: ReportView | FleetView): Promise<void> {
  const page = renderHtmlPage(view, await clientAssets())
  try {
    await writeFile(path, page)
  } catch (error) {
    throw new InputError(`${path}: cannot write the HTML report (${messageOf(error)})`)
  }
}
