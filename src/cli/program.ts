/**
 * The CLI's program over a list of sub-commands: the one place that decides exit codes and
 * prints errors. main.ts runs it over every command; profile-main.ts over the two that read
 * profiles and dumps, so those start without loading the rest (see bin/gomemdoctor.js).
 */
import { Command, CommanderError } from 'commander'
import { InputError, messageOf, TargetError, UsageError } from '../errors.ts'
import { VERSION } from '../install-root.ts'
import type { CliCommand, CommandResult } from './command.ts'
import { ExitCode } from './exit-codes.ts'

/**
 * Runs the CLI and returns the exit code. The only place that decides exit codes and prints
 * errors: known errors as one line, anything else as "internal error", stacks only with --debug.
 */
export async function runProgram(
  argv: readonly string[],
  commands: readonly CliCommand[],
): Promise<number> {
  // `gomemdoctor … | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
      throw error
    })
  }
  let result: CommandResult = { exitCode: ExitCode.Ok }
  const program = buildProgram(commands, r => {
    result = r
  })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return result.exitCode
  } catch (error) {
    return reportError(error, argv.includes('--debug'))
  }
}

/** The command tree; `done` receives the result of whichever command runs. */
export function buildProgram(
  commands: readonly CliCommand[],
  done: (result: CommandResult) => void,
): Command {
  const program = new Command('gomemdoctor')
    .description(
      "Explains why a Go process's memory keeps growing: where the resident bytes are, and why.",
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
  for (const command of commands) command.register(program, done)
  return program
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has already printed help or its own one-line message.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
      return ExitCode.Ok
    if (error.code === 'commander.help') return ExitCode.Ok
    return ExitCode.BadInput
  }
  if (error instanceof UsageError || error instanceof InputError) {
    process.stderr.write(`gomemdoctor: ${error.message}\n`)
    return ExitCode.BadInput
  }
  if (error instanceof TargetError) {
    process.stderr.write(`gomemdoctor: ${error.message}\n`)
    return ExitCode.Unreachable
  }
  process.stderr.write(`gomemdoctor: internal error: ${messageOf(error)}\n`)
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
  else process.stderr.write('(run again with --debug for the stack trace, and report it)\n')
  return ExitCode.BadInput
}
