package shorthand

import (
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"
)

// FuzzParse checks that no input makes the parsers panic, that every
// failure is an *Error pointing inside the input, and that every success
// is plain JSON-compatible data.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]",
		"a=b,c,d=e", `a='x\'y',b="q\"z"`, `a=b\,c`, "a={b=[{c=d}]}", "a=[", "a=b,", "a='", "=",
		"a@=file://f", `[{"IpProtocol":"-1","FromPort":1e3}]`, `{"IpRanges":[{"CidrIp":"::/0"}]}`, "a=\xff",
	} {
		f.Add(s)
	}
	p := Parser{ReadFile: fstest.MapFS{"f": {Data: []byte("x")}}.ReadFile}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := p.Parse(s)
		checkOutcome(t, s, v, err)
		perms, err := p.ParseIPPermissions([]string{s})
		checkOutcome(t, s, perms, err)
	})
}

func checkOutcome(t *testing.T, s string, v any, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: error %v (%T) is not an *Error", s, err, err)
		}
		if e.Offset < 0 || e.Offset > len(s) || e.Line < 1 || e.Column < 1 || e.Msg == "" || e.Kind == nil {
			t.Fatalf("%q: malformed error %#v", s, e)
		}
		return
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("%q: result %#v is not JSON-compatible: %v", s, v, err)
	}
}
