/**
 * /proc/PID/environ: the environment the process was started with, `KEY=VALUE` entries each
 * ended by a NUL byte (shown here as \0):
 *
 *   GODEBUG=madvdontneed=0,gctrace=0\0GOGC=200\0GOMEMLIMIT=200MiB\0
 *
 * It is the initial environment (os.Setenv later does not show), which is what the Go runtime
 * read its knobs from at start-up. An empty file is valid: `env -i`, and kernel threads.
 *
 * Reference: Documentation/filesystems/proc.rst (Linux v6.1), table 1-1 ("environ: Values of
 * environment variables"); environ(7).
 */
import { InputError } from '../../errors.ts'
import type { TargetFacts } from '../../model/target.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

/** The environment the runtime's memory behaviour depends on. */
export type GoKnobs = Pick<TargetFacts, 'godebug' | 'gogc' | 'gomemlimit' | 'gomaxprocs'>

export const procEnviron: Format<Record<string, string>> = {
  kind: 'proc-environ',
  // A NUL-terminated first entry with a shell-style name; no text format has a NUL in it.
  sniff: head => /^[A-Za-z_][A-Za-z0-9_]*=[^\0]*\0/.test(head),
  parse: capture => parseEnviron(capture),
}

/**
 * Entries without '=' are ignored (execve accepts them; no getenv can find them). The value is
 * everything after the first '=', so GODEBUG=a=1,b=2 keeps its '='s. A missing final NUL (a
 * truncated read) is tolerated. The first of duplicate keys wins, as in glibc's getenv and Go's
 * syscall.copyenv.
 */
export function parseEnviron(capture: RawCapture): Record<string, string> {
  const { origin } = capture
  const text = captureText(capture)
  // An HTML page is the one thing that cannot be a process's environment by accident.
  if (looksLikeHtml(text.slice(0, 512))) {
    throw new InputError(`${origin}: got HTML, not /proc/PID/environ`)
  }
  // A null prototype: a key named __proto__ or constructor is data, not a prototype change.
  const env: Record<string, string> = Object.create(null)
  for (const entry of text.split('\0')) {
    const equals = entry.indexOf('=')
    if (equals <= 0) continue
    const key = entry.slice(0, equals)
    if (!(key in env)) env[key] = entry.slice(equals + 1)
  }
  return env
}

/** GODEBUG, GOGC, GOMEMLIMIT and GOMAXPROCS as set; absent when unset. */
export function goKnobs(env: Readonly<Record<string, string>>): GoKnobs {
  const knobs: GoKnobs = {}
  const names = {
    godebug: 'GODEBUG',
    gogc: 'GOGC',
    gomemlimit: 'GOMEMLIMIT',
    gomaxprocs: 'GOMAXPROCS',
  } as const
  for (const [name, key] of Object.entries(names)) {
    const value = Object.hasOwn(env, key) ? env[key] : undefined
    if (value !== undefined) knobs[name as keyof typeof names] = value
  }
  return knobs
}
