/**
 * Reaching a target's HTTP server inside its network namespace. /proc/PID/net/tcp already lists
 * the sockets of the target's namespace, but 127.0.0.1 there is not our 127.0.0.1: a process
 * in a network namespace of its own (a container seen from the host) cannot be reached on its
 * loopback from outside. Node cannot setns(2) itself, so a tiny relay of ours is re-run inside
 * the target's namespace with `nsenter --net=/proc/PID/ns/net` (util-linux; needs CAP_SYS_ADMIN
 * and ptrace access to the target, so in practice root):
 *
 *   http.ts (fetch) → 127.0.0.1:<ours>, in our namespace → a Unix socket in a private directory
 *   (Unix sockets belong to no network namespace) → the relay, inside the target's namespace →
 *   the target's 127.0.0.1:6060
 *
 * The captures keep the target's own address as their origin (http.ts routes it). Only bytes
 * are relayed: the relay parses nothing and sends nothing of its own. It exits when its stdin
 * closes, so it never outlives us.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { access, constants, mkdtemp, readlink, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { messageOf } from '../../errors.ts'
import { IN_EXECUTABLE, INSTALL_ROOT } from '../../install-root.ts'
import { routeOrigin, unrouteOrigin } from './http.ts'

/** The hidden command that runs the relay's inside half (cli/main.ts dispatches it). */
export const NETNS_RELAY_COMMAND = '__netns-relay'

/** How long the relay may take to start: nsenter, then Node or the executable, then listen. */
const RELAY_START_MS = 15_000

/** Where nsenter is looked for when it is not on PATH (containers often run with a bare PATH). */
const NSENTER_PATHS = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter', '/sbin/nsenter']

interface Relay {
  child: ChildProcess
  servers: Server[]
  origins: string[]
  dir: string
}

const relays = new Map<number, Relay>()

/**
 * True when the target's network namespace is not ours; undefined when that cannot be told
 * (its /proc/PID/ns/net needs ptrace access), in which case the caller connects as usual.
 */
export async function inOtherNetns(pid: number): Promise<boolean | undefined> {
  try {
    const [ours, theirs] = await Promise.all([
      readlink('/proc/self/ns/net'),
      readlink(`/proc/${pid}/ns/net`),
    ])
    return ours !== theirs
  } catch {
    // Unreadable: no way to tell, and no way to enter it either.
    return undefined
  }
}

/**
 * Starts the relay for these origins (`http://127.0.0.1:6060`, as the target's sockets name
 * them) and routes every request to them through it until stopNetnsRelay(pid). Resolves with
 * a reason, in words for a Gap, when the namespace cannot be entered.
 */
export async function relayIntoNetns(
  pid: number,
  origins: readonly string[],
): Promise<{ ok: true } | { reason: string }> {
  await stopNetnsRelay(pid)
  const nsenter = await findNsenter()
  if (!nsenter) return { reason: 'nsenter (util-linux) is not installed here' }
  const dir = await mkdtemp(join(tmpdir(), 'gomemdoctor-netns-'))
  const addresses = origins.map(origin => new URL(origin).host)
  const child = spawn(
    nsenter,
    [`--net=/proc/${pid}/ns/net`, '--', ...selfCommand(), NETNS_RELAY_COMMAND, dir, ...addresses],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  )
  const started = await relayReady(child)
  if ('reason' in started) {
    child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
    return started
  }
  const servers: Server[] = []
  for (const [index, origin] of origins.entries()) {
    const socketPath = join(dir, `${index}.sock`)
    const server = createServer(client => pipeBoth(client, createConnection(socketPath)))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', resolve)
    })
    // Neither the servers nor the relay keep a finished CLI alive; stopNetnsRelay ends them.
    server.unref()
    const address = server.address()
    if (address && typeof address === 'object') {
      routeOrigin(origin, `http://127.0.0.1:${address.port}`)
    }
    servers.push(server)
  }
  child.unref()
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    ;(stream as unknown as { unref?: () => void } | null)?.unref?.()
  }
  relays.set(pid, { child, servers, origins: [...origins], dir })
  return { ok: true }
}

