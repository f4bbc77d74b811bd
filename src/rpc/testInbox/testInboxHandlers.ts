import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { TestInboxService, TestOutcome as TestOutcomeProto } from "../../../gen/onetime/v1/test_inbox_service_pb.js";
import { inboxDestination, type TestInbox, type TestOutcome } from "../../delivery/testInbox.js";

const defaultPageSize = 20;

const outcomes: Record<TestOutcome, TestOutcomeProto> = {
  delivered: TestOutcomeProto.DELIVERED,
  failed_permanently: TestOutcomeProto.FAILED_PERMANENTLY,
  failed_temporarily: TestOutcomeProto.FAILED_TEMPORARILY,
  timed_out: TestOutcomeProto.TIMED_OUT,
};

/**
 * onetime.v1.TestInboxService over test mode's inbox. Without test mode (no inbox) every RPC says
 * how to turn it on, rather than the edge's "not an RPC served here".
 */
export function registerTestInboxService(router: ConnectRouter, inbox: TestInbox | undefined): void {
  router.service(TestInboxService, {
    async listTestMessages(request) {
      if (inbox === undefined) {
        throw new ConnectError("TestInboxService is served only with TEST_MODE=true, never with NODE_ENV=production (see docs/test-mode.md)", Code.Unimplemented);
      }
      const destination = request.destination === "" ? undefined : inboxDestination(request.destination);
      const messages = await inbox.list(destination, request.pageSize === 0 ? defaultPageSize : request.pageSize);
      return {
        messages: messages.map((message) => ({
          kind: message.kind,
          destination: message.destination,
          subject: message.subject,
          text: message.text,
          data: { ...message.data },
          createTime: timestampFromDate(message.createTime),
          outcome: outcomes[message.outcome],
          attempt: message.attempt,
        })),
      };
    },
  });
}
