import { Option } from 'commander'
import { diagnose } from '../../detectors/diagnose.ts'
import { InputError, UsageError } from '../../errors.ts'
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Gap } from '../../model/finding.ts'
import { parseDuration } from '../../model/units.ts'
import { type FleetEntry, renderFleetJson, renderFleetTable } from '../../report/fleet.ts'
import { rssTrend, toFleetView } from '../../report/html/fleet-view.ts'
import { toReportView } from '../../report/html/view-model.ts'
import { renderJson } from '../../report/json.ts'
import { renderTerminal } from '../../report/terminal.ts'
import {
  assembleInstance,
  groupInstances,
  PROMETHEUS_GAPS,
  type PromInstance,
} from '../../sources/assemble-prometheus.ts'
import {
  describeWindow,
  type FleetFetch,
  fetchFleet,
  type PromWindow,
  selectorMatchers,
  windowFor,
} from '../../sources/transports/prometheus.ts'
import type { CliCommand } from '../command.ts'
import type { ExitCode } from '../exit-codes.ts'
import { exitCodeFor, type FailOn, failOnOption } from '../fail-on.ts'
import { writeHtmlPage } from '../html-report.ts'

interface FleetFlags {
  prometheus: string
  selector?: string
  range: string
  step?: string
  end?: string
  timeout: string
  json?: boolean
  html?: string
  failOn?: FailOn
  maxPointsPerQuery?: string
}

export const fleetCommand: CliCommand = {
  register(program, done) {
    program
      .command('fleet')
      .description(
        'rank every Go instance a Prometheus server scrapes: who is in trouble, and why (client_golang and cAdvisor metrics)',
      )
      .requiredOption(
        '--prometheus <url>',
        'the Prometheus (Thanos, Mimir, VictoriaMetrics) base URL',
      )
      .option('--selector <matchers>', 'which instances, as label matchers: \'{job="api"}\'')
      .option('--range <d>', 'how far back to look', '6h')
      .option('--step <d>', 'time between points (default: the range / 720, at least 1s)')
      .option('--end <time>', 'end of the window: RFC 3339 or Unix seconds (default: now)')
      .option('--timeout <d>', 'give up on one range query after this long', '30s')
      .option('--json', 'print one JSON document on stdout, nothing else')
      .option(
        '--html <file>',
        'also write a self-contained HTML report (ranked table, RSS chart, findings) to FILE',
      )
      .addOption(failOnOption("an instance's finding"))
      .addOption(new Option('--max-points-per-query <n>').hideHelp())
      .addHelpText(
        'after',
        `\nExamples:\n  gomemdoctor fleet --prometheus http://prometheus:9090 --selector '{job="api"}'\n  gomemdoctor fleet --prometheus http://prometheus:9090 --range 24h --json\n  gomemdoctor fleet --prometheus http://prometheus:9090 --html fleet.html`,
      )
      .action(async (flags: FleetFlags) => {
        done({ exitCode: await runFleet(flags) })
      })
  },
}

async function runFleet(flags: FleetFlags): Promise<ExitCode> {
  const url = prometheusUrl(flags.prometheus)
  const window = windowOf(flags.range, flags.step, flags.end, 720)
  const { fetched, instances } = await readFleet(url, flags.selector, window, flags)
  const entries = diagnoseFleet(instances, fetched, url, flags.html !== undefined)
  const run = {
    url,
    selector: flags.selector ?? '',
    range: flags.range,
    window,
    queries: fetched.requests,
    entries,
    gaps: [...fetched.gaps, ...PROMETHEUS_GAPS],
  }
  if (flags.json) process.stdout.write(renderFleetJson(run))
  else {
    process.stdout.write(
      renderFleetTable(run, {
        color: process.stdout.isTTY === true,
        width: Math.min(process.stdout.columns ?? 120, 160),
      }),
    )
  }
  if (flags.html !== undefined) {
    await writeHtmlPage(flags.html, toFleetView(run, { generatedAtMs: Date.now() }))
  }
  return exitCodeFor(
    entries.map(e => e.diagnosis),
    flags.failOn,
  )
}

/** Reads the fleet and groups it by instance; none found is the user's selector or range. */
export async function readFleet(
  url: string,
  selector: string | undefined,
  window: PromWindow,
  flags: { timeout: string; maxPointsPerQuery?: string },
): Promise<{ fetched: FleetFetch; instances: PromInstance[] }> {
  const fetched = await fetchFleet(url, selector, window, {
    timeoutMs: durationOf(flags.timeout, '--timeout'),
    ...(flags.maxPointsPerQuery === undefined
      ? {}
      : { maxPointsPerQuery: positive(flags.maxPointsPerQuery, '--max-points-per-query') }),
  })
  const instances = groupInstances(fetched.byName)
  if (instances.length === 0) {
    const failed =
      fetched.gaps.length > 0
        ? ` (and ${fetched.gaps.length} parts failed: ${fetched.gaps[0]?.reason})`
        : ''
    throw new InputError(
      `no Go instances: no go_* series${selector ? ` match ${selector}` : ''} at ${url} over ${describeWindow(window)} ending ${new Date(window.endMs).toISOString()}${failed}`,
    )
  }
  return { fetched, instances }
}

