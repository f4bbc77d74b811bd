import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport, type ConnectRouter, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { registerReflection } from "../../src/rpc/reflection/reflectionService.js";

type RequestInit = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

// The onetime services have no RPCs yet, so a fixture supplies what they lack: nested types, a
// map, an extension, and a diamond of imports (both files import timestamp.proto).
function fixtureFile(proto: MessageInitShape<typeof FileDescriptorProtoSchema>, imports: DescFile[]): DescFile {
  const fileProto = create(FileDescriptorProtoSchema, proto);
  const registry = createFileRegistry(fileProto, (name) => imports.find((file) => file.proto.name === name));
  const file = registry.getFile(fileProto.name);
  if (!file) throw new Error(`fixture ${fileProto.name} did not build`);
  return file;
}

const optional = (name: string, number: number, type: Type, typeName?: string) =>
  ({ name, number, type, typeName, label: Label.OPTIONAL }) as const;

const baseFile = fixtureFile(
  {
    name: "fixture/v1/base.proto",
    package: "fixture.v1",
    dependency: ["google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Extendable",
        field: [optional("at", 1, Type.MESSAGE, ".google.protobuf.Timestamp")],
        extensionRange: [{ start: 100, end: 200 }],
      },
    ],
  },
  [file_google_protobuf_timestamp],
);

const widgetFile = fixtureFile(
  {
    name: "fixture/v1/widget_service.proto",
    package: "fixture.v1",
    dependency: ["fixture/v1/base.proto", "google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Widget",
        field: [
          optional("part", 1, Type.MESSAGE, ".fixture.v1.Widget.Part"),
          optional("kind", 2, Type.ENUM, ".fixture.v1.Widget.Kind"),
          optional("created_at", 3, Type.MESSAGE, ".google.protobuf.Timestamp"),
          { ...optional("labels", 4, Type.MESSAGE, ".fixture.v1.Widget.LabelsEntry"), label: Label.REPEATED },
        ],
        nestedType: [
          { name: "Part", field: [optional("name", 1, Type.STRING)] },
          {
            name: "LabelsEntry",
            field: [optional("key", 1, Type.STRING), optional("value", 2, Type.STRING)],
            options: { mapEntry: true },
          },
        ],
        enumType: [{ name: "Kind", value: [{ name: "KIND_UNSPECIFIED", number: 0 }, { name: "KIND_ROUND", number: 1 }] }],
      },
    ],
    extension: [{ ...optional("colour", 100, Type.STRING), extendee: ".fixture.v1.Extendable" }],
    service: [
      {
        name: "WidgetService",
        method: [{ name: "GetWidget", inputType: ".fixture.v1.Widget", outputType: ".fixture.v1.Widget" }],
      },
    ],
  },
  [baseFile, file_google_protobuf_timestamp],
);

function serviceOf(file: DescFile): DescService {
  const [service] = file.services;
  if (!service) throw new Error(`${file.name} declares no service`);
  return service;
}

const onetimeServices = [TokenService, VerificationService, AccountTokenService];
const served = [serviceOf(widgetFile), ...onetimeServices, Health];

/** One reflection stream: every request written, every answer read back as v1 for assertions. */
type Reflect = (requests: RequestInit[]) => Promise<v1.ServerReflectionResponse[]>;

/** Re-reads a message as another schema with the same wire format. */
function reread<From extends DescMessage, To extends DescMessage>(
  from: From,
  to: To,
  message: MessageShape<From>,
): MessageShape<To> {
  return fromBinary(to, toBinary(from, message));
}

async function* each<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

const versions: { name: string; reflect: (transport: Transport) => Reflect }[] = [
  {
    name: "grpc.reflection.v1",
    reflect: (transport) => (requests) =>
      collect(createClient(v1.ServerReflection, transport).serverReflectionInfo(each(requests))),
  },
  {
    // The two versions are wire-identical, so v1 requests are re-read as v1alpha and back.
    name: "grpc.reflection.v1alpha",
    reflect: (transport) => async (requests) => {
      const client = createClient(v1alpha.ServerReflection, transport);
      const asV1alpha = requests.map((init) => {
        const request = create(v1.ServerReflectionRequestSchema, init);
        return reread(v1.ServerReflectionRequestSchema, v1alpha.ServerReflectionRequestSchema, request);
      });
      const answers = await collect(client.serverReflectionInfo(each(asV1alpha)));
      return answers.map((answer) =>
        reread(v1alpha.ServerReflectionResponseSchema, v1.ServerReflectionResponseSchema, answer),
      );
    },
  },
];

