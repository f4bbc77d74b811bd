import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { AccountTokenService } from "./gen/onetime/v1/account_token_service_pb.js";
import { TokenService } from "./gen/onetime/v1/token_service_pb.js";
import { VerificationService } from "./gen/onetime/v1/verification_service_pb.js";

/** One client per onetime service, sharing a transport. */
export interface OnetimeClients {
  readonly verification: Client<typeof VerificationService>;
  readonly tokens: Client<typeof TokenService>;
  readonly accountTokens: Client<typeof AccountTokenService>;
}

/**
 * Clients for every onetime service over one transport: `createConnectTransport` from
 * @connectrpc/connect-web in a browser, `createConnectTransport` or `createGrpcTransport` from
 * @connectrpc/connect-node on a server.
 */
export function createOnetimeClients(transport: Transport): OnetimeClients {
  return {
    verification: createClient(VerificationService, transport),
    tokens: createClient(TokenService, transport),
    accountTokens: createClient(AccountTokenService, transport),
  };
}
