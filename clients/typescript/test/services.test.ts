// The rollout, audit, tag, rule and search calls against a running
// Palisade that the Go test harness starts (go test ./clients/typescript/):
// one worker, one rollout driver and the permissive loopback policy, which
// allows and audits every call. PALISADE_SERVER is a proxy to it that
// drops the connection once, after the API stored the first rollout and
// before its answer reaches the client. Each test makes groups of its
// own, with ports no other test uses.

import { test } from "node:test";
import assert from "node:assert/strict";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  AuditDecision,
  Code,
  OperationKind,
  PalisadeClient,
  PalisadeError,
  RolloutRemediation_Action,
  RolloutState,
  RulePredicate_Direction,
  groupId,
  type SearchSecurityGroupsResponse,
} from "../src/index.js";

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

/** Creates a group with one inbound tcp rule on port from 10.0.0.0/8; returns its id and the rule's. */
async function groupWithRule(name: string, port: number): Promise<{ group: string; rule: string }> {
  const op = await palisade.createSecurityGroup({
    location,
    groupName: name,
    description: name,
    ipPermissions: [{ ipProtocol: "tcp", fromPort: port, toPort: port, ipRanges: [{ cidrIp: "10.0.0.0/8" }] }],
  });
  const done = await palisade.wait(op.name);
  const rule = done.result?.securityGroupRules.find((r) => !r.isEgress && r.fromPort === port);
  assert.ok(rule, `no inbound rule on ${port} in ${JSON.stringify(done.result?.securityGroupRules)}`);
  return { group: groupId(done), rule: rule.securityGroupRuleId };
}

test("tags set on a group and its rule are read back through listSecurityGroupRules, and audited", async () => {
  const { group, rule } = await groupWithRule("tagged", 8443);
  const before = timestampNow();
  const op = await palisade.createTags({ location, groupId: group, resourceIds: [group, rule], tags: { team: "web" } });
  assert.match(op.metadata?.requestId ?? "", uuid);
  assert.equal(op.metadata?.kind, OperationKind.CREATE_TAGS);
  await palisade.wait(op.name);

  const tagged = await palisade.listSecurityGroupRules({ location, filters: [{ name: "tag:team", values: ["web"] }] });
  assert.deepEqual(
    tagged.securityGroupRules.map((r) => [r.securityGroupRuleId, r.tags["team"]]),
    [[rule, "web"]],
  );
  const sg = await palisade.getSecurityGroup({ location, groupId: group });
  assert.equal(sg.tags["team"], "web");

  // The decision is in the audit trail, by list and by watch.
  const page = await palisade.listAuditRecords({ filter: { action: "CreateTags" } });
  const rec = page.records.find((r) => r.requestId === op.metadata?.requestId);
  assert.ok(rec, `no audit record of request ${op.metadata?.requestId}`);
  assert.equal(rec.decision, AuditDecision.ALLOW);
  assert.equal(rec.operation, op.name);
  const stop = new AbortController();
  let watched = "";
  for await (const r of palisade.watchAuditRecords({ filter: { action: "CreateTags" }, startTime: before }, stop.signal)) {
    watched = r.requestId;
    break;
  }
  assert.equal(watched, op.metadata?.requestId);

  const untag = await palisade.deleteTags({ location, groupId: group, resourceIds: [group, rule], tagKeys: ["team"] });
  await palisade.wait(untag.name);
  const after = await palisade.listSecurityGroupRules({ location, groupId: group });
  assert.deepEqual(
    after.securityGroupRules.filter((r) => "team" in r.tags),
    [],
  );
});

