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

// Bounds of what one error reports, so that the answer to a request stays
// small whatever the request holds: at most MaxViolations violations, and
// at most MaxViolationBytes of field paths and descriptions in all. What
// is left out is counted in one last entry.
const (
	MaxViolations     = 100
	MaxViolationBytes = 16 << 10
)

// Capped returns v cut to MaxViolations entries and MaxViolationBytes of
// text, the last entry saying how many more were found ("…and N more").
// It returns v itself when it is within both bounds.
func (v Violations) Capped() Violations {
	size := 0
	for i, x := range v {
		size += len(x.Field) + len(x.Description)
		if i == MaxViolations || size > MaxViolationBytes {
			out := make(Violations, i, i+1)
			copy(out, v[:i])
			return append(out, Violation{Field: v[i].Field, Description: fmt.Sprintf("…and %d more", len(v)-i)})
		}
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
