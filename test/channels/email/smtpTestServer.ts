import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

/** A message the server took, with what the session looked like when it arrived. */
export interface ReceivedMail {
  readonly mail: ParsedMail;
  readonly mailFrom: string | undefined;
  readonly rcptTo: readonly string[];
  /** The user the server's onAuth accepted, undefined when the client did not log in. */
  readonly user: string | undefined;
  /** Whether the session ran over TLS (implicit or after STARTTLS) when the message arrived. */
  readonly secure: boolean;
}

/** Where the server answers a send with an error reply, and with which one. */
export interface Refusal {
  readonly at: "MAIL FROM" | "RCPT TO" | "DATA";
  readonly code: number;
  /** Reply text; tests put message content here to show it never reaches a reason. */
  readonly text?: string;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Authentication attempts, accepted or not. */
  readonly logins: string[];
  /** Connections the server has accepted, and how many are still open. */
  readonly connections: { opened: number; open: number };
  /** The next sends are refused this way until it is cleared. */
  refusal: Refusal | undefined;
  close(): Promise<void>;
}

export interface TestSmtpServerOptions {
  /** user:pass the server accepts; authentication is required. */
  readonly credentials: { readonly user: string; readonly pass: string };
  /** PEM key and certificate: offered through STARTTLS, or from the first byte with `implicitTls`. */
  readonly certificate?: TestCertificate;
  readonly implicitTls?: boolean;
}

/** Starts smtp-server on 127.0.0.1, on a port of the system's choosing. */
export async function startSmtpServer(options: TestSmtpServerOptions): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const logins: string[] = [];
  const connections = { opened: 0, open: 0 };
  const state: { refusal: Refusal | undefined } = { refusal: undefined };
  const refuseAt = (at: Refusal["at"]): Error | undefined => {
    const refusal = state.refusal;
    if (refusal?.at !== at) return undefined;
    return Object.assign(new Error(refusal.text ?? "refused by test"), { responseCode: refusal.code });
  };
  const certificate = options.certificate;

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: false,
    closeTimeout: 1_000,
    secure: options.implicitTls === true,
    // Without a certificate the server has no STARTTLS at all: hiding it from EHLO is not enough,
    // smtp-server would still upgrade with its built-in (expired) certificate when asked.
    ...(certificate === undefined ? { disabledCommands: ["STARTTLS"] } : { key: certificate.key, cert: certificate.cert }),
    // Plain-text login is what a server without TLS must accept for the non-TLS tests.
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    onConnect(_session, callback) {
      connections.opened += 1;
      connections.open += 1;
      callback();
    },
    onClose() {
      connections.open -= 1;
    },
    onAuth(auth, _session, callback) {
      logins.push(`${auth.method} ${auth.username ?? ""}`);
      if (auth.username === options.credentials.user && auth.password === options.credentials.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
      }
    },
    onMailFrom(_address, _session, callback) {
      callback(refuseAt("MAIL FROM"));
    },
    onRcptTo(_address, _session, callback) {
      callback(refuseAt("RCPT TO"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const refusal = refuseAt("DATA");
        if (refusal !== undefined) return callback(refusal);
        simpleParser(Buffer.concat(chunks)).then(
          (mail) => {
            received.push(receivedMail(mail, session));
            callback();
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error("unparseable message")),
        );
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.on("error", reject);
    const listening = server.listen(0, "127.0.0.1", () => resolve((listening.address() as AddressInfo).port));
  });

  return {
    port,
    received,
    logins,
    connections,
    get refusal() {
      return state.refusal;
    },
    set refusal(value) {
      state.refusal = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function receivedMail(mail: ParsedMail, session: SMTPServerSession): ReceivedMail {
  const mailFrom = session.envelope.mailFrom;
  const user: unknown = session.user;
  return {
    mail,
    mailFrom: mailFrom === false ? undefined : mailFrom.address,
    rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
    user: typeof user === "string" ? user : undefined,
    secure: session.secure,
  };
}

/** A TCP server that accepts connections and never says a word: no greeting, no reply. */
export interface SilentServer {
  readonly port: number;
  /** Sockets accepted so far, and how many the client has since closed. */
  readonly sockets: { accepted: number; endedByClient: number };
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = { accepted: 0, endedByClient: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.accepted += 1;
    open.add(socket);
    socket.on("end", () => {
      sockets.endedByClient += 1;
      socket.end();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => open.delete(socket));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bound, then released. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl in a temporary directory. */
export async function selfSignedCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), "onetime-smtp-"));
  try {
    const [keyFile, certFile] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    return { key: await readFile(keyFile), cert: await readFile(certFile) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
