package rules

// Missing returns the rules of desired whose Key is not in actual: what an
// idempotent authorize still has to add. Order follows desired; a Key
// repeated in desired is returned once.
func Missing(desired, actual []Rule) []Rule { return filter(desired, actual, false) }

// Present returns the rules of desired whose Key is in actual: what an
// idempotent revoke still has to remove. Order follows desired; a Key
// repeated in desired is returned once. The rules returned are those of
// desired, so a caller wanting EC2's sgr- ids looks them up in actual.
func Present(desired, actual []Rule) []Rule { return filter(desired, actual, true) }

func filter(desired, actual []Rule, keep bool) []Rule {
	in := make(map[string]bool, len(actual))
	for _, r := range actual {
		in[r.Key()] = true
	}
	var out []Rule
	done := make(map[string]bool, len(desired))
	for _, r := range desired {
		k := r.Key()
		if done[k] || in[k] != keep {
			continue
		}
		done[k] = true
		out = append(out, r)
	}
	return out
}
