package rules_test

import (
	"fmt"

	"github.com/palisadehq/palisade/internal/rules"
)

func ExampleExpand() {
	from, to := int32(21), int32(80)
	rs, vs := rules.Expand("ip_permissions", rules.Ingress, []rules.Permission{{
		Protocol: "6", FromPort: &from, ToPort: &to,
		IPv4Ranges: []rules.CIDR{{Value: "0.0.0.0/0"}, {Value: "10.0.0.5/16"}},
	}})
	fmt.Println(vs == nil)
	for _, r := range rs {
		fmt.Println(r.Key())
	}
	_, vs = rules.Expand("ip_permissions", rules.Ingress, []rules.Permission{{
		Protocol: "tcp", FromPort: &from, ToPort: &to,
		IPv4Ranges: []rules.CIDR{{Value: "10.0.0.0"}},
	}})
	for _, v := range vs {
		fmt.Printf("%s: %s\n", v.Field, v.Description)
	}
	// Output:
	// true
	// ingress|tcp|21|80|ipv4|0.0.0.0/0
	// ingress|tcp|21|80|ipv4|10.0.0.0/16
	// ip_permissions[0].ip_ranges[0].cidr_ip: "10.0.0.0" has no prefix length; write it as 10.0.0.0/32 for one host
}

func ExampleMissing() {
	desired, _ := rules.Expand("p", rules.Egress, []rules.Permission{{
		Protocol: "-1", IPv4Ranges: []rules.CIDR{{Value: "0.0.0.0/0"}, {Value: "10.0.0.0/8"}},
	}})
	actual := desired[:1] // as DescribeSecurityGroupRules reported it
	for _, r := range rules.Missing(desired, actual) {
		fmt.Println(r)
	}
	// Output:
	// egress -1 all ports to 10.0.0.0/8
}
