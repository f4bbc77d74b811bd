/** Where and how to reach the SMTP server, read from an `smtp://` or `smtps://` URL. */
export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (`smtps://`, implicit TLS); otherwise STARTTLS when offered. */
  readonly secure: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
}

/**
 * A configuration the SMTP channel cannot run with. The message never repeats the URL, which
 * carries the password.
 */
export class InvalidSmtpConfiguration extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSmtpConfiguration";
  }
}

/** Submission (RFC 6409) for STARTTLS, submissions (RFC 8314) for implicit TLS. */
const defaultPorts = { "smtp:": 587, "smtps:": 465 } as const;

/**
 * Reads `smtp://user:pass@host:port` or `smtps://…`. User and password are percent-decoded, so a
 * password with `@` or `:` is written `%40` / `%3A`. Paths, queries and fragments are refused
 * rather than ignored: nodemailer reads options from the query string, and every option here is
 * an explicit field of the channel instead.
 */
export function parseSmtpUrl(url: string): SmtpEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidSmtpConfiguration("smtp url is not a URL");
  }
  const protocol = parsed.protocol;
  if (protocol !== "smtp:" && protocol !== "smtps:") {
    throw new InvalidSmtpConfiguration("smtp url must start with smtp:// or smtps://");
  }
  if ((parsed.pathname !== "" && parsed.pathname !== "/") || parsed.search !== "" || parsed.hash !== "") {
    throw new InvalidSmtpConfiguration("smtp url must not have a path, query or fragment");
  }
  // The host of a non-special scheme is kept as written; brackets mark an IPv6 literal.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new InvalidSmtpConfiguration("smtp url has no host");
  const port = parsed.port === "" ? defaultPorts[protocol] : Number(parsed.port);

  const user = decodeCredential(parsed.username);
  const pass = decodeCredential(parsed.password);
  if ((user === "") !== (pass === "")) {
    throw new InvalidSmtpConfiguration("smtp url must carry both a user and a password, or neither");
  }
  const endpoint = { host, port, secure: protocol === "smtps:" };
  return user === "" ? endpoint : { ...endpoint, auth: { user, pass } };
}

function decodeCredential(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidSmtpConfiguration("smtp url has a badly percent-encoded user or password");
  }
}
