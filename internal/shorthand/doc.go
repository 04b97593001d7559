// Package shorthand reads the values the AWS CLI accepts for structured
// options, so palisadectl takes exactly what `aws ec2
// authorize-security-group-ingress --ip-permissions …` takes: the CLI's
// shorthand syntax (aws-cli v2 shorthand.py, reproduced rule for rule,
// backtracking included) or JSON, with `file://` loading.
//
// Parse is the grammar alone and yields generic values (map[string]any,
// []any, string). ParseIPPermissions adds what the CLI derives from the EC2
// model: member names are checked, ports become integers, and a single
// value where the model wants a list becomes a one-element list.
//
// Every error is an *Error carrying the byte offset, line and column of the
// problem in the input, and matches one of the sentinel errors with
// errors.Is.
//
// Where this package is stricter than the CLI, it says so: an empty key, a
// repeated key inside {…}, a repeated JSON member and a non-file value after
// "@=" are errors here, because each is almost always a typo that the CLI
// silently resolves in a way the user did not mean.
package shorthand
