import type { OutboundMessage } from "../../domain/messages/outboundMessage.js";

/**
 * What a test destination asks test mode to do, written where a CI author writes it anyway: the
 * start of an email address's local part (docs/test-mode.md). `fail+a@test.example` is refused for
 * good, `retry2+a@test.example` fails twice and is then delivered, `timeout+a@test.example` never
 * answers. Every other destination, SMS and push included, is delivered.
 */
export type Script = { readonly kind: "deliver" } | { readonly kind: "fail" } | { readonly kind: "retry"; readonly failures: number } | { readonly kind: "timeout" };

const scriptPattern = /^(fail|timeout|retry([1-9]))\+/i;

export function scriptOf(message: OutboundMessage): Script {
  if (message.kind !== "email") return { kind: "deliver" };
  const match = scriptPattern.exec(message.to);
  if (match === null) return { kind: "deliver" };
  const word = match[1]!.toLowerCase();
  if (word === "fail") return { kind: "fail" };
  if (word === "timeout") return { kind: "timeout" };
  return { kind: "retry", failures: Number(match[2]) };
}
