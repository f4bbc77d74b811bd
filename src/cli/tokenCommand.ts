import { createPrivateKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { developmentSecretFile, developmentTokenLifetimeSeconds } from "../auth/developmentCredentials.js";
import { mintedRoles, mintToken, type MintedRole, type SigningKey } from "../auth/tokenMinting.js";
import { createTokenVerifier, jwksKeySource, secretKey } from "../auth/tokenVerifier.js";
import { ConfigError, loadTokenSigningConfig, type TokenSigningConfig } from "../config/config.js";
import type { RawEnvironment } from "../config/variables.js";
import { DependencyUnavailable, Unauthenticated } from "../errors/domainError.js";

export const tokenCommandUsage = `usage: npx onetime token --role user|service|admin [--sub ID] [--ttl 1h] [--private-key-file FILE [--kid ID] [--alg ALG]] [--allow-production]

Prints a bearer token the server configured by this environment accepts, signed with AUTH_JWT_SECRET
(or, for an AUTH_JWKS_URL deployment, with --private-key-file, a PEM or JWK private key of that set),
with AUTH_ISSUER, AUTH_AUDIENCE and the roles claim as the server reads them. On the embedded
defaults it signs with the development secret \`npm start\` keeps beside DATA_DIR.

  --role               user (acts on its own profile: --sub is its user or account id), service (acts
                       for any user it names) or admin
  --sub                the token's subject; required for a user (default: cli-service, cli-admin)
  --ttl                lifetime: seconds, or 90s, 15m, 2h, 7d (default 1h; 30d on the development
                       secret); at most AUTH_MAX_TOKEN_AGE_SECONDS when that is set
  --private-key-file   the private key to sign with when the server reads AUTH_JWKS_URL
  --kid                the key's id in the JWKS (default: the JWK's own kid)
  --alg                RS256, PS256, ES256 or EdDSA (default: from the key)
  --allow-production   mint with NODE_ENV=production (refused without it: a token here is a live credential)
`;

/** Exit status of a refusal, as of a refused start. */
export const refusedExitCode = 2;

export interface CommandOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** What the command cannot do, said in one sentence. */
class Refusal extends Error {}

const defaultLifetimeSeconds = 3_600;
// The algorithms the server accepts from a JWKS (tokenVerifier.ts).
const keySetAlgorithms = ["RS256", "PS256", "ES256", "EdDSA"];

/**
 * `onetime token`: mints a bearer token from the configured secret or a given private key, prints
 * it alone on stdout (so `TOKEN=$(npx onetime token …)` works) and what it is on stderr.
 * Returns the exit status: 0, or {@link refusedExitCode} with one sentence on stderr.
 */
export async function runTokenCommand(args: readonly string[], env: RawEnvironment, output: CommandOutput): Promise<number> {
  try {
    const options = readOptions(args);
    if (options === "help") {
      output.stdout(tokenCommandUsage);
      return 0;
    }
    const config = readConfig(env);
    if (config.environment === "production" && !options.allowProduction) {
      throw new Refusal("NODE_ENV=production: a token minted here is a live credential; add --allow-production if that is what you mean");
    }
    const signing = await signingKey(config, options);
    const lifetimeSeconds = lifetime(options.ttl, config);
    const token = await mintToken(config.auth.claims, signing, options.role, options.subject, lifetimeSeconds);
    if (config.auth.mode === "jwks") await checkAgainstKeySet(token, config.auth.jwksUrl, config);
    output.stdout(`${token}\n`);
    const expires = new Date(Date.now() + lifetimeSeconds * 1000).toISOString();
    output.stderr(`onetime token: ${options.role} "${options.subject}", iss "${config.auth.claims.issuer}", aud "${config.auth.claims.audience}", expires ${expires}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    output.stderr(`onetime token: ${error.message}\n`);
    return refusedExitCode;
  }
}

interface Options {
  readonly role: MintedRole;
  readonly subject: string;
  readonly ttl?: string;
  readonly privateKeyFile?: string;
  readonly keyId?: string;
  readonly algorithm?: string;
  readonly allowProduction: boolean;
}

function readOptions(args: readonly string[]): Options | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        role: { type: "string" },
        sub: { type: "string" },
        ttl: { type: "string" },
        "private-key-file": { type: "string" },
        kid: { type: "string" },
        alg: { type: "string" },
        "allow-production": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    // node's message names the option and ends with a hint to use `--`, which does not apply here.
    throw new Refusal(`${error instanceof Error ? error.message.split(". ")[0] : String(error)} (\`npx onetime token --help\` lists the options)`);
  }
  if (values.help === true) return "help";
  const role = values.role;
  if (role === undefined) throw new Refusal(`--role is required: one of ${mintedRoles.join(", ")}`);
  if (!(mintedRoles as readonly string[]).includes(role)) throw new Refusal(`unknown role "${role}": use one of ${mintedRoles.join(", ")}`);
  const subject = values.sub?.trim();
  if (subject === "" || (subject === undefined && role === "user")) {
    throw new Refusal("--sub is required for a user token: the user or account id the token acts as");
  }
  if (values["private-key-file"] === undefined && (values.kid !== undefined || values.alg !== undefined)) {
    throw new Refusal("--kid and --alg describe a --private-key-file, and none was given");
  }
  return {
    role: role as MintedRole,
    subject: subject ?? `cli-${role}`,
    ...(values.ttl === undefined ? {} : { ttl: values.ttl }),
    ...(values["private-key-file"] === undefined ? {} : { privateKeyFile: values["private-key-file"] }),
    ...(values.kid === undefined ? {} : { keyId: values.kid }),
    ...(values.alg === undefined ? {} : { algorithm: values.alg }),
    allowProduction: values["allow-production"] === true,
  };
}

function readConfig(env: RawEnvironment): TokenSigningConfig {
  try {
    return loadTokenSigningConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new Refusal(`invalid configuration: ${error.problems.join("; ")}`);
  }
}

async function signingKey(config: TokenSigningConfig, options: Options): Promise<SigningKey> {
  const { auth } = config;
  if (auth.mode === "secret") {
    if (options.privateKeyFile !== undefined) {
      throw new Refusal("AUTH_JWT_SECRET is set, so the server checks HS256 tokens signed with it: --private-key-file is for AUTH_JWKS_URL deployments");
    }
    return { key: secretKey(auth.secret), algorithm: "HS256" };
  }
  if (auth.mode === "jwks") {
    if (options.privateKeyFile === undefined) {
      throw new Refusal(
        `AUTH_JWKS_URL is set, and the server holds only the public keys at ${auth.jwksUrl.href}: pass --private-key-file with the private key of one of them (and --kid if the set has several)`,
      );
    }
    return privateKey(options.privateKeyFile, options);
  }
  if (options.privateKeyFile !== undefined) {
    throw new Refusal("--private-key-file is for AUTH_JWKS_URL deployments, and AUTH_JWKS_URL is not set");
  }
  return developmentKey(config.embeddedDataDir);
}

/** The development secret `npm start` made on the embedded defaults, which is what the server signs with when no auth is set. */
async function developmentKey(dataDir: string | undefined): Promise<SigningKey> {
  if (dataDir === undefined || dataDir.startsWith("memory://")) {
    throw new Refusal(
      dataDir === undefined
        ? "no AUTH_JWT_SECRET or AUTH_JWKS_URL is set: give this command the server's (a JWKS deployment also needs --private-key-file)"
        : "no AUTH_JWT_SECRET is set and DATA_DIR is in memory, so the development secret lives only inside the running server: use the tokens it printed",
    );
  }
  const file = developmentSecretFile(dataDir);
  let secret: string;
  try {
    secret = (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
    throw new Refusal(`no AUTH_JWT_SECRET or AUTH_JWKS_URL is set, and there is no development secret at ${file} yet: \`npm start\` once on these settings makes it, or set the server's AUTH_JWT_SECRET`);
  }
  return { key: secretKey(secret), algorithm: "HS256" };
}

async function privateKey(file: string, options: Options): Promise<SigningKey> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Refusal(`cannot read --private-key-file ${file}: ${(error as { code?: string }).code ?? String(error)}`);
  }
  let key: KeyObject;
  let jwk: { kid?: unknown; alg?: unknown } = {};
  try {
    if (text.trimStart().startsWith("{")) {
      jwk = JSON.parse(text) as typeof jwk;
      key = createPrivateKey({ key: jwk as JsonWebKey, format: "jwk" });
    } else {
      key = createPrivateKey(text);
    }
  } catch {
    throw new Refusal(`--private-key-file ${file} holds no private key (a PEM PKCS#8/PKCS#1/SEC1 key, or a private JWK, is expected)`);
  }
  const algorithm = options.algorithm ?? (typeof jwk.alg === "string" ? jwk.alg : algorithmOf(key));
  if (algorithm === undefined || !keySetAlgorithms.includes(algorithm)) {
    throw new Refusal(`--alg must be one the server accepts from a JWKS: ${keySetAlgorithms.join(", ")}${algorithm === undefined ? " (none follows from this key)" : ` (got ${algorithm})`}`);
  }
  const keyId = options.keyId ?? (typeof jwk.kid === "string" ? jwk.kid : undefined);
  return { key, algorithm, ...(keyId === undefined ? {} : { keyId }) };
}

function algorithmOf(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return "RS256";
    case "rsa-pss":
      return "PS256";
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "ES256" : undefined;
    case "ed25519":
      return "EdDSA";
    default:
      return undefined;
  }
}

