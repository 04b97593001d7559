package rules

import (
	"errors"
	"slices"
	"strconv"
	"testing"
)

func ipv4Rules(n int, offset int) []Rule {
	out := make([]Rule, n)
	for i := range out {
		out[i] = Rule{Direction: Ingress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10." + strconv.Itoa(offset+i) + ".0.0/16"}
	}
	return out
}

func ipv6Rules(n int) []Rule {
	out := make([]Rule, n)
	for i := range out {
		out[i] = Rule{Direction: Ingress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv6, Source: "2001:db8:" + strconv.Itoa(i) + "::/48"}
	}
	return out
}

func groupRules(n int) []Rule {
	out := make([]Rule, n)
	for i := range out {
		out[i] = Rule{Direction: Ingress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceGroup, Source: "sg-000000" + hex2(i)}
	}
	return out
}

func TestCheckQuota(t *testing.T) {
	tests := []struct {
		name             string
		existing, adding []Rule
		want             *QuotaError
	}{
		{"empty", nil, nil, nil},
		{"exactly sixty IPv4", ipv4Rules(59, 0), ipv4Rules(1, 59), nil},
		{"sixty of each family", slices.Concat(ipv4Rules(60, 0), ipv6Rules(59)), ipv6Rules(60), nil},
		{"IPv4 overflow", ipv4Rules(60, 0), ipv4Rules(1, 60), &QuotaError{Family: "IPv4", Existing: 60, Adding: 1, Limit: 60}},
		{"IPv6 overflow", ipv6Rules(30), ipv6Rules(61), &QuotaError{Family: "IPv6", Existing: 30, Adding: 31, Limit: 60}},
		{"groups count against IPv6 too", ipv6Rules(60), groupRules(1), &QuotaError{Family: "IPv6", Existing: 60, Adding: 1, Limit: 60}},
		{"groups count against IPv4 first", ipv4Rules(60, 0), groupRules(1), &QuotaError{Family: "IPv4", Existing: 60, Adding: 1, Limit: 60}},
		{"already present rules are free", ipv4Rules(60, 0), ipv4Rules(60, 0), nil},
		{"repeats in adding count once", ipv4Rules(59, 0), slices.Concat(ipv4Rules(1, 59), ipv4Rules(1, 59)), nil},
		{"repeats in existing count once", slices.Concat(ipv4Rules(60, 0), ipv4Rules(1, 0)), nil, nil},
		{"over quota already but adding the other family", ipv4Rules(61, 0), ipv6Rules(1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckQuota(tt.existing, tt.adding)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckQuota = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrQuotaExceeded) {
				t.Fatalf("CheckQuota = %v, want ErrQuotaExceeded", err)
			}
			var qe *QuotaError
			if !errors.As(err, &qe) || *qe != *tt.want {
				t.Fatalf("CheckQuota = %#v, want %#v", err, tt.want)
			}
			if err.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestMissingPresent(t *testing.T) {
	r := ipv4Rules(4, 0)
	described := r[1]
	described.Description = "set by someone else"
	actual := []Rule{described, r[3]}
	desired := []Rule{r[0], r[1], r[2], r[0], r[1]}

	if got, want := Missing(desired, actual), []Rule{r[0], r[2]}; !slices.Equal(got, want) {
		t.Errorf("Missing = %v, want %v", got, want)
	}
	if got, want := Present(desired, actual), []Rule{r[1]}; !slices.Equal(got, want) {
		t.Errorf("Present = %v, want %v", got, want)
	}
	if got := Missing(nil, actual); got != nil {
		t.Errorf("Missing(nil) = %v", got)
	}
	if got := Present(desired, nil); got != nil {
		t.Errorf("Present(_, nil) = %v", got)
	}
	if got := Missing(desired, nil); len(got) != 3 {
		t.Errorf("Missing(_, nil) = %v, want the 3 distinct rules", got)
	}
}

// A rule naming a customer-managed prefix list counts as the list's
// MaxEntries against each family; an AWS-managed list (weight 1) or an
// unknown weight counts once (EC2 reference §4).
func TestCheckQuotaWeighted(t *testing.T) {
	pl := func(id string) Rule {
		return Rule{Direction: Ingress, Protocol: "tcp", FromPort: 443, ToPort: 443, Kind: SourcePrefixList, Source: id}
	}
	weight := func(id string) int {
		return map[string]int{"pl-00000000000000050": 50, "pl-00000000000000001": 1}[id]
	}
	existing := append(ipv4Rules(9, 0), pl("pl-00000000000000050")) // 59 IPv4, 50 IPv6
	if err := CheckQuotaWeighted(existing, ipv4Rules(1, 100), weight); err != nil {
		t.Errorf("the 60th IPv4 rule: %v", err)
	}
	err := CheckQuotaWeighted(existing, ipv4Rules(2, 100), weight)
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Family != "IPv4" || qe.Existing != 59 || qe.Adding != 2 {
		t.Errorf("the 61st IPv4 rule: %v", err)
	}
	err = CheckQuotaWeighted(ipv6Rules(11), []Rule{pl("pl-00000000000000050")}, weight)
	if !errors.As(err, &qe) || qe.Family != "IPv6" || qe.Existing != 11 || qe.Adding != 50 {
		t.Errorf("a list of 50 over 11 IPv6 rules: %v", err)
	}
	// Weight 1, an unknown list (0) and no weight at all count once.
	for _, w := range []PrefixListWeight{weight, nil} {
		if err := CheckQuotaWeighted(ipv4Rules(58, 0), []Rule{pl("pl-00000000000000001"), pl("pl-0000000000000000f")}, w); err != nil {
			t.Errorf("two lists counted once each: %v", err)
		}
	}
	if err := CheckQuota(ipv4Rules(59, 0), []Rule{pl("pl-00000000000000050")}); err != nil {
		t.Errorf("CheckQuota counts a list once: %v", err)
	}
}
