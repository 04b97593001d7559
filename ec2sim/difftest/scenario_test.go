package difftest

// The scenario: one shared history of EC2 calls, run in order against each
// endpoint. Steps where moto departs from EC2 and thereby changes its own
// state (it creates or deletes what EC2 would refuse to) use groups that no
// later compared step looks at, so that the departure stays local.

const (
	unknownSG = "!sg-0123456789abcdef0"
	plID      = "pl-corp" // a customer-managed list the scenario creates
)

var (
	none    = createOpts{}
	inVpc2  = createOpts{vpc: "vpc2"}
	ingress = ruleOpts{}
	egress  = ruleOpts{egress: true}
)

func scenario() []step {
	return []step{
		// --- the world as found: default VPC and its default group ---
		{name: "describe-default-vpc", do: defaultVpc("vpcdef"), want: "OK"},
		{name: "describe-default-group", do: describe(describeOpts{
			filters: map[string]string{"vpc-id": "@vpcdef", "group-name": "default"}, record: "sgdef"}),
			want:      "OK",
			moto:      "moto: no inbound self-rule in default groups",
			wantShape: `sgdef[default vpc=vpcdef owner=123456789012 desc="default VPC security group" in=[-1:*:sg=sgdef] out=[-1:*:0.0.0.0/0] tags={}]`},
		{name: "create-vpc", do: createVpc("vpc2", "10.1.0.0/16"), want: "OK"},
		{name: "describe-vpc2-default-group", do: describe(describeOpts{
			filters: map[string]string{"vpc-id": "@vpc2", "group-name": "default"}, record: "sgdef2"}),
			want:      "OK",
			moto:      "moto: no inbound self-rule in default groups",
			wantShape: `sgdef2[default vpc=vpc2 owner=123456789012 desc="default VPC security group" in=[-1:*:sg=sgdef2] out=[-1:*:0.0.0.0/0] tags={}]`},

		// --- CreateSecurityGroup ---
		{name: "create-web-default-vpc", do: createSG("web", "web", "web tier", createOpts{tags: map[string]string{"team": "core"}}), want: "OK",
			moto: "moto: CreateSecurityGroup's response omits the tags given on create", wantShape: "sg-ok tags={team=core}"},
		{name: "create-web-duplicate", do: createSG("", "web", "again", none), want: "InvalidGroup.Duplicate"},
		{name: "create-web-duplicate-other-case", do: createSG("webcase", "WEB", "again", none), want: "InvalidGroup.Duplicate",
			moto: "moto: names are compared case-sensitively"},
		{name: "create-web-in-vpc2", do: createSG("web2", "web", "web tier in vpc2", inVpc2), want: "OK"},
		{name: "create-db-in-vpc2", do: createSG("db2", "db", "database", inVpc2), want: "OK"},
		{name: "create-reserved-name", do: createSG("", "default", "reserved", inVpc2), want: "InvalidGroup.Reserved",
			moto: "moto: no name validation (the reserved name is answered as a duplicate)"},
		{name: "create-name-sg-prefix", do: createSG("sgprefix", "sg-web", "looks like an id", none), want: "InvalidParameterValue",
			moto: "moto: no name validation"},
		{name: "create-name-bad-chars", do: createSG("badchars", "web~tier", "tilde not allowed", none), want: "InvalidParameterValue",
			moto: "moto: no name validation"},
		{name: "create-description-non-ascii", do: createSG("nonascii", "café", "café tier", none), want: "InvalidParameterValue",
			moto: "moto: no description validation"},
		{name: "create-unknown-vpc", do: createSG("orphan", "orphan", "no such vpc", createOpts{vpc: "vpcnone"}), want: "InvalidVpcID.NotFound",
			moto: "moto: no VpcId validation"},
		{name: "create-dry-run", do: createSG("", "dry", "dry run", createOpts{dryRun: true}), want: "DryRunOperation"},
		{name: "create-hostbits-group", do: createSG("hb", "hostbits", "host bits", none), want: "OK"},
		{name: "create-quota-group", do: createSG("quota", "quota", "rule quota", inVpc2), want: "OK"},
		{name: "create-partial-revoke-group", do: createSG("partial", "partial", "partial revoke", inVpc2), want: "OK"},
		{name: "create-ref-target", do: createSG("target", "target", "referenced", inVpc2), want: "OK"},
		{name: "create-ref-holder", do: createSG("holder", "holder", "references target", inVpc2), want: "OK"},

		// --- AuthorizeSecurityGroupIngress / Egress ---
		{name: "authorize-seed-rule", do: authorize("web", ingress, P("tcp", 21, 80, "0.0.0.0/0", "10.0.0.0/16")), want: "OK"},
		{name: "authorize-seed-rule-again", do: authorize("web", ingress, P("tcp", 21, 80, "0.0.0.0/0", "10.0.0.0/16")), want: "InvalidPermission.Duplicate"},
		{name: "authorize-by-group-name", do: authorize("=web", ingress, P("tcp", 22, 22, "192.168.0.0/24|ssh from office")), want: "OK"},
		{name: "authorize-ipv6", do: authorize("web2", ingress, P("tcp", 443, 443, "::/0")), want: "OK"},
		{name: "create-prefix-list", do: createPL(plID, "corp", 3, "10.8.0.0/16"), want: "OK"},
		{name: "authorize-prefix-list", do: authorize("web2", ingress, P("tcp", 80, 80, plID)), want: "OK"},
		{name: "authorize-group-ref", do: authorize("db2", ingress, P("tcp", 5432, 5432, "@web2|app")), want: "OK",
			moto:      "moto: the Authorize response leaves out a referenced-group rule's description",
			wantShape: "return=true rules=[db2:in:tcp:5432..5432:sg=web2(app) sgr-ok tags={}]"},
		{name: "authorize-icmp", do: authorize("web2", ingress, P("icmp", 8, -1, "10.1.0.0/16")), want: "OK"},
		{name: "authorize-multi-permission", do: authorize("web2", ingress,
			P("udp", 53, 53, "10.1.0.0/16"), P("tcp", 8080, 8081, "10.1.2.0/24", "10.1.3.0/24")),
			want: "OK", moto: "moto: a multi-permission Authorize lists only the last permission's rules",
			wantShape: "return=true rules=[web2:in:tcp:8080..8081:10.1.2.0/24 sgr-ok tags={}; web2:in:tcp:8080..8081:10.1.3.0/24 sgr-ok tags={}; web2:in:udp:53..53:10.1.0.0/16 sgr-ok tags={}]"},
		{name: "authorize-duplicate-within-request", do: authorize("hb", ingress,
			P("tcp", 9000, 9000, "10.1.9.0/24"), P("tcp", 9000, 9000, "10.1.9.0/24")),
			want: "InvalidParameterValue",
			moto: "moto: the same permission twice in one request is added once, then refused as InvalidPermission.Duplicate"},
		{name: "authorize-with-rule-tags", do: authorize("web2", ruleOpts{tags: map[string]string{"owner": "mail"}},
			P("tcp", 25, 25, "10.1.5.0/24")), want: "OK"},
		{name: "authorize-egress", do: authorize("web2", egress, P("tcp", 5432, 5432, "@db2")), want: "OK"},
		{name: "authorize-egress-ipv6", do: authorize("web2", egress, P("tcp", 443, 443, "::/0")), want: "OK"},
		{name: "authorize-egress-duplicate-default", do: authorize("web2", egress, P("-1", noPort, noPort, "0.0.0.0/0")), want: "InvalidPermission.Duplicate"},
		{name: "authorize-partial", do: authorize("partial", ingress, P("tcp", 22, 22, "10.1.0.0/16")), want: "OK"},
		{name: "authorize-ref-target", do: authorize("holder", ingress, P("tcp", 22, 22, "@target")), want: "OK"},
		{name: "authorize-hostbits", do: authorize("hb", ingress, P("tcp", 22, 22, "100.68.0.18/18")), want: "OK",
			moto:      "moto: CIDR host bits are not canonicalised",
			wantShape: "return=true rules=[hb:in:tcp:22..22:100.68.0.0/18 sgr-ok tags={}]"},
		{name: "authorize-hostbits-canonical-duplicate", do: authorize("hb", ingress, P("tcp", 22, 22, "100.68.0.0/18")), want: "InvalidPermission.Duplicate",
			moto: "moto: CIDR host bits are not canonicalised"},
		{name: "authorize-protocol-all", do: authorize("hb", ingress, P("all", noPort, noPort, "10.0.0.0/8")), want: "InvalidParameterValue",
			moto: "moto: no protocol validation"},
		{name: "authorize-protocol-256", do: authorize("hb", ingress, P("256", noPort, noPort, "10.0.0.0/8")), want: "InvalidParameterValue",
			moto: "moto: no protocol validation"},
		{name: "authorize-tcp-without-ports", do: authorize("hb", ingress, P("tcp", noPort, noPort, "10.0.0.0/8")), want: "InvalidParameterValue",
			moto: "moto: no port validation"},
		{name: "authorize-tcp-port-minus-one", do: authorize("hb", ingress, P("tcp", -1, -1, "10.0.0.0/8")), want: "InvalidPermission.Malformed",
			moto: "moto: no port validation"},
		{name: "authorize-cidr-without-prefix", do: authorize("hb", ingress, P("tcp", 25, 25, "10.0.0.1")), want: "InvalidParameterValue"},
		{name: "authorize-ipv6-in-ipranges", do: authorize("hb", ingress, P("tcp", 25, 25, "v4=::/0")), want: "InvalidParameterValue"},
		{name: "authorize-unknown-group", do: authorize(unknownSG, ingress, P("tcp", 22, 22, "10.0.0.0/8")), want: "InvalidGroup.NotFound"},
		{name: "authorize-malformed-group-id", do: authorize("!sgx-123", ingress, P("tcp", 22, 22, "10.0.0.0/8")), want: "InvalidGroupId.Malformed",
			moto: "moto: malformed ids give InvalidGroup.NotFound"},
		{name: "authorize-unknown-referenced-group", do: authorize("web2", ingress, P("tcp", 22, 22, "@nosuchgroup")), want: "InvalidGroup.NotFound"},
		{name: "authorize-dry-run", do: authorize("web2", ruleOpts{dryRun: true}, P("tcp", 23, 23, "10.0.0.0/8")), want: "DryRunOperation"},

		// --- rule quota: 60 inbound IPv4 rules, IPv6 counted apart ---
		{name: "quota-fill-60", do: authorizeN("quota", 0, 60), want: "OK"},
		{name: "quota-61st-ipv4", do: authorizeN("quota", 60, 1), want: "RulesPerSecurityGroupLimitExceeded"},
		{name: "quota-ipv6-counted-apart", do: authorize("quota", ingress, P("tcp", 443, 443, "2001:db8::/32")), want: "OK",
			moto:      "moto: IPv4 and IPv6 rules share one 60-rule count",
			wantShape: "return=true rules=[quota:in:tcp:443..443:2001:db8::/32 sgr-ok tags={}]"},

		// --- DescribeSecurityGroups / DescribeSecurityGroupRules / CreateTags ---
		{name: "describe-by-id", do: describe(describeOpts{ids: []string{"web"}}), want: "OK"},
		{name: "describe-by-name-default-vpc", do: describe(describeOpts{names: []string{"web"}}), want: "OK",
			moto:      "moto: GroupNames also finds groups outside the default VPC",
			wantShape: `web[web vpc=vpcdef owner=123456789012 desc="web tier" in=[tcp:21..80:0.0.0.0/0 tcp:21..80:10.0.0.0/16 tcp:22..22:192.168.0.0/24(ssh from office)] out=[-1:*:0.0.0.0/0] tags={team=core}]`},
		{name: "describe-by-name-only-in-other-vpc", do: describe(describeOpts{names: []string{"db"}}), want: "InvalidGroup.NotFound",
			moto: "moto: GroupNames also finds groups outside the default VPC"},
		{name: "describe-by-filters", do: describe(describeOpts{filters: map[string]string{"vpc-id": "@vpc2", "group-name": "web"}}), want: "OK"},
		{name: "describe-by-tag-filter", do: describe(describeOpts{filters: map[string]string{"tag:team": "core"}}), want: "OK"},
		{name: "describe-by-rule-filter", do: describe(describeOpts{filters: map[string]string{"vpc-id": "@vpc2", "ip-permission.group-id": "@web2"}}), want: "OK"},
		{name: "describe-by-egress-filter", do: describe(describeOpts{filters: map[string]string{"vpc-id": "@vpc2", "egress.ip-permission.ipv6-cidr": "::/0"}}), want: "OK",
			moto:      "moto: unknown filters (here egress.ip-permission.ipv6-cidr) crash with an HTML 500",
			wantShape: `web2[web vpc=vpc2 owner=123456789012 desc="web tier in vpc2" in=[icmp:8..-1:10.1.0.0/16 tcp:25..25:10.1.5.0/24 tcp:443..443:::/0 tcp:80..80:pl-corp tcp:8080..8081:10.1.2.0/24 tcp:8080..8081:10.1.3.0/24 udp:53..53:10.1.0.0/16] out=[-1:*:0.0.0.0/0 tcp:443..443:::/0 tcp:5432..5432:sg=db2] tags={}]`},
		{name: "describe-unknown-id", do: describe(describeOpts{ids: []string{unknownSG}}), want: "InvalidGroup.NotFound"},
		{name: "describe-malformed-id", do: describe(describeOpts{ids: []string{"!sg-xyz"}}), want: "InvalidGroupId.Malformed",
			moto: "moto: malformed ids give InvalidGroup.NotFound"},
		{name: "describe-dry-run", do: describe(describeOpts{ids: []string{"web"}, dryRun: true}), want: "DryRunOperation",
			moto: "moto: DescribeSecurityGroups ignores DryRun"},
		{name: "describe-rules-web2", do: describeRules("web2", map[string]string{
			"web2:in:tcp:443..443:::/0":      "sgr-web2-v6",
			"web2:in:udp:53..53:10.1.0.0/16": "sgr-web2-dns",
		}), want: "OK"},
		{name: "create-tags", do: createTags("web2", "env", "dev", "team", "edge"), want: "OK"},
		{name: "describe-after-tags", do: describe(describeOpts{filters: map[string]string{"tag-key": "env"}}), want: "OK"},

		// --- Revoke ---
		{name: "revoke-matched-default-vpc", do: revoke("web", ingress, true, P("tcp", 21, 80, "10.0.0.0/16")), want: "OK",
			moto:      "moto: revoke responses carry no rule sets",
			wantShape: "return=true unknown=[] revoked=[web:in:tcp:21..80:10.0.0.0/16]"},
		{name: "revoke-unmatched-default-vpc", do: revoke("web", ingress, false, P("tcp", 21, 80, "10.0.0.0/16")), want: "OK",
			moto:      "moto: an unmatched revoke in the default VPC fails with InvalidPermission.NotFound instead of listing UnknownIpPermissions",
			wantShape: "return=true unknown=[tcp:21..80:10.0.0.0/16]"},
		{name: "revoke-matched-vpc2", do: revoke("web2", ingress, false, P("tcp", 80, 80, plID)), want: "OK"},
		{name: "revoke-egress-unmatched-vpc2", do: revoke("web2", egress, false, P("tcp", 1, 2, "10.0.0.0/8")), want: "InvalidPermission.NotFound"},
		{name: "revoke-unmatched-vpc2", do: revoke("web2", ingress, false, P("tcp", 21, 80, "10.0.0.0/16")), want: "InvalidPermission.NotFound"},
		{name: "revoke-partly-matched-vpc2", do: revoke("web2", ingress, false,
			P("tcp", 21, 80, "10.0.0.0/16"), P("icmp", 8, -1, "10.1.0.0/16")), want: "InvalidPermission.NotFound"},
		{name: "revoke-partly-matched-matched-first", do: revoke("partial", ingress, false,
			P("tcp", 22, 22, "10.1.0.0/16"), P("tcp", 21, 80, "10.0.0.0/16")), want: "InvalidPermission.NotFound"},
		{name: "describe-after-partial-revoke", do: describeRules("partial", nil), want: "OK",
			moto:      "moto: a failed revoke keeps the removal of matched permissions listed before the unmatched one",
			wantShape: "[partial:in:tcp:22..22:10.1.0.0/16 sgr-ok tags={}; partial:out:-1:*:0.0.0.0/0 sgr-ok tags={}]"},
		{name: "revoke-by-rule-id", do: revokeByRuleIDs("web2", "sgr-web2-v6", "sgr-web2-dns"), want: "OK"},
		{name: "revoke-unknown-rule-id", do: revokeByRuleIDs("web2", "sgr-web2-v6"), want: "InvalidSecurityGroupRuleId.NotFound",
			moto: "moto: an unknown rule id gives InvalidPermission.NotFound"},
		{name: "revoke-default-egress", do: revoke("web2", egress, false, P("-1", noPort, noPort, "0.0.0.0/0")), want: "OK"},
		{name: "describe-web2-after-revokes", do: describe(describeOpts{ids: []string{"web2"}}), want: "OK"},
		{name: "describe-web-after-revokes", do: describe(describeOpts{ids: []string{"web"}}), want: "OK"},

		// --- DeleteSecurityGroup ---
		{name: "delete-referenced-group", do: deleteSG("target", false), want: "DependencyViolation",
			moto: "moto: referenced groups can be deleted"},
		{name: "delete-default-group", do: deleteSG("sgdef2", false), want: "CannotDelete",
			moto: "moto: default groups can be deleted"},
		{name: "delete-unknown-group", do: deleteSG(unknownSG, false), want: "InvalidGroup.NotFound"},
		{name: "delete-malformed-id", do: deleteSG("!sg-nothex", false), want: "InvalidGroupId.Malformed",
			moto: "moto: malformed ids give InvalidGroup.NotFound"},
		{name: "delete-dry-run", do: deleteSG("hb", true), want: "DryRunOperation"},
		{name: "delete-by-id", do: deleteSG("hb", false), want: "OK"},
		{name: "describe-deleted", do: describe(describeOpts{ids: []string{"hb"}}), want: "InvalidGroup.NotFound"},
		{name: "delete-by-name-default-vpc", do: deleteSG("=web", false), want: "OK"},
		{name: "delete-by-id-twice", do: deleteSG("hb", false), want: "InvalidGroup.NotFound"},
	}
}
