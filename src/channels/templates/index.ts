/**
 * Message templates: what each kind of message says, per channel and locale. The renderer
 * implements the domain's TemplateRenderer (domain/messages/messageTemplates.ts).
 */
export type { TemplatePart } from "./kinds.js";
export type { TemplateRendererOptions } from "./templateRenderer.js";
export { createTemplateRenderer } from "./templateRenderer.js";
export type { TemplateOverrides } from "./templateOverrides.js";
export { loadTemplateOverrides } from "./templateOverrides.js";
export { TemplateLoadError } from "./templateLoadError.js";
