package rules

import (
	"strings"
	"testing"
)

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		name, in string
		want     []want // nil = valid
	}{
		{"simple", "web", nil},
		{"every allowed character", "aZ09 ._-:/()#,@[]+=&;{}!$*", nil},
		{"255 characters", strings.Repeat("n", 255), nil},
		{"leading space kept", " web", nil},
		{"contains default", "default-web", nil},
		{"sg without dash", "sgweb", nil},
		{"empty", "", []want{{"group_name", "required"}}},
		{"256 characters", strings.Repeat("n", 256), []want{{"group_name", "256 characters long"}}},
		{"sg- prefix", "sg-web", []want{{"group_name", `begins with "sg-"`}}},
		{"SG- prefix any case", "SG-web", []want{{"group_name", `begins with "sg-"`}}},
		{"reserved default", "default", []want{{"group_name", "reserved"}}},
		{"reserved Default any case", "DeFault", []want{{"group_name", "reserved"}}},
		{"trailing space", "web ", []want{{"group_name", "ends with spaces"}}},
		{"only spaces", "   ", []want{{"group_name", "ends with spaces"}}},
		{"non-ascii", "wéb", []want{{"group_name", "only ASCII"}}},
		{"quote not allowed", `we"b`, []want{{"group_name", `'"' at position 2`}}},
		{"tab not allowed", "we\tb", []want{{"group_name", `'\t'`}}},
		{"percent not allowed", "100%", []want{{"group_name", "'%'"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViolations(t, ValidateGroupName("group_name", tt.in), tt.want)
		})
	}
}

func TestValidateGroupDescription(t *testing.T) {
	tests := []struct {
		name, in string
		want     []want
	}{
		{"simple", "web servers", nil},
		{"ampersand allowed", "web & api", nil},
		{"255 characters", strings.Repeat("d", 255), nil},
		{"empty", "", []want{{"description", "required"}}},
		{"too long", strings.Repeat("d", 256), []want{{"description", "at most 255"}}},
		{"non-ascii", "naïve", []want{{"description", "only ASCII"}}},
		{"backslash", `a\b`, []want{{"description", `'\\'`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViolations(t, ValidateGroupDescription("description", tt.in), tt.want)
		})
	}
}

func TestValidateIDs(t *testing.T) {
	tests := []struct {
		name     string
		validate func(field, id string) Violations
		in       string
		want     []want
	}{
		{"group id long", ValidateGroupID, "sg-0123456789abcdef0", nil},
		{"group id short", ValidateGroupID, "sg-0123abcd", nil},
		{"group id empty", ValidateGroupID, "", []want{{"f", "security group id is required"}}},
		{"group id upper hex", ValidateGroupID, "sg-0123ABCD", []want{{"f", "lower-case hex"}}},
		{"group id 9 hex", ValidateGroupID, "sg-0123abcde", []want{{"f", "malformed"}}},
		{"group id non-hex", ValidateGroupID, "sg-0123abcg", []want{{"f", "malformed"}}},
		{"group id wrong prefix", ValidateGroupID, "sgr-0123456789abcdef0", []want{{"f", "malformed"}}},
		{"group id name given", ValidateGroupID, "web", []want{{"f", `"web" is malformed`}}},
		{"vpc id long", ValidateVpcID, "vpc-0123456789abcdef0", nil},
		{"vpc id short", ValidateVpcID, "vpc-0123abcd", nil},
		{"vpc id empty", ValidateVpcID, "", []want{{"f", "VPC id is required"}}},
		{"vpc id malformed", ValidateVpcID, "vpc-123", []want{{"f", "VPC id \"vpc-123\" is malformed"}}},
		{"rule id", ValidateRuleID, "sgr-0123456789abcdef0", nil},
		{"rule id short form never existed", ValidateRuleID, "sgr-0123abcd", []want{{"f", "17 lower-case hex"}}},
		{"rule id empty", ValidateRuleID, "", []want{{"f", "rule id is required"}}},
		{"account", ValidateAccountID, "012345678901", nil},
		{"account empty", ValidateAccountID, "", []want{{"f", "account id is required"}}},
		{"account 11 digits", ValidateAccountID, "12345678901", []want{{"f", "exactly 12 digits"}}},
		{"account 13 digits", ValidateAccountID, "1234567890123", []want{{"f", "exactly 12 digits"}}},
		{"account letters", ValidateAccountID, "12345678901a", []want{{"f", "exactly 12 digits"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViolations(t, tt.validate("f", tt.in), tt.want)
		})
	}
}

func TestValidateRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4",
		"cn-north-1", "us-iso-east-1", "us-isob-east-1", "eusc-de-east-1", "il-central-1", "mx-central-1"} {
		t.Run(r, func(t *testing.T) { checkViolations(t, ValidateRegion("region", r), nil) })
	}
	bad := []struct{ name, in, fragment string }{
		{"empty", "", "required"},
		{"availability zone", "us-east-1a", "not an AWS Region name"},
		{"upper case", "US-EAST-1", "not an AWS Region name"},
		{"no number", "us-east", "not an AWS Region name"},
		{"zero", "us-east-0", "not an AWS Region name"},
		{"three digits", "us-east-100", "not an AWS Region name"},
		{"one word", "local", "not an AWS Region name"},
		{"underscore", "us_east_1", "not an AWS Region name"},
		{"too many words", "aa-bb-cc-dd-ee-1", "not an AWS Region name"},
		{"too long", "abcd-" + strings.Repeat("x", 30) + "-1", "not an AWS Region name"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			checkViolations(t, ValidateRegion("region", tt.in), []want{{"region", tt.fragment}})
		})
	}
}

