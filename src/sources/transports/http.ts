import { TargetError } from '../../errors.ts'
import type { CaptureKind, RawCapture } from '../capture.ts'

export interface HttpOptions {
  timeoutMs?: number
  /** Bodies over this are cut, and the answer says so: a target must never make us balloon. */
  maxBytes?: number
}

export interface HttpAnswer {
  status: number
  contentType: string
  capture: RawCapture
  /** True when the body was cut at maxBytes. */
  truncated: boolean
}

/**
 * Origins that live in another network namespace (`http://127.0.0.1:6060` on the target's own
 * loopback), mapped to the local end of a relay into it (transports/netns.ts). Requests go to
 * the relay; captures and errors keep the target's own address, since that is what was read.
 */
const ROUTES = new Map<string, string>()

/** Sends requests for `origin` to `via` (an origin on our loopback) until unrouteOrigin. */
export function routeOrigin(origin: string, via: string): void {
  ROUTES.set(new URL(origin).origin, via)
}

export function unrouteOrigin(origin: string): void {
  ROUTES.delete(new URL(origin).origin)
}

/**
 * The one bounded GET used against a target: a timeout, a size cap, no retries. Callers issue
 * requests one at a time. Throws TargetError when nothing answered (refused, timeout, DNS).
 */
export async function httpGet(
  kind: CaptureKind,
  url: string,
  { timeoutMs = 5000, maxBytes = 32 * 1024 * 1024 }: HttpOptions = {},
): Promise<HttpAnswer> {
  const atMs = Date.now()
  let response: Response
  try {
    const parsed = new URL(url)
    const via = ROUTES.get(parsed.origin)
    response = await fetch(via ? `${via}${parsed.pathname}${parsed.search}` : url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: '*/*', 'user-agent': 'gomemdoctor' },
      redirect: 'follow',
    })
  } catch (error) {
    throw new TargetError(`${url}: ${describeFetchError(error, timeoutMs)}`)
  }
  const answeredAtMs = Date.now()
  const chunks: Uint8Array[] = []
  let total = 0
  let truncated = false
  try {
    const reader = response.body?.getReader()
    while (reader) {
      const { done, value } = await reader.read()
      if (done) break
      if (total + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - total))
        total = maxBytes
        truncated = true
        await reader.cancel()
        break
      }
      chunks.push(value)
      total += value.byteLength
    }
  } catch (error) {
    throw new TargetError(
      `${url}: the body broke off after ${total} bytes (${describeFetchError(error, timeoutMs)})`,
    )
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    capture: { kind, origin: url, atMs, answeredAtMs, bytes: Buffer.concat(chunks) },
    truncated,
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      return `no answer within ${timeoutMs} ms`
    }
    const cause = (error as Error & { cause?: unknown }).cause
    // fetch refuses ports reserved for other protocols (1, 9, 25, 6000, …) before connecting;
    // Node 20 says so as the cause of 'fetch failed'.
    if (error.message === 'bad port' || (cause instanceof Error && cause.message === 'bad port'))
      return 'fetch will not connect to this port (the Fetch standard reserves it for another protocol)'
    if (cause instanceof Error) {
      const code = (cause as Error & { code?: string }).code
      if (code === 'ECONNREFUSED') return 'connection refused'
      if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
      if (code === 'ENOTFOUND') return 'host not found'
      return cause.message
    }
    return error.message
  }
  return String(error)
}
