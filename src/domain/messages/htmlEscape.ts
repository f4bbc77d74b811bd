/** mustache's own HTML escaping (same characters), kept here so no global setting can change it. */
const HTML_ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "/": "&#x2F;",
  "`": "&#x60;",
  "=": "&#x3D;",
};

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`=/]/g, (character) => HTML_ENTITIES[character] ?? character);
}

/** For parts that are not HTML (email text, SMS, push): values go in as they are. */
export function asText(value: unknown): string {
  return String(value);
}
