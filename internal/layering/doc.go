// Package layering holds only a test: it checks that the module's import
// graph points the way the design says, so the rule cannot drift.
package layering