/** Ends the relay for this target, if any: its routes, its servers, its process. */
export async function stopNetnsRelay(pid: number | undefined): Promise<void> {
  if (pid === undefined) return
  const relay = relays.get(pid)
  if (!relay) return
  relays.delete(pid)
  for (const origin of relay.origins) unrouteOrigin(origin)
  for (const server of relay.servers) server.close()
  relay.child.stdin?.end()
  relay.child.kill('SIGTERM')
  await rm(relay.dir, { recursive: true, force: true })
}

/**
 * The relay's inside half, run by `gomemdoctor __netns-relay DIR HOST:PORT…` under nsenter: a
 * Unix socket DIR/<i>.sock per address, each connection piped to that address in this (the
 * target's) network namespace. Prints READY once all listen; exits when stdin closes.
 */
export async function runNetnsRelay(args: readonly string[]): Promise<number> {
  const [dir, ...addresses] = args
  if (dir === undefined || addresses.length === 0) {
    process.stderr.write(`usage: gomemdoctor ${NETNS_RELAY_COMMAND} DIR HOST:PORT…\n`)
    return 2
  }
  try {
    for (const [index, address] of addresses.entries()) {
      const { hostname, port } = new URL(`http://${address}`)
      const host = hostname.replace(/^\[|\]$/g, '')
      const server = createServer(client =>
        pipeBoth(client, createConnection({ host, port: Number(port) })),
      )
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(join(dir, `${index}.sock`), resolve)
      })
    }
  } catch (error) {
    process.stderr.write(`netns relay: ${messageOf(error)}\n`)
    return 3
  }
  process.stdout.write('READY\n')
  await new Promise<void>(resolve => {
    process.stdin.on('data', () => {})
    process.stdin.once('end', resolve)
    process.stdin.once('close', resolve)
  })
  process.exit(0)
}

/** How to run this gomemdoctor again: the executable itself, or Node with our bin script. */
function selfCommand(): string[] {
  if (IN_EXECUTABLE) return [process.execPath]
  return [process.execPath, join(INSTALL_ROOT, 'bin', 'gomemdoctor.js')]
}

async function findNsenter(): Promise<string | undefined> {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .filter(dir => dir !== '')
    .map(dir => join(dir, 'nsenter'))
  for (const path of [...onPath, ...NSENTER_PATHS]) {
    try {
      await access(path, constants.X_OK)
      return path
    } catch {
      // Not there: try the next place.
    }
  }
  return undefined
}

/** Waits for the relay's READY line; otherwise its (or nsenter's) first line of complaint. */
function relayReady(child: ChildProcess): Promise<{ ok: true } | { reason: string }> {
  return new Promise(resolve => {
    let stderr = ''
    let stdout = ''
    const finish = (result: { ok: true } | { reason: string }) => {
      clearTimeout(timer)
      resolve(result)
    }
    const timer = setTimeout(
      () => finish({ reason: `the relay did not start within ${RELAY_START_MS / 1000} s` }),
      RELAY_START_MS,
    )
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      if (stdout.includes('READY\n')) finish({ ok: true })
    })
    child.once('error', error => finish({ reason: `cannot run nsenter (${messageOf(error)})` }))
    child.once('exit', code => {
      const said = stderr.trim().split('\n')[0]
      finish({ reason: said ? said : `nsenter exited with status ${code}` })
    })
  })
}

/** Both directions of a relayed connection; either side's end or error ends the other. */
function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b)
  b.pipe(a)
  const end = () => {
    a.destroy()
    b.destroy()
  }
  a.once('error', end)
  b.once('error', end)
  a.once('close', end)
  b.once('close', end)
}
