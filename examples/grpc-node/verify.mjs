// An internal service verifying an email address over gRPC with grpc-js stubs: start a
// verification, get the code the consumer was sent, try a wrong code and read why it was refused,
// then the right one. The code comes from test mode's inbox (the server runs with TEST_MODE=true);
// in production the consumer types it from the email instead.
//
//   ONETIME_URL    host:port of onetime (default localhost:8080)
//   SERVICE_TOKEN  a bearer token with the service role (npx onetime token --role service)
//   ADMIN_TOKEN    a bearer token with the admin role, to read the test inbox (npx onetime token --role admin)
import { randomUUID } from "node:crypto";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const address = process.env.ONETIME_URL ?? "localhost:8080";
const serviceToken = required("SERVICE_TOKEN");
const adminToken = required("ADMIN_TOKEN");
// A test address (TEST_MODE_EMAIL_PATTERNS, default *@test.example), new each run so that a rerun
// does not wait for the previous one's resend delay.
const consumer = process.env.CONSUMER ?? `grpc-node-${randomUUID().slice(0, 8)}@test.example`;

// @onetime/proto's directory is the include path for every .proto file the stubs need.
const protoDir = dirname(fileURLToPath(import.meta.resolve("@onetime/proto/package.json")));
const definition = protoLoader.loadSync(["onetime/v1/verification_service.proto", "onetime/v1/test_inbox_service.proto"], {
  includeDirs: [protoDir], longs: String, enums: String, defaults: true, oneofs: true,
});
const { onetime } = grpc.loadPackageDefinition(definition);
const credentials = grpc.credentials.createInsecure(); // createSsl() behind TLS
const verifications = new onetime.v1.VerificationService(address, credentials);
const inbox = new onetime.v1.TestInboxService(address, credentials);

/** A unary method as a promise, sending the bearer token. */
function rpc(client, method, token) {
  const call = promisify(client[method].bind(client));
  return (request) => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return call(request, metadata);
  };
}
const initiateVerification = rpc(verifications, "initiateVerification", serviceToken);
const validateVerification = rpc(verifications, "validateVerification", serviceToken);
const listTestMessages = rpc(inbox, "listTestMessages", adminToken);

// A refusal's reason and metadata (google.rpc.ErrorInfo) travel in the grpc-status-details-bin
// trailer, a google.rpc.Status; protobufjs (what proto-loader runs on) decodes it.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : `${protoDir}/${target}`);
root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
const Status = root.lookupType("google.rpc.Status");
const ErrorInfo = root.lookupType("google.rpc.ErrorInfo");

/** The ErrorInfo of a refused call: { reason, domain, metadata }, or undefined. */
function errorInfo(error) {
  const [bytes] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (bytes === undefined) return undefined;
  const detail = Status.decode(bytes).details.find(({ type_url }) => type_url.endsWith("/google.rpc.ErrorInfo"));
  return detail && ErrorInfo.toObject(ErrorInfo.decode(detail.value));
}

/** The code in the newest message to the consumer; it is sent a moment after initiation, so poll. */
async function codeSentTo(destination) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { messages } = await listTestMessages({ destination, pageSize: 1 });
    const code = messages[0]?.text.match(/\b\d{6}\b/)?.[0];
    if (code !== undefined) return code;
    await sleep(100);
  }
  throw new Error(`no code reached ${destination}'s test inbox in 5 s`);
}

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set; see examples/grpc-node/README.md`);
    process.exit(2);
  }
  return value;
}

try {
  const { verification } = await initiateVerification({
    method: "VERIFICATION_METHOD_EMAIL",
    consumer,
    // A Struct goes in as its message shape; { flow: "signup" } would be stored empty.
    payload: { fields: { flow: { stringValue: "signup" } } },
  });
  console.log(`initiated ${verification.verificationId} for ${consumer}`);

  const code = await codeSentTo(consumer);
  console.log(`the email carries code ${code}`);

  const wrong = code === "000000" ? "111111" : "000000";
  try {
    await validateVerification({ verificationId: verification.verificationId, code: wrong });
    throw new Error("a wrong code was accepted");
  } catch (error) {
    const info = errorInfo(error);
    if (info === undefined) throw error;
    console.log(`wrong code refused: ${grpc.status[error.code]} reason=${info.reason} attempts_left=${info.metadata.attempts_left}`);
  }

  const validated = await validateVerification({ verificationId: verification.verificationId, code });
  console.log(`verified ${validated.verification.consumer}, payload flow=${validated.verification.payload.fields.flow.stringValue}`);
} finally {
  verifications.close();
  inbox.close();
}
