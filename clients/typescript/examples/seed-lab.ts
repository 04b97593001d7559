// The seed's AWS SDK for Node.js lab, through Palisade: describe the VPC,
// create a security group in it, allow SSH and HTTP in. Each change is an
// operation Palisade validates, stores and applies within EC2's rate
// limits; the client waits for it and returns EC2's ids.
//
//   npm ci && npm run build
//   PALISADE_SERVER=127.0.0.1:50051 node dist/examples/seed-lab.js [group-name]

import { PalisadeClient, PalisadeError, groupId } from "../src/index.js";

const location = {
  accountId: process.env["PALISADE_ACCOUNT_ID"] ?? "123456789012",
  region: process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"] ?? "us-east-1",
};
const groupName = process.argv[2] ?? "ssh-http-sg";

async function main(): Promise<void> {
  // ec2.describeVpcs: Palisade manages groups, not VPCs; the default
  // VPC is the one holding the group named "default".
  const page = await palisade.listSecurityGroups({ location });
  const vpc = page.securityGroups.find((g) => g.groupName === "default")?.vpcId;
  if (!vpc) {
    throw new Error("Cannot retrieve a VPC: no default security group in " + location.region);
  }
  console.log("VPC:", vpc);

  // ec2.createSecurityGroup
  const created = await palisade.wait(
    (await palisade.createSecurityGroup({ location, vpcId: vpc, groupName, description: "SG for SSH and HTTP traffic" })).name,
  );
  const id = groupId(created);
  console.log("Security Group created with ID:", id);

  // ec2.authorizeSecurityGroupIngress
  const authorized = await palisade.wait(
    (
      await palisade.authorizeSecurityGroupIngress({
        location,
        groupId: id,
        ipPermissions: [
          { ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: [{ cidrIp: "10.0.0.0/8", description: "SSH from the VPN" }] },
          { ipProtocol: "tcp", fromPort: 80, toPort: 80, ipRanges: [{ cidrIp: "0.0.0.0/0", description: "HTTP" }] },
        ],
      })
    ).name,
  );
  const rules = authorized.result?.securityGroupRules ?? [];
  console.log("Inbound rules added to the security group successfully!", rules.map((r) => r.securityGroupRuleId).join(" "));

  // What the SDK would only have learnt from EC2 after the call: a bad
  // rule is refused before anything is stored, with its field named.
  try {
    await palisade.authorizeSecurityGroupIngress({
      location,
      groupId: id,
      ipPermissions: [{ ipProtocol: "tcp", fromPort: 443, toPort: 443, ipRanges: [{ cidrIp: "10.0.0.0/33" }] }],
    });
    throw new Error("a /33 mask was accepted");
  } catch (err) {
    if (!(err instanceof PalisadeError) || err.violations.length === 0) {
      throw err;
    }
    for (const v of err.violations) {
      console.log(`Refused: ${v.field}: ${v.description}`);
    }
  }
}

const palisade = new PalisadeClient();
main().catch((err: unknown) => {
  // A PalisadeError says what failed: EC2's code, the bad fields, the policy.
  if (err instanceof PalisadeError && err.ec2Code !== "") {
    console.error("seed lab: EC2 refused it with", err.ec2Code);
  }
  console.error("seed lab:", err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
