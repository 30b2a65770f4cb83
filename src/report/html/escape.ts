/**
 * The only escaping code of the HTML report (STYLE.md 5.8). Function names, labels and paths in
 * profiles are untrusted: they reach the page as JSON inside a non-executed script element, and
 * the client puts them in the page with textContent only.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, ch => HTML_ESCAPES[ch] as string)
}

/**
 * JSON for `<script type="application/json">`: `<`, `>` and `&` become \\u escapes, so no
 * `</script>` or `<!--` can end or bend the element, and U+2028/U+2029 too, which older JS
 * parsers read as line ends. JSON.parse gives back the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, ch => {
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

/**
 * Our own bundled code inlined in `<script>` or `<style>`: a literal `</script` or `</style` in
 * it (in a string, say) would end the element early. `<\/` means the same to JS and CSS strings.
 */
export function inlineCode(code: string, element: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1')
}
