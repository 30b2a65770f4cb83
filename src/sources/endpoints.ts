/**
 * Finding and probing the target's HTTP endpoints: which port serves Go statistics, which
 * runtime view to read every sample, whether net/http/pprof is there. Requests are sequential,
 * bounded by the shared http transport.
 */
import { readdir, readlink } from 'node:fs/promises'
import { messageOf, TargetError } from '../errors.ts'
import type { Gap } from '../model/finding.ts'
import type { CaptureKind, CaptureSet, RawCapture } from './capture.ts'
import { parseListeningSockets, parseRuntimeView } from './formats/index.ts'
import { parsePprofIndex } from './formats/pprof-index.ts'
import { headOf, looksLikeHtml } from './formats/sniff.ts'
import { readCapture } from './transports/files.ts'
import { httpGet } from './transports/http.ts'
import { inOtherNetns, relayIntoNetns } from './transports/netns.ts'

/** The runtime-view endpoints, most preferred first. /metrics from client_golang ≥ 1.12 on
 * Go ≥ 1.17 reads runtime/metrics and does not stop the world; expvar and the heap profile's
 * trailer call ReadMemStats, which does. */
const RUNTIME_ENDPOINTS: { path: string; kind: CaptureKind }[] = [
  { path: '/metrics', kind: 'prom-text' },
  { path: '/debug/vars', kind: 'expvar' },
  { path: '/debug/pprof/heap?debug=1', kind: 'pprof-heap-text' },
]

/** Ports probed at most when finding a target's HTTP server from its sockets. */
const MAX_PORTS_PROBED = 8

/** A GET whose failure costs only one signal: undefined instead of an error. */
export async function optionalGet(
  kind: CaptureKind,
  url: string,
  options: { httpTimeoutMs?: number },
  maxBytes = 4 << 20,
): Promise<RawCapture | undefined> {
  try {
    const answer = await httpGet(kind, url, { timeoutMs: options.httpTimeoutMs ?? 5000, maxBytes })
    return answer.status === 200 && !answer.truncated ? answer.capture : undefined
  } catch {
    // The target may be busy or gone; the tick's main reads already decide what that means.
    return undefined
  }
}

/** True when /debug/pprof/ answers as net/http/pprof's index. Returns its base (…/debug/pprof). */
export async function probePprof(url: string, timeoutMs?: number): Promise<string | undefined> {
  const base = `${url}/debug/pprof`
  const index = await optionalGet('pprof-index', `${base}/`, { httpTimeoutMs: timeoutMs ?? 5000 })
  if (!index) return undefined
  try {
    parsePprofIndex(index)
    return base
  } catch {
    // Something answers there, but not net/http/pprof.
    return undefined
  }
}

/**
 * Finds a Go HTTP server among the target's own listening TCP sockets. A target in another
 * network namespace is reached inside it through a relay (transports/netns.ts), which the
 * collection stops when it ends (stopNetnsRelay).
 */