/** The same diagnosis a live run gets, on the instance's snapshots from Prometheus. */
export function diagnoseInstance(
  instance: PromInstance,
  window: PromWindow,
  fetchGaps: readonly Gap[],
  url: string,
): Diagnosis {
  const assembled = assembleInstance(instance, window, url)
  // A query that failed is missing for every instance: each diagnosis names it.
  const gaps: Gap[] = [...PROMETHEUS_GAPS, ...fetchGaps, ...assembled.gaps]
  return diagnose({
    target: assembled.target,
    series: assembled.series,
    gaps,
    sources: assembled.sources,
    notes: [
      `instance ${instance.instance} (job ${instance.job}) read from Prometheus over ${describeWindow(window)}`,
      ...assembled.notes,
    ],
  })
}

/**
 * Diagnoses every instance; the series are dropped: the table and JSON do not draw them, and
 * the HTML report keeps only each instance's RSS on its chart's grid (at most 360 points).
 */
function diagnoseFleet(
  instances: PromInstance[],
  fetched: FleetFetch,
  url: string,
  forHtml: boolean,
): FleetEntry[] {
  return instances.map(instance => {
    const diagnosis = diagnoseInstance(instance, fetched.window, fetched.gaps, url)
    const trend = forHtml ? rssTrend(diagnosis.series, fetched.window) : undefined
    diagnosis.series = []
    // Its columns are no longer needed: let them go while the rest is diagnosed.
    instance.columns.clear()
    const entry: FleetEntry = { instance: instance.instance, job: instance.job, diagnosis }
    if (trend) {
      entry.rssTrend = trend
      entry.labels = instance.labels
    }
    return entry
  })
}

/**
 * `diagnose --prometheus URL --instance X`: one instance's history through the fleet's path,
 * printed as `diagnose` prints a live run.
 */
export async function diagnoseFromPrometheus(flags: {
  prometheus: string
  instance?: string
  selector?: string
  range?: string
  step?: string
  end?: string
  httpTimeout?: string
  json?: boolean
  failOn?: FailOn
  html?: string
}): Promise<ExitCode> {
  if (flags.instance === undefined) {
    throw new UsageError(
      'diagnose --prometheus needs --instance (the instance label of the target)',
    )
  }
  const url = prometheusUrl(flags.prometheus)
  const window = windowOf(flags.range ?? '24h', flags.step, flags.end, 5000)
  const extra = selectorMatchers(flags.selector)
  const selector = `{instance=${JSON.stringify(flags.instance)}${extra ? `,${extra}` : ''}}`
  const { fetched, instances } = await readFleet(url, selector, window, {
    timeout: flags.httpTimeout ?? '30s',
  })
  if (instances.length > 1) {
    throw new UsageError(
      `instance ${flags.instance} is in several jobs (${instances.map(i => i.job).join(', ')}): add --selector '{job="…"}'`,
    )
  }
  const instance = instances[0] as PromInstance
  const diagnosis = diagnoseInstance(instance, fetched.window, fetched.gaps, url)
  if (flags.json) process.stdout.write(renderJson(diagnosis))
  else {
    process.stdout.write(
      renderTerminal(diagnosis, {
        color: process.stdout.isTTY === true,
        width: Math.min(process.stdout.columns ?? 100, 100),
      }),
    )
  }
  if (flags.html !== undefined) {
    // The single-process page, fed from the series; what only /proc or a profile gives is
    // among the diagnosis's gaps, which the page lists.
    const view = toReportView(diagnosis, {
      mode: 'report',
      generatedAtMs: Date.now(),
      subject: {
        who: `instance ${instance.instance} (job ${instance.job})`,
        facts: [
          { label: 'instance', value: instance.instance },
          { label: 'job', value: instance.job },
          { label: 'Prometheus', value: url },
        ],
      },
    })
    await writeHtmlPage(flags.html, view)
  }
  return exitCodeFor([diagnosis], flags.failOn)
}

function prometheusUrl(text: string): string {
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    return url.toString().replace(/\/+$/, '')
  } catch {
    throw new UsageError(`--prometheus: "${text}" is not an http(s) URL`)
  }
}

/**
 * The window from --range, --step and --end. The default step is range / points in whole
 * seconds: a short range then sees every scrape (30 s at a 1 s scrape is 30 points, where a fast
 * leak shows three or four GC cycles); a step below the scrape interval only repeats points.
 */
function windowOf(
  range: string,
  step: string | undefined,
  end: string | undefined,
  points: number,
): PromWindow {
  const rangeMs = durationOf(range, '--range')
  const stepMs =
    step === undefined
      ? Math.max(1000, Math.ceil(rangeMs / points / 1000) * 1000)
      : durationOf(step, '--step')
  if (rangeMs / stepMs > 1_000_000) {
    throw new UsageError(`--range ${range} at --step ${step} is over a million points per series`)
  }
  return windowFor(rangeMs, stepMs, end === undefined ? Date.now() : endOf(end))
}

function endOf(text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text)
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--end: cannot read "${text}" as a time (RFC 3339 or Unix seconds)`)
  }
  return ms
}

function positive(text: string, flag: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag}: "${text}" is not a positive integer`)
  return n
}

function durationOf(text: string, flag: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${flag}: cannot read "${text}" as a duration (try 30s, 6h, 7d)`)
  return ms
}
