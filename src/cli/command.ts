import type { Command } from 'commander'
import type { ExitCode } from './exit-codes.ts'

/** What a command's action hands back to main: its exit code. */
export interface CommandResult {
  exitCode: ExitCode
}

/**
 * A sub-command: `register` adds it to the program, and its action reports its exit code through
 * `done`. Errors are thrown (UsageError, InputError, TargetError) and main prints them.
 */
export interface CliCommand {
  register(program: Command, done: (result: CommandResult) => void): void
}