export async function discoverUrl(
  pid: number,
  gaps: Gap[],
  timeoutMs?: number,
  notes?: string[],
): Promise<string | undefined> {
  let inodes: Set<number>
  try {
    const fds = await readdir(`/proc/${pid}/fd`)
    const links = await Promise.all(
      fds.map(fd => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')),
    )
    inodes = new Set(
      links.flatMap(link => {
        const match = /^socket:\[(\d+)\]$/.exec(link)
        return match ? [Number(match[1])] : []
      }),
    )
  } catch (error) {
    gaps.push({
      signal: 'runtime.memstats',
      reason: `cannot list /proc/${pid}/fd to find its HTTP server (${messageOf(error)}); pass --url`,
      cost: 'the Go heap cannot be told apart from stacks, runtime metadata and non-Go memory',
    })
    return undefined
  }
  const candidates: string[] = []
  for (const file of ['tcp', 'tcp6']) {
    const table = await readCapture('proc-net-tcp', `/proc/${pid}/net/${file}`, 16 << 20)
    if (!table.ok) continue
    for (const socket of parseListeningSockets(table.capture)) {
      if (!inodes.has(socket.inode)) continue
      const host = hostFor(socket.address)
      candidates.push(`http://${host}:${socket.port}`)
    }
  }
  const probed = candidates.slice(0, MAX_PORTS_PROBED)
  if (probed.length > 0 && (await inOtherNetns(pid))) {
    const relay = await relayIntoNetns(pid, probed)
    const listed = probed.map(base => base.replace('http://', '')).join(', ')
    if ('reason' in relay) {
      gaps.push({
        signal: 'runtime.memstats',
        reason: `the target listens on ${listed} in a network namespace of its own (/proc/${pid}/ns/net), which this process is not in, and entering it failed: ${relay.reason}; run gomemdoctor in the target's network namespace (kubectl debug --target, a sidecar), or as root with nsenter installed, or pass --url`,
        cost: 'the Go heap cannot be told apart from stacks, runtime metadata and non-Go memory',
      })
      return undefined
    }
    notes?.push(
      `the target is in a network namespace of its own: its HTTP server (${listed}) was reached inside it, through nsenter --net=/proc/${pid}/ns/net`,
    )
  }
  for (const base of probed) {
    for (const endpoint of RUNTIME_ENDPOINTS) {
      try {
        const answer = await httpGet(endpoint.kind, base + endpoint.path, {
          timeoutMs: timeoutMs ?? 2000,
          maxBytes: 4 << 20,
        })
        if (answer.status === 200 && parseRuntimeView(answer.capture).runtime) return base
      } catch (error) {
        // Not HTTP, not answering, or not Go statistics: try the next endpoint, then port.
        if (error instanceof TargetError) break
      }
    }
  }
  return undefined
}

/** Wildcard listeners are reached over loopback; IPv6 addresses need brackets. */
function hostFor(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1'
  if (address === '::') return '[::1]'
  return address.includes(':') ? `[${address}]` : address
}

/**
 * Probes the runtime endpoints in order of preference and keeps the first that gives a Go
 * memory view. Each refusal is remembered so the gap can say what each endpoint answered.
 */
export async function chooseRuntimeEndpoint(
  base: string,
  urlOnly: boolean,
  gaps: Gap[],
  set: CaptureSet,
  timeoutMs?: number,
): Promise<{ url: string; kind: CaptureKind } | undefined> {
  const answers: string[] = []
  let reachable = false
  for (const endpoint of RUNTIME_ENDPOINTS) {
    const url = base + endpoint.path
    try {
      const answer = await httpGet(endpoint.kind, url, { timeoutMs: timeoutMs ?? 5000 })
      reachable = true
      if (answer.status !== 200 || answer.truncated) {
        answers.push(
          `${endpoint.path}: ${describeAnswer(answer.status, answer.capture, answer.truncated)}`,
        )
        continue
      }
      const view = parseRuntimeView(answer.capture)
      if (!view.runtime) {
        answers.push(`${endpoint.path}: no Go memory statistics in it`)
        continue
      }
      // The first answer doubles as a once-capture: /metrics may carry go_info's version.
      set.once.push(answer.capture)
      return { url, kind: endpoint.kind }
    } catch (error) {
      if (error instanceof TargetError) {
        if (!reachable && urlOnly) throw error
        answers.push(`${endpoint.path}: ${messageOf(error).replace(`${url}: `, '')}`)
        if (!reachable) break
        continue
      }
      answers.push(`${endpoint.path}: ${messageOf(error)}`)
    }
  }
  if (urlOnly) {
    throw new TargetError(`${base} serves no Go memory statistics (${answers.join('; ')})`)
  }
  gaps.push({
    signal: 'runtime.memstats',
    reason: `${base} gave no Go memory statistics (${answers.join('; ')})`,
    cost: 'the Go heap cannot be told apart from stacks, runtime metadata and non-Go memory',
  })
  return undefined
}

export function describeAnswer(status: number, capture: RawCapture, truncated: boolean): string {
  if (truncated) return 'a body larger than the size cap'
  if (status !== 200) return `HTTP ${status}`
  if (looksLikeHtml(headOf(capture.bytes))) return 'an HTML page'
  return `HTTP ${status}`
}