function fileDescriptors(response: v1.ServerReflectionResponse | undefined): FileDescriptorProto[] {
  expect(response?.messageResponse.case).toBe("fileDescriptorResponse");
  if (response?.messageResponse.case !== "fileDescriptorResponse") return [];
  return response.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

function fileNames(response: v1.ServerReflectionResponse | undefined): string[] {
  return fileDescriptors(response).map((file) => file.name);
}

const symbol = (name: string): RequestInit => ({ messageRequest: { case: "fileContainingSymbol", value: name } });

const extension = (containingType: string, extensionNumber: number): RequestInit => ({
  messageRequest: { case: "fileContainingExtension", value: { containingType, extensionNumber } },
});

function errorCode(response: v1.ServerReflectionResponse | undefined): number | undefined {
  return response?.messageResponse.case === "errorResponse" ? response.messageResponse.value.errorCode : undefined;
}

const widgetClosure = ["fixture/v1/widget_service.proto", "fixture/v1/base.proto", "google/protobuf/timestamp.proto"];

describe.each(versions)("$name in memory", ({ reflect: reflectOver }) => {
  const reflect = reflectOver(createRouterTransport((router) => registerReflection(router, served)));

  it("lists the registered services and itself", async () => {
    const [answer] = await reflect([{ host: "example.test", messageRequest: { case: "listServices", value: "*" } }]);
    expect(answer?.messageResponse.case).toBe("listServicesResponse");
    const services = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service : [];
    const names = services.map((service) => service.name);
    expect(names).toEqual([
      "fixture.v1.WidgetService",
      "onetime.v1.TokenService",
      "onetime.v1.VerificationService",
      "onetime.v1.AccountTokenService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    expect(answer?.validHost).toBe("example.test");
    expect(answer?.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
  });

  it("returns a file by name with its transitive imports, each once", async () => {
    const [answer] = await reflect([{ messageRequest: { case: "fileByFilename", value: "fixture/v1/widget_service.proto" } }]);
    expect(fileNames(answer)).toEqual(widgetClosure);
    // The answer alone must be enough to build a descriptor pool, as buf curl and grpcurl do.
    const [requested, ...imports] = fileDescriptors(answer);
    if (!requested) throw new Error("no file in the answer");
    const registry = createFileRegistry(requested, (name) => imports.find((file) => file.name === name));
    expect(registry.getMessage("fixture.v1.Widget.Part")).toBeDefined();
  });

  it.each([
    ["a service", "fixture.v1.WidgetService"],
    ["a method", "fixture.v1.WidgetService.GetWidget"],
    ["a message", "fixture.v1.Widget"],
    ["a nested message", "fixture.v1.Widget.Part"],
    ["a map entry", "fixture.v1.Widget.LabelsEntry"],
    ["a field", "fixture.v1.Widget.part"],
    ["an enum", "fixture.v1.Widget.Kind"],
    ["an enum value, scoped as protobuf does", "fixture.v1.Widget.KIND_ROUND"],
    ["an enum value, scoped as grpc-node does", "fixture.v1.Widget.Kind.KIND_ROUND"],
    ["an extension", "fixture.v1.colour"],
  ])("finds the file containing %s", async (_, name) => {
    const [answer] = await reflect([symbol(name)]);
    expect(fileNames(answer)).toEqual(widgetClosure);
  });

  it("finds symbols of the other registered services and of imports", async () => {
    const answers = await reflect([
      symbol("onetime.v1.TokenService"),
      symbol("grpc.health.v1.HealthCheckResponse.ServingStatus"),
      symbol("google.protobuf.Timestamp"),
      symbol("grpc.reflection.v1alpha.ServerReflection"),
    ]);
    expect(answers.map((answer) => fileNames(answer)[0])).toEqual([
      "onetime/v1/token_service.proto",
      "grpc/health/v1/health.proto",
      "google/protobuf/timestamp.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ]);
  });

  it("answers extension queries", async () => {
    const answers = await reflect([
      extension("fixture.v1.Extendable", 100),
      { messageRequest: { case: "allExtensionNumbersOfType", value: "fixture.v1.Extendable" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "fixture.v1.Widget" } },
    ]);
    expect(fileNames(answers[0])).toEqual(widgetClosure);
    expect(answers.slice(1).map((answer) => answer.messageResponse.value)).toMatchObject([
      { baseTypeName: "fixture.v1.Extendable", extensionNumber: [100] },
      { baseTypeName: "fixture.v1.Widget", extensionNumber: [] },
    ]);
  });

  it("answers unknown names with NOT_FOUND and keeps the stream answering", async () => {
    const answers = await reflect([
      symbol("fixture.v1.Nope"),
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      extension("fixture.v1.Extendable", 101),
      { messageRequest: { case: "allExtensionNumbersOfType", value: "fixture.v1.Nope" } },
      {},
      symbol("fixture.v1.Widget"),
    ]);
    const { NotFound, InvalidArgument } = Code;
    expect(answers.map(errorCode)).toEqual([NotFound, NotFound, NotFound, NotFound, InvalidArgument, undefined]);
    expect(answers[0]?.originalRequest?.messageRequest).toEqual({ case: "fileContainingSymbol", value: "fixture.v1.Nope" });
    expect(fileNames(answers[5])).toEqual(widgetClosure);
  });
});

describe("over a real socket", () => {
  const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
  const sessions = new Set<http2.ServerHttp2Session>();
  let server: http2.Http2Server;
  let baseUrl = "";

  function routes(router: ConnectRouter): void {
    for (const service of onetimeServices) router.service(service, {});
    router.service(Health, {
      check: () => create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING }),
    });
    registerReflection(router, [...onetimeServices, Health]);
  }

  async function bufCurl(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(buf, ["curl", "--http2-prior-knowledge", ...args], { timeout: 15_000 });
    return stdout;
  }

  beforeAll(async () => {
    server = http2.createServer(connectNodeAdapter({ routes }));
    server.on("session", (session) => {
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const expectedServices = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "onetime.v1.AccountTokenService",
    "onetime.v1.TokenService",
    "onetime.v1.VerificationService",
  ];

  it.each([[[]], [["--reflect-protocol", "grpc-v1"]], [["--reflect-protocol", "grpc-v1alpha"]]])(
    "buf curl --list-services %j",
    async (reflectFlags: string[]) => {
      const listed = (await bufCurl(...reflectFlags, "--list-services", baseUrl)).trim().split("\n").sort();
      expect(listed).toEqual(expectedServices);
    },
  );

  it.each([
    ["grpc", "grpc-v1"],
    ["connect", "grpc-v1alpha"],
    ["grpcweb", "grpc-v1"],
  ])("buf curl --protocol %s calls Health/Check with the schema from %s reflection", async (protocol, reflectProtocol) => {
    const url = `${baseUrl}/grpc.health.v1.Health/Check`;
    const output = await bufCurl("--protocol", protocol, "--reflect-protocol", reflectProtocol, "-d", "{}", url);
    expect(JSON.parse(output)).toEqual({ status: "SERVING" });
  });

  it("answers @grpc/grpc-js over the gRPC protocol", async () => {
    const client = new grpc.Client(baseUrl.replace("http://", ""), grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        (request: v1.ServerReflectionRequest) => Buffer.from(toBinary(v1.ServerReflectionRequestSchema, request)),
        (bytes: Buffer) => fromBinary(v1.ServerReflectionResponseSchema, bytes),
      );
      const answers: v1.ServerReflectionResponse[] = [];
      call.on("data", (answer) => answers.push(answer));
      const ended = new Promise<void>((resolve, reject) => {
        call.on("end", resolve);
        call.on("error", reject);
      });
      const requests: RequestInit[] = [
        symbol("grpc.health.v1.Health.Check"),
        symbol("grpc.health.v1.Nope"),
        { messageRequest: { case: "fileByFilename", value: "onetime/v1/verification_service.proto" } },
      ];
      for (const request of requests) call.write(create(v1.ServerReflectionRequestSchema, request));
      call.end();
      await ended;
      expect(fileNames(answers[0])).toEqual(["grpc/health/v1/health.proto"]);
      expect(errorCode(answers[1])).toBe(Code.NotFound);
      // The file first, then everything it imports (protovalidate's rules, well-known types).
      expect(fileNames(answers[2])[0]).toBe("onetime/v1/verification_service.proto");
      expect(fileNames(answers[2])).toEqual(expect.arrayContaining(["buf/validate/validate.proto", "google/protobuf/duration.proto"]));
    } finally {
      client.close();
    }
  });
});
