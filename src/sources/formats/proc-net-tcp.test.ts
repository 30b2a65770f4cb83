import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  captureInfo,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
} from '../../../test/helpers/format-fixtures.ts'
import { parseProcNetTcp, procNetTcp } from './proc-net-tcp.ts'

const info = captureInfo()
/** `addr=127.0.0.1:41753` and `addr6=[::1]:40007` from the Go program's READY line. */
const ready = /addr=127\.0\.0\.1:(\d+) addr6=\[::1\]:(\d+)/.exec(info.goReady)

const TCP_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const row = (local: string, state = '0A', inode = '4242') =>
  `   0: ${local} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`
const listening = (header: string, local: string) =>
  parseProcNetTcp(textCapture('proc-net-tcp', header + row(local)))

test("finds the Go program's 127.0.0.1 listener among its own socket inodes", () => {
  assert.ok(ready, info.goReady)
  const sockets = parseProcNetTcp(fixture('proc-net-tcp', 'go-process-tcp.txt'))
  const own = sockets.filter(socket => info.goSocketInodes.includes(socket.inode))
  assert.deepEqual(
    own.map(({ address, port }) => ({ address, port })),
    [{ address: '127.0.0.1', port: Number(ready[1]) }],
  )
  // The namespace's other listeners are there too, and no TIME_WAIT row (06) is taken for one.
  assert.ok(sockets.length >= own.length)
  assert.ok(sockets.every(socket => socket.inode > 0))
})

test("finds the Go program's [::1] listener in tcp6", () => {
  assert.ok(ready, info.goReady)
  const sockets = parseProcNetTcp(fixture('proc-net-tcp', 'go-process-tcp6.txt'))
  const own = sockets.filter(socket => info.goSocketInodes.includes(socket.inode))
  assert.deepEqual(
    own.map(({ address, port }) => ({ address, port })),
    [{ address: '::1', port: Number(ready[2]) }],
  )
})

test('reads each 32-bit word of an address as little-endian and the port as a plain number', () => {
  assert.deepEqual(listening(TCP_HEADER, '0100007F:1F90'), [
    { inode: 4242, address: '127.0.0.1', port: 8080 },
  ])
  assert.deepEqual(listening(TCP_HEADER, '00000000:0050'), [
    { inode: 4242, address: '0.0.0.0', port: 80 },
  ])
  // 2001:db8::1 is the words 20010db8 0 0 00000001, each printed in host (little-endian) order.
  const cases: [string, string][] = [
    ['B80D0120000000000000000001000000', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['0000000000000000FFFF00000100007F', '::ffff:127.0.0.1'],
    ['000080FE00000000FF4C0002FE0102FE', 'fe80::200:4cff:fe02:1fe'],
    ['B80D0120000001000000000001000000', '2001:db8:1::1'],
  ]
  for (const [hex, address] of cases) {
    assert.equal(listening(TCP6_HEADER, `${hex}:1F90`)[0]?.address, address, hex)
  }
})

test('keeps only LISTEN rows', () => {
  const text = TCP_HEADER + row('0100007F:1F90', '01', '7') + row('0100007F:1F91', '06', '0')
  assert.deepEqual(parseProcNetTcp(textCapture('proc-net-tcp', text)), [])
})

test('reads a header with no rows as no sockets', () => {
  assert.deepEqual(parseProcNetTcp(textCapture('proc-net-tcp', TCP6_HEADER)), [])
})

const hostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty file', text: '', error: /^inline: empty, not \/proc\/PID\/net\/tcp$/ },
  { name: 'an HTML page', text: HTML_PAGE, error: /^inline: got HTML, not \/proc\/PID\/net\/tcp$/ },
  {
    name: 'a file without the header',
    text: row('0100007F:1F90'),
    error: /^inline:1: not \/proc\/PID\/net\/tcp: no "sl local_address" header$/,
  },
  {
    name: 'a row with a non-hex address',
    text: TCP_HEADER + row('0100007G:1F90'),
    error: /^inline:2: not a socket row: " {3}0: 0100007G:1F90 /,
  },
  {
    name: 'a row with a non-numeric inode',
    text: TCP_HEADER + row('0100007F:1F90', '0A', 'x'),
    error: /^inline:2: not a socket row/,
  },
  { name: 'a 10 MB single line', text: hugeLine(), error: /^inline:1: not \/proc\/PID\/net\/tcp/ },
  {
    name: 'a 10 MB row',
    text: TCP_HEADER + hugeLine(),
    error: /^inline:2: not a socket row: "A{40}…"$/,
  },
  {
    name: 'a row cut before its inode',
    text: TCP_HEADER + row('0100007F:1F90').slice(0, 60),
    error: /^inline:2: not a socket row/,
  },
]
for (const { name, text, error } of hostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => parseProcNetTcp(textCapture('proc-net-tcp', text)), error)
  })
}

test('sniffs tcp and tcp6 captures and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(procNetTcp)
})
