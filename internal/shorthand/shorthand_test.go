package shorthand

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// seedJSON is what the CLI sends for the seed lab's command (EC2 reference §9).
const seedJSON = `[{"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}]`

func mustJSON(t *testing.T, s string) []map[string]any {
	t.Helper()
	var v []map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	// encoding/json yields float64; ParseIPPermissions yields int.
	for _, p := range v {
		for _, k := range []string{"FromPort", "ToPort"} {
			if f, ok := p[k].(float64); ok {
				p[k] = int(f)
			}
		}
	}
	return v
}

func TestParseIPPermissions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // JSON
	}{
		{"seed lab shorthand", []string{"IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]"}, seedJSON},
		{"seed lab as JSON list", []string{seedJSON}, seedJSON},
		{"JSON object", []string{` {"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}`}, seedJSON},
		{"description with spaces",
			[]string{"IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=203.0.113.0/24,Description=SSH access from office}]"},
			`[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"203.0.113.0/24","Description":"SSH access from office"}]}]`},
		{"quoted description with a comma",
			[]string{`IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=203.0.113.0/24,Description='ssh, office'}]`},
			`[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"203.0.113.0/24","Description":"ssh, office"}]}]`},
		{"IPv6", []string{"IpProtocol=-1,Ipv6Ranges=[{CidrIpv6=::/0}]"},
			`[{"IpProtocol":"-1","Ipv6Ranges":[{"CidrIpv6":"::/0"}]}]`},
		{"prefix list", []string{"IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{PrefixListId=pl-0123abcd,Description=office}]"},
			`[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"PrefixListIds":[{"PrefixListId":"pl-0123abcd","Description":"office"}]}]`},
		{"group pair", []string{"IpProtocol=tcp,FromPort=5432,ToPort=5432,UserIdGroupPairs=[{GroupId=sg-0456,Description=db}]"},
			`[{"IpProtocol":"tcp","FromPort":5432,"ToPort":5432,"UserIdGroupPairs":[{"GroupId":"sg-0456","Description":"db"}]}]`},
		{"peered group pair", []string{"IpProtocol=-1,UserIdGroupPairs=[{GroupId=sg-0456,UserId=123456789012,VpcId=vpc-1,VpcPeeringConnectionId=pcx-1}]"},
			`[{"IpProtocol":"-1","UserIdGroupPairs":[{"GroupId":"sg-0456","UserId":"123456789012","VpcId":"vpc-1","VpcPeeringConnectionId":"pcx-1"}]}]`},
		{"lone structure becomes a list", []string{"IpProtocol=tcp,FromPort=1,ToPort=2,IpRanges={CidrIp=10.0.0.0/8}"},
			`[{"IpProtocol":"tcp","FromPort":1,"ToPort":2,"IpRanges":[{"CidrIp":"10.0.0.0/8"}]}]`},
		{"negative ports", []string{"IpProtocol=icmp,FromPort=-1,ToPort=-1,IpRanges=[{CidrIp=0.0.0.0/0}]"},
			`[{"IpProtocol":"icmp","FromPort":-1,"ToPort":-1,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]`},
		{"ports are not range-checked here", []string{"IpProtocol=tcp,FromPort=+99999,ToPort=0"},
			`[{"IpProtocol":"tcp","FromPort":99999,"ToPort":0}]`},
		{"several arguments", []string{"IpProtocol=tcp,FromPort=1,ToPort=1", `[{"IpProtocol":"udp"},{"IpProtocol":"-1"}]`, `{"IpProtocol":"icmp"}`},
			`[{"IpProtocol":"tcp","FromPort":1,"ToPort":1},{"IpProtocol":"udp"},{"IpProtocol":"-1"},{"IpProtocol":"icmp"}]`},
		{"empty lists kept", []string{"IpProtocol=-1,IpRanges=[]"}, `[{"IpProtocol":"-1","IpRanges":[]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPPermissions(tt.args)
			if err != nil {
				t.Fatalf("ParseIPPermissions: %v", err)
			}
			if want := mustJSON(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestParseIPPermissionsErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		kind      error
		arg       int
		path      string
		line, col int
		fragment  string
	}{
		{"no arguments", nil, ErrEmpty, 0, "", 1, 1, "no permission given"},
		{"empty JSON list", []string{"[]"}, ErrEmpty, 1, "", 1, 1, "no permission given"},
		{"shorthand syntax", []string{"IpProtocol=tcp,IpRanges=[{CidrIp=1.2.3.4/32}"}, ErrSyntax, 1, "", 1, 45, "or ']' in list opened at column 25"},
		{"unknown key", []string{"IpProtocol=tcp,Foo=1"}, ErrUnknownKey, 1, "IpPermissions[0]", 1, 16, `unknown key "Foo"; valid keys are IpProtocol, FromPort`},
		{"wrong case key", []string{"ipProtocol=tcp"}, ErrUnknownKey, 1, "IpPermissions[0]", 1, 1, "did you mean IpProtocol?"},
		{"unknown nested key", []string{"IpProtocol=tcp,IpRanges=[{Cidr=1.2.3.4/32}]"}, ErrUnknownKey, 1, "IpPermissions[0].IpRanges[0]", 1, 27, "valid keys are CidrIp, Description"},
		{"unknown key in a later argument", []string{"IpProtocol=tcp", "IpProtocol=udp,Ipv6Ranges=[{CidrIp=::/0}]"}, ErrUnknownKey, 2, "IpPermissions[1].Ipv6Ranges[0]", 1, 29, "valid keys are CidrIpv6, Description"},
		{"group name refused", []string{"IpProtocol=-1,UserIdGroupPairs=[{GroupName=web}]"}, ErrUnknownKey, 1, "IpPermissions[0].UserIdGroupPairs[0]", 1, 34, "use GroupId"},
		{"peering status refused", []string{`[{"UserIdGroupPairs":[{"PeeringStatus":"active"}]}]`}, ErrUnknownKey, 1, "IpPermissions[0].UserIdGroupPairs[0]", 1, 24, "reported by EC2"},
		{"port not an integer", []string{"IpProtocol=tcp,FromPort=ssh"}, ErrType, 1, "IpPermissions[0].FromPort", 1, 25, `"ssh" is not an integer`},
		{"port out of int32", []string{"IpProtocol=tcp,ToPort=4294967296"}, ErrType, 1, "IpPermissions[0].ToPort", 1, 23, "out of range"},
		{"port as a list", []string{"IpProtocol=tcp,FromPort=[1]"}, ErrType, 1, "IpPermissions[0].FromPort", 1, 25, "expected an integer, found a list"},
		{"port empty", []string{"IpProtocol=tcp,FromPort="}, ErrType, 1, "IpPermissions[0].FromPort", 1, 25, `"" is not an integer`},
		{"protocol as a list", []string{"IpProtocol=tcp,udp"}, ErrType, 1, "IpPermissions[0].IpProtocol", 1, 12, "expected a string, found a list"},
		{"range as a bare string", []string{"IpProtocol=tcp,IpRanges=10.0.0.0/8"}, ErrType, 1, "IpPermissions[0].IpRanges[0]", 1, 25, "a structure such as {CidrIp=…}"},
		{"permission as a string in JSON", []string{`["tcp"]`}, ErrType, 1, "IpPermissions[0]", 1, 2, "expected a structure"},
		{"JSON port as a string", []string{`{"IpProtocol":"tcp","FromPort":"22"}`}, ErrType, 1, "IpPermissions[0].FromPort", 1, 32, "expected an integer, found a string"},
		{"JSON port fractional", []string{`{"FromPort":22.5}`}, ErrType, 1, "IpPermissions[0].FromPort", 1, 13, `"22.5" is not an integer`},
		{"JSON protocol as a number", []string{`{"IpProtocol":-1}`}, ErrType, 1, "IpPermissions[0].IpProtocol", 1, 15, `write it in quotes: "-1"`},
		{"JSON null", []string{`{"IpProtocol":null}`}, ErrType, 1, "IpPermissions[0].IpProtocol", 1, 15, "found null"},
		{"JSON boolean", []string{`{"IpProtocol":true}`}, ErrType, 1, "IpPermissions[0].IpProtocol", 1, 15, "found a boolean"},
		{"JSON lone object where a list belongs", []string{`{"IpRanges":{"CidrIp":"10.0.0.0/8"}}`}, ErrType, 1, "IpPermissions[0].IpRanges", 1, 13, "expected a list"},
		{"JSON list index in path", []string{`[{"IpProtocol":"-1"},{"IpProtocol":"-1","Bad":1}]`}, ErrUnknownKey, 1, "IpPermissions[1]", 1, 41, `"Bad"`},
		{"JSON duplicate member", []string{`{"IpProtocol":"-1","IpProtocol":"tcp"}`}, ErrDuplicateKey, 1, "", 1, 20, `member "IpProtocol" given a second time`},
		{"JSON syntax", []string{"[{\"IpProtocol\":\n  \"tcp\",}]"}, ErrSyntax, 1, "", 2, 9, "invalid JSON"},
		{"JSON truncated", []string{`[{"IpProtocol":"-1"}`}, ErrSyntax, 1, "", 1, 21, "unexpected end"},
		{"JSON trailing text", []string{`[{"IpProtocol":"-1"}] x`}, ErrSyntax, 1, "", 1, 23, "after top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPPermissions(tt.args)
			checkError(t, got, err, tt.kind, tt.line, tt.col, tt.fragment)
			var e *Error
			if errors.As(err, &e) && (e.Arg != tt.arg || e.Path != tt.path) {
				t.Errorf("error at argument %d path %q, want %d %q", e.Arg, e.Path, tt.arg, tt.path)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"desc.txt":   {Data: []byte("SSH from the office")},
		"perms.json": {Data: []byte(seedJSON)},
		"perms.sh":   {Data: []byte("IpProtocol=tcp,FromPort=21,ToPort=80,\nIpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]")},
		"bad.json":   {Data: []byte(`[{"IpProtocol":"tcp","Nope":1}]`)},
		"binary":     {Data: []byte{0xff, 0xfe}},
	}
	p := Parser{ReadFile: fsys.ReadFile}

	t.Run("value from a file", func(t *testing.T) {
		got, err := p.Parse("IpRanges=[{CidrIp=10.0.0.0/8,Description@=file://desc.txt}],Note@=file://desc.txt")
		if err != nil {
			t.Fatal(err)
		}
		want := m{"IpRanges": l{m{"CidrIp": "10.0.0.0/8", "Description": "SSH from the office"}}, "Note": "SSH from the office"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v, want %#v", got, want)
		}
	})
	t.Run("whole argument from a file", func(t *testing.T) {
		for _, name := range []string{"perms.json", "perms.sh"} {
			got, err := p.ParseIPPermissions([]string{"file://" + name})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if want := mustJSON(t, seedJSON); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %#v, want %#v", name, got, want)
			}
		}
	})
	t.Run("error inside a file names the file", func(t *testing.T) {
		_, err := p.ParseIPPermissions([]string{"IpProtocol=-1", "file://bad.json"})
		var e *Error
		if !errors.As(err, &e) || e.File != "bad.json" || e.Arg != 2 || e.Column != 22 || !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("got %#v", err)
		}
		if want := `argument 2, file bad.json, line 1, column 22: IpPermissions[1]: unknown key "Nope"`; err.Error()[:len(want)] != want {
			t.Errorf("message %q", err)
		}
	})
	errCases := []struct {
		name  string
		p     Parser
		parse func(Parser) error
		cause error
		frag  string
	}{
		{"missing file", p, func(p Parser) error { _, err := p.Parse("a@=file://nope"); return err }, fs.ErrNotExist, "a@="},
		{"missing argument file", p, func(p Parser) error { _, err := p.ParseIPPermissions([]string{"file://nope"}); return err }, fs.ErrNotExist, "nope"},
		{"binary file", p, func(p Parser) error { _, err := p.Parse("a@=file://binary"); return err }, nil, "not UTF-8"},
		{"no file name", p, func(p Parser) error { _, err := p.Parse("a@=file://"); return err }, nil, "names no file"},
		{"files disabled", Parser{}, func(p Parser) error { _, err := p.Parse("a@=file://desc.txt"); return err }, nil, "not enabled"},
		{"argument files disabled", Parser{}, func(p Parser) error { _, err := p.ParseIPPermissions([]string{"file://perms.json"}); return err }, nil, "not enabled"},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.p)
			if !errors.Is(err, ErrFile) {
				t.Fatalf("got %v, want ErrFile", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("got %v, want it to wrap %v", err, tt.cause)
			}
			if !strings.Contains(err.Error(), tt.frag) {
				t.Errorf("error %q does not contain %q", err, tt.frag)
			}
		})
	}
}

// TestDefaultParserReadsLocalFiles covers the os.ReadFile wiring of the
// package-level functions.
func TestDefaultParserReadsLocalFiles(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "perms.json")
	if err := os.WriteFile(name, []byte(seedJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ParseIPPermissions([]string{"file://" + name})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["FromPort"] != 21 {
		t.Errorf("got %#v", got)
	}
}
