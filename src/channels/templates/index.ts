/** Message templates: what each kind of message says, per channel and locale. */
export type { ChannelParts, EmailParts, MessageTemplateKind, PushParts, SmsParts, TemplateChannelOf, TemplatePart } from "./kinds.js";
export { KIND_CHANNELS, MESSAGE_TEMPLATE_KINDS } from "./kinds.js";
export type { TemplateRenderer, TemplateRendererOptions, TemplateView } from "./templateRenderer.js";
export { createTemplateRenderer } from "./templateRenderer.js";
export type { TemplateOverrides } from "./templateOverrides.js";
export { loadTemplateOverrides } from "./templateOverrides.js";
export { TemplateLoadError } from "./templateLoadError.js";
