/**
 * The CLI with only `profile` and `goroutines`: bin/gomemdoctor.js runs this bundle for them,
 * which starts ~30 ms sooner than the whole CLI (no SQLite, no reports, no collectors), a tenth
 * of `profile top` on a deep profile. Same program, errors and exit codes as main.ts.
 */
import { goroutinesCommand } from './commands/goroutines.ts'
import { profileCommand } from './commands/profile.ts'
import { runProgram } from './program.ts'

/** The sub-commands this entry serves: bin/gomemdoctor.js reads the first argument against it. */
export const PROFILE_COMMANDS = ['profile', 'goroutines'] as const

export function run(argv: readonly string[]): Promise<number> {
  return runProgram(argv, [profileCommand, goroutinesCommand])
}
