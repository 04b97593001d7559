package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Violation is one problem with one field of a request: Field is the path
// of the field ("ip_permissions[0].ip_ranges[1].cidr_ip") and Description
// says what is wrong and how to fix it. The pair maps one to one onto a
// google.rpc.BadRequest.FieldViolation at the API edge.
type Violation struct {
	Field       string
	Description string
}

// Violations is every problem found in a request. Validators return nil
// when there is none.
//
// Violations implements error, but a nil Violations stored in an error
// variable is a non-nil error; use Err to convert.
type Violations []Violation

// Error joins the violations as "field: description" separated by "; ".
func (v Violations) Error() string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x.Field)
		b.WriteString(": ")
		b.WriteString(x.Description)
	}
	return b.String()
}

// Err returns v as an error, or nil when there are no violations.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

func (v *Violations) add(field, format string, args ...any) {
	*v = append(*v, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// maxQuoted bounds how much of a caller's value a message repeats, so one
// huge field cannot blow up an error response.
const maxQuoted = 64

// quote renders a caller's value for a message: Go-quoted (so control and
// invisible characters show) and cut to maxQuoted characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:maxQuoted]))
}
