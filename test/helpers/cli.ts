/** Runs the real binary (bin/gomemdoctor.js) as a child process: exit code, stdout, stderr. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/gomemdoctor.js', import.meta.url))

export interface CliRun {
  code: number
  out: string
  err: string
}

export function runCli(...argv: string[]): Promise<CliRun> {
  return new Promise(resolve => {
    execFile(
      process.execPath,
      [BIN, ...argv],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (error, out, err) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, out, err })
      },
    )
  })
}
