/**
 * Content checks shared by every format: a server that answers a login page or an error page
 * where a profile or JSON was expected must be named as such, not parsed as garbage.
 */

/** True when the text starts like an HTML document. */
export function looksLikeHtml(head: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body|<\?xml)/i.test(head)
}

/** First characters of a text, for sniffing: cheap on a 100 MB capture. */
export function headOf(bytes: Uint8Array, length = 4096): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, length)).toString(
    'utf8',
  )
}
