package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseTagsToDelete(t *testing.T) {
	set, keys, err := parseTagsToDelete([]string{"Key=team", "Key=tier,Value=web", `[{"Key":"env","Value":""}]`})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(set, map[string]string{"tier": "web", "env": ""}) || !slices.Equal(keys, []string{"team"}) {
		t.Fatalf("with values %v, any value %v", set, keys)
	}
	for _, c := range []struct{ value, want string }{
		{"Value=x", "needs a Key"},
		{"Key=a,Colour=b", `unknown key "Colour"`},
		{"Key=a Key=a", "given twice"},
	} {
		if _, _, err := parseTagsToDelete(strings.Fields(c.value)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.value, err, c.want)
		}
	}
}
