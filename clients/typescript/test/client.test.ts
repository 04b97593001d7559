// The client against a running Palisade that the Go test harness starts
// (go test ./clients/typescript/): one worker, the default policy, and a
// proxy that drops the connection once, after the API stored the first
// create and before its answer reaches the client. PALISADE_SERVER is the
// proxy.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, PalisadeClient, PalisadeError, groupId, OperationState } from "../src/index.js";

const palisade = new PalisadeClient({ retry: { attempts: 10, initialMs: 20, maxMs: 200 } });
const location = { accountId: "123456789012", region: "us-east-1" };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function refusal(call: Promise<unknown>): Promise<PalisadeError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `not a PalisadeError: ${String(err)}`);
    return err;
  }
  assert.fail("the call was accepted");
}

test("a create retried after a dropped connection makes one operation, and wait returns its group", async () => {
  const op = await palisade.createSecurityGroup({ location, groupName: "dropped", description: "answer lost once" });
  assert.match(op.metadata?.requestId ?? "", uuid);
  const list = await palisade.listOperations({ name: "operations" });
  assert.deepEqual(
    list.operations.map((o) => o.name),
    [op.name],
  );

  const states: OperationState[] = [];
  const done = await palisade.wait(op.name, (ev) => states.push(ev.state));
  assert.equal(done.done, true);
  assert.match(groupId(done), /^sg-[0-9a-f]+$/);
  assert.equal(done.result?.groupId, groupId(done));
  assert.equal(states[0], OperationState.ACCEPTED);
  assert.equal(states.at(-1), OperationState.SUCCEEDED);
});

test("an operation EC2 fails is thrown with EC2's code", async () => {
  const op = await palisade.createSecurityGroup({ location, groupName: "dropped", description: "the name is taken" });
  const err = await refusal(palisade.wait(op.name));
  assert.equal(err.ec2Code, "InvalidGroup.Duplicate");
  assert.equal(err.operation, op.name);
  assert.equal(err.state, OperationState.FAILED);
});

test("an invalid request names every bad field", async () => {
  const err = await refusal(
    palisade.authorizeSecurityGroupIngress({
      location,
      groupId: "sg-0123456789abcdef0",
      ipPermissions: [
        { ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: [{ cidrIp: "10.0.0.0/33" }] },
        { ipProtocol: "tcp", fromPort: 70000, toPort: 70000, ipRanges: [{ cidrIp: "10.0.0.0/8" }] },
      ],
    }),
  );
  assert.equal(err.code, Code.InvalidArgument);
  const fields = err.violations.map((v) => v.field);
  assert.ok(fields.includes("ip_permissions[0].ip_ranges[0].cidr_ip"), fields.join(", "));
  assert.ok(fields.includes("ip_permissions[1].from_port"), fields.join(", "));
  assert.equal(err.denied, false);
  assert.equal(err.retryable, false);
});

test("a request the policy denies carries the decision", async () => {
  const err = await refusal(
    palisade.authorizeSecurityGroupIngress({
      location,
      groupId: "sg-0123456789abcdef0",
      ipPermissions: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: [{ cidrIp: "0.0.0.0/0" }] }],
    }),
  );
  assert.equal(err.code, Code.PermissionDenied);
  assert.equal(err.denied, true);
  assert.ok(err.policy?.policies.includes("no-admin-ports-from-outside-10-8"), String(err.policy?.policies));
  assert.notEqual(err.policy?.auditId, "");
  assert.deepEqual(
    err.violations.map((v) => v.field),
    ["ip_permissions[0].ip_ranges[0].cidr_ip"],
  );
});

test("an absent TLS file is named", () => {
  assert.throws(() => new PalisadeClient({ tlsCa: "/nonexistent/ca.pem" }), /tlsCa \/nonexistent\/ca.pem/);
  assert.throws(() => new PalisadeClient({ tlsCert: "me.pem" }), /tlsCert and tlsKey go together/);
});
