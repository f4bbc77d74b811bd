export { createOnetimeClients, type OnetimeClients } from "./clients.js";
export { errorDomain, errorReason, readOnetimeError, type FieldViolation, type OnetimeError } from "./errors.js";
export * from "./gen/onetime/v1/verification_service_pb.js";
export * from "./gen/onetime/v1/token_service_pb.js";
export * from "./gen/onetime/v1/account_token_service_pb.js";
export { ErrorInfoSchema, type ErrorInfo } from "./gen/google/rpc/error_details_pb.js";
export { ViolationsSchema, type Violations } from "./gen/buf/validate/validate_pb.js";
