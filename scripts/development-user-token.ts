/**
 * Prints a bearer token for a *user* principal (no role, `sub` = the user id given), signed with
 * the development secret `npm start` keeps beside the embedded data, so the user-side
 * TokenService RPCs can be tried with `buf curl`. Development only: with AUTH_JWT_SECRET or
 * AUTH_JWKS_URL set, tokens come from your identity provider.
 *
 *   npx tsx scripts/development-user-token.ts user-42      # DATA_DIR, AUTH_ISSUER, AUTH_AUDIENCE as for npm start
 */
import { readFile } from "node:fs/promises";
import { SignJWT } from "jose";
import { developmentSecretFile, developmentTokenLifetime } from "../src/auth/developmentCredentials.js";
import { secretKey } from "../src/auth/tokenVerifier.js";
import { loadConfig } from "../src/config/config.js";

const userId = process.argv[2];
if (userId === undefined || userId === "") {
  process.stderr.write("usage: npx tsx scripts/development-user-token.ts <user-id>\n");
  process.exit(2);
}
const config = loadConfig(process.env);
if (config.auth.mode !== "development" || config.database.kind !== "pglite") {
  process.stderr.write("only for the embedded defaults with the generated development secret\n");
  process.exit(2);
}
const secret = (await readFile(developmentSecretFile(config.database.dataDir), "utf8")).trim();
const token = await new SignJWT({})
  .setProtectedHeader({ alg: "HS256" })
  .setSubject(userId)
  .setIssuer(config.auth.claims.issuer)
  .setAudience(config.auth.claims.audience)
  .setIssuedAt()
  // As long as the service and admin tokens, which is what an expired token's refusal says.
  .setExpirationTime(developmentTokenLifetime)
  .sign(secretKey(secret));
process.stdout.write(`export USER_TOKEN=${token}\n`);
