package natsembed

import (
	"fmt"
	"strings"
)

// Account is the NATS account every Palisade user belongs to.
const Account = "PALISADE"

// User is one nkey user of Account.
type User struct {
	// Name is written as a comment above the user.
	Name string
	// NKey is the user's public key ("U…"), or in a rendered
	// configuration any value nats-server reads there, such as a
	// $VARIABLE.
	NKey string
	// Permissions are what the user may publish and subscribe to.
	Permissions Permissions
}

// Permissions are publish and subscribe allow and deny lists in NATS
// subject syntax; a deny wins over an allow.
type Permissions struct {
	PublishAllow, PublishDeny     []string
	SubscribeAllow, SubscribeDeny []string
}

// AccountsConfig renders the accounts block of a nats-server
// configuration: Account with JetStream and users, each with the
// permissions given. A value of NKey starting with "$" is written
// as a variable reference, anything else quoted.
func AccountsConfig(users []User, extra string) string {
	var b strings.Builder
	b.WriteString("accounts {\n")
	fmt.Fprintf(&b, "  %s {\n", Account)
	b.WriteString("    jetstream: enabled\n")
	b.WriteString("    users: [\n")
	for _, u := range users {
		key := u.NKey
		if !strings.HasPrefix(key, "$") {
			key = quote(key)
		}
		p := u.Permissions
		fmt.Fprintf(&b, "      # %s\n", u.Name)
		fmt.Fprintf(&b, "      { nkey: %s\n", key)
		b.WriteString("        permissions: {\n")
		writePerm(&b, "publish", p.PublishAllow, p.PublishDeny)
		writePerm(&b, "subscribe", p.SubscribeAllow, p.SubscribeDeny)
		b.WriteString("        } }\n")
	}
	b.WriteString("    ]\n")
	b.WriteString("  }\n")
	b.WriteString(extra)
	b.WriteString("}\n")
	return b.String()
}

func writePerm(b *strings.Builder, name string, allow, deny []string) {
	fmt.Fprintf(b, "          %s: {\n", name)
	writeList(b, "allow", allow)
	if len(deny) > 0 {
		writeList(b, "deny", deny)
	}
	b.WriteString("          }\n")
}

func writeList(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "            %s: [\n", name)
	for _, s := range subjects {
		fmt.Fprintf(b, "              %s\n", quote(s))
	}
	b.WriteString("            ]\n")
}

func quote(s string) string { return `"` + s + `"` }
