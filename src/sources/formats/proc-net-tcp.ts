/**
 * /proc/PID/net/tcp and tcp6: every TCP socket of the process's network namespace, one row each.
 * We keep the listening ones (state 0A): with the socket inodes from /proc/PID/fd they give the
 * target's own listen addresses, where its /debug/pprof or /metrics server may be.
 *
 *     sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *      1: 0100007F:829B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11775 1 …
 *      0: 00000000000000000000000001000000:86AB 00000000000000000000000000000000:0000 0A … 11777 1 …
 *
 * The address is printed as 32-bit words with %08X, each word in host byte order (so on x86-64
 * and arm64, little-endian: 0100007F is 127.0.0.1); the port is a plain number (%04X). We assume
 * a little-endian host: every platform Go services run on in practice.
 *
 * Reference: Documentation/networking/proc_net_tcp.rst (Linux v6.1); net/ipv4/tcp_ipv4.c
 * get_tcp4_sock(), net/ipv6/tcp_ipv6.c get_tcp6_sock().
 */
import { InputError } from '../../errors.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { excerpt, firstLine, rejectNonText } from './proc-status.ts'

/** A socket in LISTEN state. `0.0.0.0` and `::` mean every address of the machine. */
export interface ListeningSocket {
  /** The socket's inode: /proc/PID/fd/N links to `socket:[inode]`. */
  inode: number
  /** '127.0.0.1', '::1', '::ffff:10.0.0.1', … */
  address: string
  port: number
}

const WHAT = '/proc/PID/net/tcp'
/** tcp says rem_address, tcp6 says remote_address. */
const HEADER = /^\s*sl\s+local_address\s+rem(ote)?_address\s+st\s/
const ADDRESS = /^([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})$/i
const TCP_LISTEN = '0A'

export const procNetTcp: Format<ListeningSocket[]> = {
  kind: 'proc-net-tcp',
  sniff: head => HEADER.test(firstLine(head)),
  parse: capture => parseProcNetTcp(capture),
}

/** The listening sockets in /proc/PID/net/tcp or tcp6; errors name capture.origin and the line. */
export function parseProcNetTcp(capture: RawCapture): ListeningSocket[] {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, WHAT)
  const lines = text.split('\n')
  if (!HEADER.test(lines[0] ?? '')) {
    throw new InputError(`${origin}:1: not ${WHAT}: no "sl local_address" header`)
  }
  const listening: ListeningSocket[] = []
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] ?? ''
    if (line === '' && index === lines.length - 1) break
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …: TIME_WAIT rows are shorter
    // after inode, so nothing past it is read.
    const fields = line.trim().split(/\s+/)
    const [sl, local = '', , state = '', , , , , , inode = ''] = fields
    const address = ADDRESS.exec(local)
    if (
      !/^\d+:$/.test(sl ?? '') ||
      !address ||
      !/^[0-9A-F]{2}$/i.test(state) ||
      !/^\d{1,20}$/.test(inode)
    ) {
      throw new InputError(`${origin}:${index + 1}: not a socket row: ${excerpt(line)}`)
    }
    if (state.toUpperCase() !== TCP_LISTEN) continue
    listening.push({
      inode: Number(inode),
      address: formatAddress(address[1] ?? ''),
      port: Number.parseInt(address[2] ?? '', 16),
    })
  }
  return listening
}

/** 8 or 32 hex digits, in host-order 32-bit words, to the usual text form. */
function formatAddress(hex: string): string {
  const bytes: number[] = []
  for (let word = 0; word < hex.length; word += 8) {
    // Reverse the bytes of each little-endian word to get network order.
    for (let byte = 6; byte >= 0; byte -= 2) {
      bytes.push(Number.parseInt(hex.slice(word + byte, word + byte + 2), 16))
    }
  }
  return bytes.length === 4 ? bytes.join('.') : formatIpv6(bytes)
}

/** RFC 5952: lower-case hex, the longest run of two or more zero groups as '::'. */
function formatIpv6(bytes: readonly number[]): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0),
  )
  // An IPv4-mapped address (a dual-stack socket accepting IPv4) keeps its dotted quad.
  if (groups.slice(0, 5).every(group => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`
  }
  let bestStart = -1
  let bestLength = 1
  for (let start = 0; start < 8; ) {
    let end = start
    while (end < 8 && groups[end] === 0) end++
    if (end - start > bestLength) {
      bestStart = start
      bestLength = end - start
    }
    start = end === start ? start + 1 : end
  }
  const hex = groups.map(group => group.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}
