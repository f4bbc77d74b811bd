import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";

/** A call's outcome as the caller sees it: an answer, a refusal the server wrote, or something else. */
type Outcome = "answered" | "refused while draining" | "never taken" | string;

// What a client reads as "the server did not take this request, retry it": no connection
// (the server stopped listening), or HTTP/2's REFUSED_STREAM for a stream the client had queued
// when it learned of the drain (RFC 9113, 8.7). Neither is a call sent and then lost.
const neverTaken = [/ECONNREFUSED/, /REFUSED_STREAM/];

async function outcomeOf(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return "answered";
  } catch (caught) {
    const error = ConnectError.from(caught);
    if (error.code === Code.NotFound) return "answered";
    // Written by the server: the ErrorInfo detail and the request id only come in its answer.
    const [info] = error.findDetails(ErrorInfoSchema);
    if (error.code === Code.Unavailable && info?.reason === "SHUTTING_DOWN" && error.metadata.get("x-request-id") !== null) {
      return "refused while draining";
    }
    if (neverTaken.some((pattern) => pattern.test(error.rawMessage))) return "never taken";
    return `${Code[error.code]}: ${error.rawMessage}`;
  }
}

describe.each(backends)("calls in flight when a drain starts (%s backends)", (backend) => {
  let server: TestServer;
  // Outside the test's time limit: an embedded start (PGlite) takes seconds on a busy machine.
  beforeAll(async () => {
    server = await startTestServer(backend, "drain_answers");
  });

  it("are each answered or refused as unavailable on every protocol, never reset", async () => {
    try {
      const token = await signToken({ subject: "billing-backend", roles: ["service"] });
      const interceptors: Interceptor[] = [
        (next) => (request) => {
          request.header.set("authorization", `Bearer ${token}`);
          return next(request);
        },
      ];
      const baseUrl = server.url;
      const transports: Transport[] = [
        createGrpcTransport({ baseUrl, interceptors }),
        createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }),
        createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors }),
        createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors }),
      ];
      const clients = transports.map((transport) => createClient(VerificationService, transport));
      const call = (index: number) => outcomeOf(clients[index % clients.length]!.getVerification({ verificationId: crypto.randomUUID() }));
      // Open connections first (HTTP/1.1 keep-alive pools hold several), as a busy server has.
      const warmUp = await Promise.all(Array.from({ length: 50 }, (_, index) => call(index)));
      expect(new Set(warmUp)).toEqual(new Set(["answered"]));

      // Calls keep coming on those connections: the drain starts once the first of them has been
      // answered, and more are sent at that moment, before any client can know of it.
      const calls: Array<Promise<Outcome>> = Array.from({ length: 25 }, (_, index) => call(index));
      await Promise.race(calls);
      const stopping = server.server.shutdown();
      calls.push(...Array.from({ length: 25 }, (_, index) => call(25 + index)));
      const outcomes = await Promise.all(calls);
      await stopping;
      const unexpected = outcomes.filter((outcome) => !["answered", "refused while draining", "never taken"].includes(outcome));
      expect(unexpected).toEqual([]);
      // Both happened, or the test proved nothing about one of them.
      expect(outcomes).toContain("answered");
      expect(outcomes).toContain("refused while draining");
    } finally {
      await server.stop();
    }
  });
});
