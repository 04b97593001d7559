package main

import (
	"flag"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("group-id", "", "")
	fs.String("port", "", "")
	fs.Bool("wait", false, "")
	listVar(fs, "ip-permissions", "", false)
	cases := []struct {
		name              string
		args              []string
		flags, positional []string
	}{
		{"list takes values up to the next flag",
			[]string{"--ip-permissions", "A", "B", "--group-id", "sg-1"},
			[]string{"--ip-permissions", "A", "--ip-permissions", "B", "--group-id", "sg-1"}, nil},
		{"list at the end", []string{"--wait", "--ip-permissions", "A", "B"},
			[]string{"--wait", "--ip-permissions", "A", "--ip-permissions", "B"}, nil},
		{"stdin is a value", []string{"--ip-permissions", "-"}, []string{"--ip-permissions", "-"}, nil},
		{"scalar takes a dash value", []string{"--port", "-1", "--wait"}, []string{"--port", "-1", "--wait"}, nil},
		{"positional among flags", []string{"op-1", "--wait", "op-2"}, []string{"--wait"}, []string{"op-1", "op-2"}},
		{"after --", []string{"--wait", "--", "--x"}, []string{"--wait"}, []string{"--x"}},
		{"key=value", []string{"--ip-permissions=A", "B"}, []string{"--ip-permissions=A"}, []string{"B"}},
		{"unknown flag passes through", []string{"--nope", "x"}, []string{"--nope"}, []string{"x"}},
		{"list without values", []string{"--ip-permissions", "--wait"}, []string{"--ip-permissions", "--wait"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flags, pos := normalize(fs, c.args)
			if !slices.Equal(flags, c.flags) || !slices.Equal(pos, c.positional) {
				t.Fatalf("got flags %q positional %q, want %q %q", flags, pos, c.flags, c.positional)
			}
		})
	}
}

func TestParseFlagsFromEnvironment(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ids := listVar(fs, "group-ids", "", true)
	server := fs.String("server", "", "")
	env := map[string]string{"PALISADE_GROUP_IDS": "sg-1,sg-2 sg-3", "PALISADE_SERVER": "env:1"}
	pos, err := parseFlags(fs, []string{"--server", "flag:2", "x"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if *server != "flag:2" || !slices.Equal(ids.values, []string{"sg-1", "sg-2", "sg-3"}) || !slices.Equal(pos, []string{"x"}) {
		t.Fatalf("server %q ids %q positional %q", *server, ids.values, pos)
	}
}

func TestSplitCommand(t *testing.T) {
	cmds := commands()
	name, rest := splitCommand(cmds, []string{"--region", "eu-west-1", "--wait", "describe-security-groups", "--vpc-id", "vpc-1"})
	if name != "describe-security-groups" || !slices.Equal(rest, []string{"--region", "eu-west-1", "--wait", "--vpc-id", "vpc-1"}) {
		t.Fatalf("got %q %q", name, rest)
	}
	if name, _ := splitCommand(cmds, []string{"--output", "json"}); name != "" {
		t.Fatalf("no command, got %q", name)
	}
}