func TestValidateTags(t *testing.T) {
	fifty := map[string]string{}
	for i := range 50 {
		fifty["k"+hex2(i)] = "v"
	}
	fiftyOne := map[string]string{"z": ""}
	for k, v := range fifty {
		fiftyOne[k] = v
	}
	tests := []struct {
		name string
		in   map[string]string
		want []want
	}{
		{"none", nil, nil},
		{"fifty", fifty, nil},
		{"empty value", map[string]string{"owner": ""}, nil},
		{"unicode at the limits", map[string]string{strings.Repeat("ü", 128): strings.Repeat("é", 256)}, nil},
		{"aws inside key", map[string]string{"team:aws:x": "aws:ok"}, nil},
		{"fifty-one", fiftyOne, []want{{"tags", "51 tags"}}},
		{"empty key", map[string]string{"": "v"}, []want{{`tags[""]`, "must not be empty"}}},
		{"key too long", map[string]string{strings.Repeat("k", 129): "v"}, []want{{`tags["` + strings.Repeat("k", 128) + `"…]`, "129 characters"}}},
		{"huge key named briefly", map[string]string{strings.Repeat("k", 1<<20): "v"}, []want{{`tags["` + strings.Repeat("k", 128) + `"…]`, "1048576 characters"}}},
		{"control character in key", map[string]string{"a\nb": "v"}, []want{{`tags["a\nb"]`, "U+000A"}}},
		{"control character in value", map[string]string{"k": "a\x00"}, []want{{`tags["k"]`, "U+0000"}}},
		{"bidi override in value", map[string]string{"k": "abc\u202egpj.exe"}, []want{{`tags["k"]`, "U+202E"}}},
		{"bidi isolate in key", map[string]string{"k\u2066": "v"}, []want{{`tags["k\u2066"]`, "U+2066"}}},
		{"other unicode allowed", map[string]string{"名前 ü+-=._:/@": "值 ✓ \u200d"}, nil},
		{"value too long", map[string]string{"k": strings.Repeat("v", 257)}, []want{{`tags["k"]`, "257 characters"}}},
		{"aws prefix", map[string]string{"aws:cloudformation:stack": "x"}, []want{{`tags["aws:cloudformation:stack"]`, "reserves"}}},
		{"AWS prefix any case", map[string]string{"AwS:x": "x"}, []want{{`tags["AwS:x"]`, "reserves"}}},
		{"invalid utf-8 key", map[string]string{"\xff": "x"}, []want{{`tags["\xff"]`, "key is not valid UTF-8"}}},
		{"invalid utf-8 value", map[string]string{"k": "\xff"}, []want{{`tags["k"]`, "value is not valid UTF-8"}}},
		{"sorted by key", map[string]string{"b": strings.Repeat("v", 300), "a": strings.Repeat("v", 300)},
			[]want{{`tags["a"]`, "300"}, {`tags["b"]`, "300"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViolations(t, ValidateTags("tags", tt.in), tt.want)
		})
	}
}

func TestValidateTagFilter(t *testing.T) {
	checkViolations(t, ValidateTagFilter("tags", map[string]string{"aws:cloudformation:stack-name": "s"}), nil)
	checkViolations(t, ValidateTagFilter("tags", map[string]string{"k": "\u202e"}), []want{{`tags["k"]`, "U+202E"}})
	many := map[string]string{}
	for i := range 10000 {
		many[hex2(i%256)+strings.Repeat("x", i/256)] = "\x00"
	}
	checkViolations(t, ValidateTagFilter("tags", many), []want{{"tags", "10000 tags"}})
}

func TestCapped(t *testing.T) {
	var v Violations
	for range 250 {
		v = append(v, Violation{Field: "f", Description: "d"})
	}
	c := v.Capped()
	if len(c) != MaxViolations+1 || c[MaxViolations].Description != "…and 150 more" {
		t.Fatalf("capped to %d, last %+v", len(c), c[len(c)-1])
	}
	big := Violations{{Field: "a", Description: strings.Repeat("x", MaxViolationBytes)}, {Field: "b", Description: "y"}}
	if c := big.Capped(); len(c) != 1 || c[0].Description != "…and 2 more" {
		t.Fatalf("byte cap: %+v", c)
	}
	if c := v[:3].Capped(); len(c) != 3 {
		t.Fatalf("small list changed: %d", len(c))
	}
}
