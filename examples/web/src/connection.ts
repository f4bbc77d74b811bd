import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { createOnetimeClients, readOnetimeError, type OnetimeClients } from "@onetime/client";

/** The wire formats a browser can speak to onetime; the server answers all three on one port. */
export type WireFormat = "connect-json" | "connect-binary" | "grpc-web";

/**
 * What a page is opened with, in its URL's fragment (never sent to any server):
 * `#server=http://127.0.0.1:8080&transport=grpc-web&token=<a user's JWT>`. A real app takes the
 * server from its build and the token from its own session; the fragment keeps the example
 * free of a backend of its own.
 */
export interface PageSettings {
  readonly server: string;
  readonly transport: WireFormat;
  /** The signed-in user's bearer token; undefined on public pages. */
  readonly token: string | undefined;
}

export function readSettings(hash: string = location.hash): PageSettings {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const transport = params.get("transport") ?? "connect-json";
  if (transport !== "connect-json" && transport !== "connect-binary" && transport !== "grpc-web") {
    throw new Error(`transport=${transport}: expected connect-json, connect-binary or grpc-web`);
  }
  return { server: params.get("server") ?? "http://localhost:8080", transport, token: params.get("token") ?? undefined };
}

export function connect(settings: PageSettings): OnetimeClients {
  const interceptors: Interceptor[] = [];
  const token = settings.token;
  if (token !== undefined) {
    interceptors.push((next) => (request) => {
      request.header.set("Authorization", `Bearer ${token}`);
      return next(request);
    });
  }
  const transport: Transport =
    settings.transport === "grpc-web"
      ? createGrpcWebTransport({ baseUrl: settings.server, interceptors })
      : createConnectTransport({ baseUrl: settings.server, useBinaryFormat: settings.transport === "connect-binary", interceptors });
  return createOnetimeClients(transport);
}

/** A refusal as a person reads it: the server's reason (what a page branches on) and its message. */
export function describeError(error: unknown): string {
  const { reason, message, metadata } = readOnetimeError(error);
  // A refused CORS preflight and a server that is down look the same to a page: fetch tells it no more.
  if (reason === undefined && /^(Failed to fetch|NetworkError|Load failed)/.test(message)) {
    return `Cannot reach ${readSettings().server}: is it running, and is ${location.origin} in its CORS_ORIGINS?`;
  }
  const details = Object.entries(metadata).map(([key, value]) => `${key}=${value}`);
  return [reason ?? "ERROR", message, ...details].filter((part) => part !== "").join(" · ");
}

export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found as T;
}

/** Links between the example's pages keep the fragment, so the server, transport and token follow the user. */
export function keepFragmentInLinks(): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("a[href$='.html']")) link.hash = location.hash;
}