/** `--ttl`: seconds, or a number with s, m, h or d; never past AUTH_MAX_TOKEN_AGE_SECONDS, which the server would refuse. */
function lifetime(ttl: string | undefined, config: TokenSigningConfig): number {
  const maxAge = config.auth.claims.maxTokenAgeSeconds;
  const fallback = config.auth.mode === "development" ? developmentTokenLifetimeSeconds : defaultLifetimeSeconds;
  if (ttl === undefined) return maxAge === undefined ? fallback : Math.min(fallback, maxAge);
  const match = /^(\d{1,9})([smhd]?)$/.exec(ttl.trim());
  const seconds = match === null ? 0 : Number(match[1]) * { "": 1, s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  if (seconds <= 0) throw new Refusal(`--ttl must be a positive number of seconds, or one with s, m, h or d (90s, 15m, 2h, 7d); got "${ttl}"`);
  if (maxAge !== undefined && seconds > maxAge) {
    throw new Refusal(`--ttl ${ttl} is longer than AUTH_MAX_TOKEN_AGE_SECONDS (${maxAge}), so the server would refuse the token before it expires`);
  }
  return seconds;
}

/** A key that is not in the set, or a kid that names another, would be refused by the server: say so now. */
async function checkAgainstKeySet(token: string, url: URL, config: TokenSigningConfig): Promise<void> {
  try {
    await createTokenVerifier(jwksKeySource(url), config.auth.claims).verify(token);
  } catch (error) {
    if (error instanceof DependencyUnavailable) {
      throw new Refusal(`could not fetch AUTH_JWKS_URL (${url.href}) to check the key against it, so no token was printed`);
    }
    if (error instanceof Unauthenticated) {
      throw new Refusal(`the server would refuse this token (${error.message}): is --private-key-file's key in ${url.href}, under that --kid?`);
    }
    throw error;
  }
}