test("a rule is changed in place and described, keeping its id", async () => {
  const { group, rule } = await groupWithRule("modified", 8444);
  const modify = await palisade.modifySecurityGroupRules({
    location,
    groupId: group,
    securityGroupRules: [
      { securityGroupRuleId: rule, securityGroupRule: { ipProtocol: "tcp", fromPort: 8445, toPort: 8445, cidrIpv4: "10.0.0.0/8" } },
    ],
  });
  await palisade.wait(modify.name);
  const describe = await palisade.updateSecurityGroupRuleDescriptionsIngress({
    location,
    groupId: group,
    securityGroupRuleDescriptions: [{ securityGroupRuleId: rule, description: "metrics" }],
  });
  await palisade.wait(describe.name);
  const rules = await palisade.listSecurityGroupRules({ location, securityGroupRuleIds: [rule] });
  assert.deepEqual(
    rules.securityGroupRules.map((r) => [r.securityGroupRuleId, r.fromPort, r.description]),
    [[rule, 8445, "metrics"]],
  );
  // An outbound description by id names an inbound rule: EC2 refuses it.
  const egress = await palisade.updateSecurityGroupRuleDescriptionsEgress({
    location,
    groupId: group,
    securityGroupRuleDescriptions: [{ securityGroupRuleId: rule, description: "wrong way" }],
  });
  const err = await refusal(palisade.wait(egress.name));
  assert.notEqual(err.ec2Code, "", err.message);
  assert.equal(err.operation, egress.name);
});

test("a search streams the groups whose rules match", async () => {
  const { group, rule } = await groupWithRule("searched", 9443);
  await groupWithRule("not-searched", 9444);
  const answers: SearchSecurityGroupsResponse[] = [];
  for await (const a of palisade.searchSecurityGroups({
    targets: [location],
    rulePredicates: [{ direction: RulePredicate_Direction.INGRESS, port: 9443, cidrContains: "10.0.0.0/8" }],
  })) {
    answers.push(a);
  }
  assert.deepEqual(
    answers.map((a) => [a.securityGroup?.groupId, a.matchingRules.map((r) => r.securityGroupRuleId), a.error?.message]),
    [[group, [rule], undefined]],
  );
});

test("a rollout is started and waited to its end, then rolled back", async () => {
  const { group } = await groupWithRule("rolled", 7070);
  const change = { authorizeIngress: [{ ipProtocol: "tcp", fromPort: 7071, toPort: 7071, ipRanges: [{ cidrIp: "10.1.0.0/16" }] }] };
  const op = await palisade.startRollout({ change, targets: [{ location, groupIds: [group] }], strategy: { maxInFlight: 1 } });
  assert.equal(op.metadata?.kind, OperationKind.ROLLOUT);
  const name = op.metadata?.rollout ?? "";
  assert.match(name, /^rollouts\/[0-9a-f]{32}$/);

  const done = await palisade.wait(op.name);
  assert.equal(done.rollout?.state, RolloutState.SUCCEEDED);
  assert.equal(done.rollout?.progress?.succeeded, 1);
  const states: RolloutState[] = [];
  const watched = await palisade.watchRollout(name, (r) => states.push(r.rollout?.state ?? RolloutState.UNSPECIFIED));
  assert.equal(watched.state, RolloutState.SUCCEEDED);
  assert.equal(states.at(-1), RolloutState.SUCCEEDED);
  assert.equal((await palisade.getRollout(name)).operation, op.name);
  // The start was answered after a retry with the same request id: one rollout.
  assert.match(op.metadata?.requestId ?? "", uuid);
  assert.deepEqual(
    (await palisade.listRollouts()).rollouts.map((r) => [r.name, r.requestId]),
    [[name, op.metadata?.requestId]],
  );
  const added = await palisade.listSecurityGroupRules({ location, groupId: group });
  assert.ok(added.securityGroupRules.some((r) => r.fromPort === 7071 && r.cidrIpv4 === "10.1.0.0/16"));

  // An ended rollout can no longer be paused, resumed or cancelled.
  for (const call of [palisade.pauseRollout, palisade.resumeRollout, palisade.cancelRollout]) {
    const err = await refusal(call.call(palisade, name));
    assert.equal(err.code, Code.FailedPrecondition, err.message);
  }

  const rollback = await palisade.rollbackRollout({ name });
  const undone = await palisade.wait(rollback.name);
  assert.equal(undone.rollout?.state, RolloutState.SUCCEEDED);
  assert.equal(undone.rollout?.rollbackOf, name);
  const left = await palisade.listSecurityGroupRules({ location, groupId: group });
  assert.ok(!left.securityGroupRules.some((r) => r.fromPort === 7071), "the rollback left the rule");
});

