/**
 * The live dashboard's HTTP server (STYLE.md 5.8): the page at `/`, server-sent events at
 * `/events` (one `view` on connect, then `sample` and `findings` as they come). node:http only.
 *
 * Loopback by default. Then the Host header must name the loopback address, so a web page the
 * user visits cannot reach the dashboard through DNS rebinding. On any other address the caller
 * must pass a token, and every request must carry it (`?token=`), compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LiveEvent {
  event: 'view' | 'sample' | 'findings'
  data: unknown
}

export interface LiveServerOptions {
  host: string
  port: number
  /** Required unless host is a loopback address. */
  token?: string
  /** The page, rendered for the current state; `eventsUrl` is where it must connect. */
  page(eventsUrl: string): string
  /** What a new subscriber is sent first (the current view). */
  greeting(): LiveEvent[]
}

export interface LiveServer {
  /** The dashboard's address, with the token when there is one. */
  url: string
  broadcast(event: LiveEvent): void
  close(): Promise<void>
}

/** Comment lines keep idle connections open through proxies and tell a dead client apart. */
const HEARTBEAT_MS = 15_000
/** How long EventSource waits before reconnecting. */
const RETRY_MS = 1000

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

export async function startLiveServer(options: LiveServerOptions): Promise<LiveServer> {
  const { host, token } = options
  const loopback = isLoopback(host)
  if (!loopback && !token) throw new Error(`a token is required to listen on ${host}`)
  const clients = new Set<ServerResponse>()
  let port = options.port

  const allowed = (req: IncomingMessage, url: URL): boolean => {
    if (loopback) {
      const hostHeader = (req.headers.host ?? '').toLowerCase()
      const names = ['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host]
      if (!names.some(name => hostHeader === `${name}:${port}`)) return false
    }
    if (token === undefined) return true
    const given = Buffer.from(url.searchParams.get('token') ?? '')
    const wanted = Buffer.from(token)
    return given.length === wanted.length && timingSafeEqual(given, wanted)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard')
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'no-referrer')
    res.setHeader('cache-control', 'no-store')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (!allowed(req, url)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('forbidden\n')
      return
    }
    const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(options.page(`/events${query}`))
      return
    }
    if (url.pathname === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        connection: 'keep-alive',
      })
      res.write(`retry: ${RETRY_MS}\n\n`)
      for (const event of options.greeting()) res.write(frame(event))
      clients.add(res)
      const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS)
      req.on('close', () => {
        clearInterval(heartbeat)
        clients.delete(res)
      })
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}/${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`,
    broadcast(event) {
      const text = frame(event)
      for (const client of clients) client.write(text)
    },
    close() {
      for (const client of clients) client.end()
      clients.clear()
      return new Promise(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

/** One SSE message. JSON.stringify never emits a raw newline, so the data is one line. */
function frame(event: LiveEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`
}
