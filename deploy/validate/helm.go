package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// freeForm are the chart's keys whose values it passes on as they are:
// merged into nats.conf or a Kubernetes object, or a map of names.
var freeForm = map[string]bool{"merge": true, "env": true, "topologySpreadConstraints": true}

// CheckHelmValues holds a values file to the keys the NATS chart knows
// (keysFile, one path a line): a misspelt key would be ignored by helm
// without a word.
func CheckHelmValues(valuesFile, keysFile string) error {
	keys, err := os.ReadFile(keysFile)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	s := bufio.NewScanner(bytes.NewReader(keys))
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			known[line] = true
		}
	}
	b, err := os.ReadFile(valuesFile)
	if err != nil {
		return err
	}
	var values map[string]any
	if err := yaml.UnmarshalStrict(b, &values); err != nil {
		return fmt.Errorf("%s: %w", valuesFile, err)
	}
	var unknown []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := strings.TrimPrefix(prefix+"."+k, ".")
			if !known[path] {
				unknown = append(unknown, path)
				continue
			}
			if sub, ok := v.(map[string]any); ok && !freeForm[k] {
				walk(path, sub)
			}
		}
	}
	walk("", values)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: keys the NATS chart does not have: %s", valuesFile, strings.Join(unknown, ", "))
	}
	return nil
}
