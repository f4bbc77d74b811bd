import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { signToken } from "./tokens.js";
import type { Protocol } from "./verificationClient.js";

export type AccountTokenClient = Client<typeof AccountTokenService>;

/** Who calls: nobody (public), a signed-in account, a backend, an operator. */
export type Caller = { readonly kind: "public" } | { readonly kind: "user"; readonly account: string } | { readonly kind: "service" } | { readonly kind: "admin" };

export const publicCaller: Caller = { kind: "public" };
export const admin: Caller = { kind: "admin" };
export const user = (account: string): Caller => ({ kind: "user", account });

/** An AccountTokenService client over gRPC (HTTP/2) or Connect JSON (HTTP/1.1), as `caller`. */
export async function accountTokenClient(baseUrl: string, caller: Caller = publicCaller, protocol: Protocol = "grpc", headers: Record<string, string> = {}): Promise<AccountTokenClient> {
  const token =
    caller.kind === "public"
      ? undefined
      : await signToken(
          caller.kind === "user" ? { subject: caller.account, roles: [] } : { subject: `${caller.kind}-caller`, roles: [caller.kind] },
        );
  const withHeaders: Interceptor = (next) => async (request) => {
    if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
  const interceptors = [withHeaders];
  const transport: Transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors });
  return createClient(AccountTokenService, transport);
}