test("a remediation's plan names the rules the search found", async () => {
  const { group, rule } = await groupWithRule("remediated", 6060);
  const op = await palisade.startRollout({
    validateOnly: true,
    remediation: {
      search: { targets: [location], rulePredicates: [{ direction: RulePredicate_Direction.INGRESS, port: 6060, cidrContains: "10.0.0.0/8" }] },
      action: RolloutRemediation_Action.REVOKE_MATCHING_RULES,
    },
  });
  assert.equal(op.done, true);
  const plan = op.rollout?.plan;
  assert.equal(plan?.totalGroups, 1);
  const gp = plan?.locations[0]?.groupPlans[0];
  assert.equal(gp?.groupId, group);
  assert.deepEqual(
    gp?.losses.map((r) => r.securityGroupRuleId),
    [rule],
  );
});

test("an invalid request to each new call family names the bad field", async () => {
  const group = "sg-0123456789abcdef0";
  const search = async () => {
    for await (const _ of palisade.searchSecurityGroups({ targets: [] })) {
      // no answer is expected
    }
  };
  const calls: [string, () => Promise<unknown>][] = [
    ["startRollout", () => palisade.startRollout({ change: {}, targets: [] })],
    ["getRollout", () => palisade.getRollout("rollouts/nope")],
    ["rollbackRollout", () => palisade.rollbackRollout({ name: "nope" })],
    ["createTags", () => palisade.createTags({ location, groupId: group, resourceIds: [group], tags: { "aws:owner": "me" } })],
    ["deleteTags", () => palisade.deleteTags({ location, groupId: group, resourceIds: [group] })],
    [
      "modifySecurityGroupRules",
      () =>
        palisade.modifySecurityGroupRules({
          location,
          groupId: group,
          securityGroupRules: [{ securityGroupRuleId: "sgr-bad", securityGroupRule: { ipProtocol: "tcp", fromPort: 1, toPort: 1, cidrIpv4: "10.0.0.0/8" } }],
        }),
    ],
    ["updateSecurityGroupRuleDescriptionsIngress", () => palisade.updateSecurityGroupRuleDescriptionsIngress({ location, groupId: group })],
    [
      "updateSecurityGroupRuleDescriptionsEgress",
      () =>
        palisade.updateSecurityGroupRuleDescriptionsEgress({
          location,
          groupId: "sg-x",
          ipPermissions: [{ ipProtocol: "tcp", fromPort: 1, toPort: 1, ipRanges: [{ cidrIp: "10.0.0.0/8" }] }],
        }),
    ],
    ["listSecurityGroupRules", () => palisade.listSecurityGroupRules({ location, pageSize: 2 })],
    ["listAuditRecords", () => palisade.listAuditRecords({ pageSize: 5000 })],
    ["searchSecurityGroups", search],
  ];
  const got: Record<string, string[]> = {};
  for (const [call, p] of calls) {
    const err = await refusal(p());
    assert.equal(err.code, Code.InvalidArgument, `${call}: ${err.message}`);
    assert.equal(err.retryable, false);
    got[call] = err.violations.map((v) => v.field);
  }
  assert.deepEqual(got, {
    startRollout: ["change", "targets"],
    getRollout: ["name"],
    rollbackRollout: ["name"],
    createTags: ['tags["aws:owner"]'],
    deleteTags: ["tags"],
    modifySecurityGroupRules: ["security_group_rules[0].security_group_rule_id"],
    updateSecurityGroupRuleDescriptionsIngress: ["ip_permissions"],
    updateSecurityGroupRuleDescriptionsEgress: ["group_id"],
    listSecurityGroupRules: ["page_size"],
    listAuditRecords: ["page_size"],
    searchSecurityGroups: ["targets"],
  });
});
