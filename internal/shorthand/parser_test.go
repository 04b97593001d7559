package shorthand

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type m = map[string]any
type l = []any

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     m
	}{
		{"one pair", "a=b", m{"a": "b"}},
		{"seed lab command", "IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]",
			m{"IpProtocol": "tcp", "FromPort": "21", "ToPort": "80", "IpRanges": l{m{"CidrIp": "0.0.0.0/0"}, m{"CidrIp": "10.0.0.0/16"}}}},
		{"comma list", "a=b,c,d", m{"a": l{"b", "c", "d"}}},
		{"comma list backtracks at the next key", "a=b,c,d=e", m{"a": l{"b", "c"}, "d": "e"}},
		{"single value before next key", "a=b,c=d", m{"a": "b", "c": "d"}},
		{"empty value", "a=", m{"a": ""}},
		{"empty value before next key", "a=,b=c", m{"a": "", "b": "c"}},
		{"explicit list", "a=[b,c]", m{"a": l{"b", "c"}}},
		{"empty list", "a=[]", m{"a": l{}}},
		{"empty structure", "a={}", m{"a": m{}}},
		{"nested lists", "a=[[b,c],[d]]", m{"a": l{l{"b", "c"}, l{"d"}}}},
		{"structure", "a={b=c,d=e}", m{"a": m{"b": "c", "d": "e"}}},
		{"structure holding a list of structures", "a={b=[{c=d},{c=e}]}", m{"a": m{"b": l{m{"c": "d"}, m{"c": "e"}}}}},
		{"spaces inside a value kept", "a={Description=SSH access from office}", m{"a": m{"Description": "SSH access from office"}}},
		{"spaces around separators skipped", "a = b , c = [ d , e ] ", m{"a": "b", "c": l{"d", "e"}}},
		{"trailing spaces trimmed", "a=b   ", m{"a": "b"}},
		{"trailing spaces trimmed in a list", "a=[b  ,c\t]", m{"a": l{"b", "c"}}},
		{"double comma between pairs, as the CLI reads it", "a=b,,c=d", m{"a": "b", "c": "d"}},
		{"trailing spaces after a list", "a=[b] \t", m{"a": l{"b"}}},
		{"space then key is one value", "a=b c=d", m{"a": "b c=d"}},
		{"equals inside a first value", "a=b=c", m{"a": "b=c"}},
		{"single quotes", "a='b,c=d'", m{"a": "b,c=d"}},
		{"double quotes", `a="[b]{c}"`, m{"a": "[b]{c}"}},
		{"quoted in a list", `a=['x,y',"z"]`, m{"a": l{"x,y", "z"}}},
		{"quoted second value", `a=b,'c,d'`, m{"a": l{"b", "c,d"}}},
		{"escaped single quote", `a='it\'s'`, m{"a": "it's"}},
		{"escaped double quote", `a="say \"hi\""`, m{"a": `say "hi"`}},
		{"escaped backslash", `a='x\\'`, m{"a": `x\`}},
		{"other escapes kept", `a='\n\"'`, m{"a": `\n\"`}},
		{"unclosed escape runs to the last quote", `a='x\'`, m{"a": `x\`}},
		{"escaped comma", `a=b\,c`, m{"a": "b,c"}},
		{"escaped comma in a second value", `a=b,c\,d`, m{"a": l{"b", "c,d"}}},
		{"key characters", "a-b_c.d#e/f:g=h", m{"a-b_c.d#e/f:g": "h"}},
		{"unicode value", "a=café ☕", m{"a": "café ☕"}},
		{"ipv6 value", "CidrIpv6=::/0", m{"CidrIpv6": "::/0"}},
		{"json-looking value stays text", `a=x"y`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in   string
		kind       error
		line, col  int
		msgContain string
	}{
		{"empty input", "", ErrSyntax, 1, 1, "expected a key"},
		{"no equals", "abc", ErrSyntax, 1, 4, `expected '=' after key "abc"`},
		{"empty key", "=b", ErrSyntax, 1, 1, "expected a key"},
		{"key with bad character", "a b=c", ErrSyntax, 1, 3, `expected '='`},
		{"repeated key", "a=b,a=c", ErrDuplicateKey, 1, 5, `key "a" given a second time`},
		{"repeated key in a structure", "a={b=1,b=2}", ErrDuplicateKey, 1, 8, `key "b" given a second time in this structure`},
		{"trailing comma", "a=b,", ErrSyntax, 1, 5, "expected a value, found end of input"},
		{"unclosed list", "a=[b", ErrSyntax, 1, 5, "or ']' in list opened at column 3"},
		{"unclosed structure", "a={b=c", ErrSyntax, 1, 7, "or '}' in structure opened at column 3"},
		{"structure without equals", "a={b}", ErrSyntax, 1, 5, `expected '=' after key "b"`},
		{"unclosed quote", "a='bc", ErrSyntax, 1, 3, "never closed"},
		{"unclosed quote in a list", `a=["bc]`, ErrSyntax, 1, 4, "never closed"},
		{"text after a quoted value", "a='b'c", ErrSyntax, 1, 6, `expected ','`},
		{"junk in a list", "a=[b c,=]", ErrSyntax, 1, 8, `expected ','`},
		{"double comma before a value", "a=,,", ErrSyntax, 1, 5, "expected a key"},
		{"second line column", "a=b,\nc=d,\nc=e", ErrDuplicateKey, 3, 1, `key "c"`},
		{"column counts characters", "a=é,a=b", ErrDuplicateKey, 1, 5, `key "a"`},
		{"invalid utf-8", "a=\xff", ErrSyntax, 1, 3, "not valid UTF-8"},
		{"at-equals without file", "a@=b", ErrFile, 1, 4, "needs a value of the form file://path"},
		{"at-equals with a list", "a@=[file://x]", ErrFile, 1, 4, "file://path"},
		{"at-equals without file in a structure", "a={b@=c}", ErrFile, 1, 7, "b@= needs"},
		{"bad value in a structure", "a={b='c}", ErrSyntax, 1, 6, "never closed"},
		{"bad key in a structure", "a={b=c,,}", ErrSyntax, 1, 8, "expected a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			checkError(t, got, err, tt.kind, tt.line, tt.col, tt.msgContain)
		})
	}
}

func checkError[T any](t *testing.T, got T, err error, kind error, line, col int, fragment string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got %v, want an error", got)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v is not %v", err, kind)
	}
	if e.Line != line || e.Column != col {
		t.Errorf("error at line %d column %d, want %d:%d: %v", e.Line, e.Column, line, col, err)
	}
	if !strings.Contains(err.Error(), fragment) {
		t.Errorf("error %q does not contain %q", err, fragment)
	}
}
