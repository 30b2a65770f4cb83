import { execFileSync } from 'node:child_process'
import { goCommand } from '../../src/demo/go-toolchains.ts'

/** The Go whose `go tool pprof` is the reference answer for top and diff. */
const GO = goCommand('1.26')

/**
 * `go tool pprof -top` rows as [name, flat, cum], exact bytes (-unit=B), no nodes dropped;
 * `args` are pprof's further flags and the profile (or -base BASE NEW).
 */
export function goPprofTop(args: string[]): [string, number, number][] {
  const out = execFileSync(
    GO.command,
    ['tool', 'pprof', '-top', '-nodefraction=0', '-unit=B', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, ...GO.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  return out.split('\n').flatMap(line => {
    const m =
      /^\s*(-?\d+)B?\s+\S+%\s+\S+%\s+(-?\d+)B?\s+\S+%\s+(.+?)( \((partial-)?inline\))?$/.exec(line)
    return m ? [[m[3] as string, Number(m[1]), Number(m[2])] as [string, number, number]] : []
  })
}
