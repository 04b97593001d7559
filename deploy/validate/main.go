// Command validate checks deploy/ offline. It renders Palisade's
// kustomizations and checks every
// object offline: strict decoding into Kubernetes' own types (an unknown
// or misspelt field fails), then what the apiserver would not catch but
// Palisade relies on (selectors that select, probes on declared ports,
// the restricted pod security profile, resources, references to objects
// that exist).
//
//	go run . [-palisade BIN] [-launch FILE] [KUSTOMIZATION_DIR...]
//
// With no directory it checks ../kubernetes/base and every overlay under
// ../kubernetes/overlays. -palisade checks every argument and PALISADE_*
// variable against the flags of that binary. -launch writes the arguments and the
// environment the base gives each part (api, worker, declare) as JSON, for
// the processes of `make cluster` to start as the manifests configure them.
// It also holds deploy/nats/helm-values.yaml to the keys of the NATS
// chart's values.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	launch := flag.String("launch", "", "write the base's arguments and environment of each part to this JSON file")
	palisade := flag.String("palisade", "", "a palisade binary: check every argument and PALISADE_* variable against its flags")
	flag.Parse()
	dirs := flag.Args()
	if len(dirs) == 0 {
		overlays, _ := filepath.Glob("../kubernetes/overlays/*")
		dirs = append([]string{"../kubernetes/base"}, overlays...)
	}
	fs := filesys.MakeFsOnDisk()
	failed := false
	for _, dir := range dirs {
		objs, err := Build(fs, dir)
		if err == nil {
			err = Check(objs)
		}
		if err == nil && *palisade != "" {
			var parts map[string]Part
			if parts, err = Launch(objs); err == nil {
				err = CheckFlags(parts, func(c string) (map[string]bool, error) { return FlagsOf(*palisade, c) })
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d objects, OK\n", dir, len(objs))
		if *launch != "" && dir == dirs[0] {
			if err := writeLaunch(*launch, objs); err != nil {
				fmt.Fprintf(os.Stderr, "-launch: %v\n", err)
				failed = true
			}
		}
	}
	if err := CheckHelmValues("../nats/helm-values.yaml", "testdata/nats-chart-keys.txt"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		failed = true
	} else {
		fmt.Println("../nats/helm-values.yaml: every key is one of the NATS chart's, OK")
	}
	if failed {
		os.Exit(1)
	}
}

func writeLaunch(file string, objs []Object) error {
	parts, err := Launch(objs)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(parts, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
