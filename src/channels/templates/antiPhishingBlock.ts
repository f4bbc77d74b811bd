import { escapeHtml } from "../../domain/messages/htmlEscape.js";

/** Where the anti-phishing block goes in an HTML email: first thing in the body. */
const HTML_INSERTION_POINTS = [/<body\b[^>]*>/i, /<\/head\s*>/i, /<html\b[^>]*>/i, /<!doctype\b[^>]*>/i];

/**
 * Whether a rendered email part already shows the user's anti-phishing code. Only a template that
 * mentions `{{antiPhishingCode}}` counts: a code that happens to equal other text (`10` in "expires
 * in 10 minutes", the product name) must not stand in for the block.
 */
export function showsAntiPhishingCode(
  rendered: string,
  antiPhishingCode: string,
  mentionsCode: boolean,
  format: "text" | "html",
): boolean {
  if (!mentionsCode) return false;
  return rendered.includes(format === "html" ? escapeHtml(antiPhishingCode) : antiPhishingCode);
}

/** The text block goes at the top, before a blank line. */
export function prependTextBlock(text: string, block: string): string {
  return `${block}\n\n${text}`;
}

/** The HTML block becomes the first element of the body (or of the document, without a body). */
export function prependHtmlBlock(html: string, block: string): string {
  for (const pattern of HTML_INSERTION_POINTS) {
    const match = pattern.exec(html);
    if (match !== null) {
      const end = match.index + match[0].length;
      return `${html.slice(0, end)}\n${block}${html.slice(end)}`;
    }
  }
  return `${block}\n${html}`;
}
