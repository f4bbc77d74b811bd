import type { AuthConfig } from "../config/config.js";
import { developmentCredentials, type DevelopmentCredentials } from "./developmentCredentials.js";
import { createTokenVerifier, jwksKeySource, secretKey, type TokenVerifier } from "./tokenVerifier.js";

export interface Auth {
  readonly verifier: TokenVerifier;
  /** Only in development mode: tokens to print for the developer. */
  readonly development?: DevelopmentCredentials;
}

export async function setUpAuth(config: AuthConfig): Promise<Auth> {
  switch (config.mode) {
    case "secret":
      return { verifier: createTokenVerifier(secretKey(config.secret), config.claims) };
    case "jwks":
      return { verifier: createTokenVerifier(jwksKeySource(config.jwksUrl), config.claims) };
    case "development": {
      const development = await developmentCredentials(config.claims);
      return { verifier: createTokenVerifier(secretKey(development.secret), config.claims), development };
    }
  }
}
