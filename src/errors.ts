/**
 * The errors a user can cause or meet. cli/main.ts prints their message as one line and maps
 * each class to its exit code (DESIGN.md); anything else is an internal error.
 */

/** Bad flags or arguments: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Input that is ours to read but broken or not what it claims (a garbage file, an HTML page): exit 2. */
export class InputError extends Error {
  override name = 'InputError'
}

/** The target could not be reached or read (no such PID, connection refused): exit 3. */
export class TargetError extends Error {
  override name = 'TargetError'
}

/** Node's system errors carry a `code` (ENOENT, EACCES, ECONNREFUSED); this reads it safely. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code
    return typeof code === 'string' ? code : undefined
  }
  return undefined
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
