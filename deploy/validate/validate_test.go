package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestShippedManifests: the base and every overlay render, decode
// strictly and pass the checks.
func TestShippedManifests(t *testing.T) {
	overlays, _ := filepath.Glob("../kubernetes/overlays/*")
	if len(overlays) == 0 {
		t.Fatal("no overlay under ../kubernetes/overlays")
	}
	for _, dir := range append([]string{"../kubernetes/base"}, overlays...) {
		objs, err := Build(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if err := Check(objs); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 1
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      serviceAccountName: sa
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: c
          image: palisade
          ports: [{containerPort: 8081}]
          readinessProbe: {grpc: {port: 8081}}
          envFrom: [{configMapRef: {name: cm}}]
          resources: {requests: {cpu: 1m, memory: 1Mi}, limits: {cpu: 1m, memory: 1Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`

const others = `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {PALISADE_NATS_URL: "nats://x"}
`

func build(t *testing.T, resources string) ([]Object, error) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile("/k/kustomization.yaml", []byte("resources: [r.yaml]\n")); err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("/k/r.yaml", []byte(resources)); err != nil {
		t.Fatal(err)
	}
	return Build(fs, "/k")
}

// TestFaults: each fault is reported, naming the object and the field.
func TestFaults(t *testing.T) {
	if objs, err := build(t, goodDeployment+others); err != nil || Check(objs) != nil {
		t.Fatalf("the good deployment fails: %v %v", err, Check(objs))
	}
	tests := []struct {
		name, resources, want string
	}{
		{"misspelt field", strings.Replace(goodDeployment, "replicas: 1", "replica: 1", 1) + others, `unknown field "spec.replica"`},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "Widget"},
		{"selector misses the pods", strings.Replace(goodDeployment, "matchLabels: {app: d}", "matchLabels: {app: e}", 1) + others,
			"Deployment d: spec.selector does not select"},
		{"root", strings.Replace(goodDeployment, "runAsNonRoot: true", "runAsNonRoot: false", 1) + others, "securityContext.runAsNonRoot"},
		{"no seccomp", strings.Replace(goodDeployment, "seccompProfile: {type: RuntimeDefault}", "fsGroup: 1", 1) + others, "seccompProfile.type"},
		{"writable root", strings.Replace(goodDeployment, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", 1) + others, "readOnlyRootFilesystem"},
		{"escalation", strings.Replace(goodDeployment, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", 1) + others, "allowPrivilegeEscalation"},
		{"capabilities kept", strings.Replace(goodDeployment, "drop: [ALL]", "drop: [NET_RAW]", 1) + others, "capabilities.drop"},
		{"no limits", strings.Replace(goodDeployment, ", limits: {cpu: 1m, memory: 1Mi}", "", 1) + others, "resources.limits.cpu"},
		{"probe on no port", strings.Replace(goodDeployment, "grpc: {port: 8081}", "grpc: {port: 9}", 1) + others, "readinessProbe.grpc.port 9"},
		{"missing ConfigMap", goodDeployment + strings.Replace(others, "name: cm", "name: other", 1), "no ConfigMap cm"},
		{"missing ServiceAccount", goodDeployment + strings.Replace(others, "name: sa", "name: other", 1), `serviceAccountName "sa"`},
		{"service selects nothing", goodDeployment + others + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: x}, ports: [{port: 1}]}\n",
			"Service s: spec.selector selects no pod"},
		{"PDB selects nothing", goodDeployment + others + "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: x}}}\n",
			"PodDisruptionBudget p: spec.selector selects no pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := build(t, tt.resources)
			if err == nil {
				err = Check(objs)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestCheckFlags: arguments and variables must be flags of the part.
func TestCheckFlags(t *testing.T) {
	flags := map[string]map[string]bool{
		"api":    {"grpc-listen": true, "nats-url": true},
		"worker": {"nats-url": true, "shutdown-grace": true},
	}
	flagsOf := func(c string) (map[string]bool, error) { return flags[c], nil }
	good := map[string]Part{
		"api":    {Args: []string{"api", "--grpc-listen=:1"}, Env: map[string]string{"PALISADE_NATS_URL": "x", "PALISADE_SHUTDOWN_GRACE": "1s"}},
		"worker": {Args: []string{"worker"}, Env: map[string]string{"PALISADE_NATS_URL": "x", "PALISADE_SHUTDOWN_GRACE": "1s"}},
	}
	if err := CheckFlags(good, flagsOf); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Part{
		"api":    {Args: []string{"api", "--grpc-listn=:1"}, Env: map[string]string{"PALISADE_NATS_UR": "x"}},
		"worker": {Env: map[string]string{}},
	}
	err := CheckFlags(bad, flagsOf)
	for _, want := range []string{"palisade api has no flag --grpc-listn", "variable PALISADE_NATS_UR", "container worker: no command"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite ../cluster/testdata/launch.json from the base")

// TestLaunchFileCurrent: the cluster run starts each part with what the
// base configures, so the file it reads must be what the base renders.
func TestLaunchFileCurrent(t *testing.T) {
	const file = "../cluster/testdata/launch.json"
	if *update {
		objs, err := Build(filesys.MakeFsOnDisk(), "../kubernetes/base")
		if err != nil {
			t.Fatal(err)
		}
		if err := writeLaunch(file, objs); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := Build(filesys.MakeFsOnDisk(), "../kubernetes/base")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Launch(objs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(parts, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(want)+"\n" {
		t.Errorf("%s differs from what the base renders: go test -run TestLaunchFileCurrent -update (in deploy/validate)", file)
	}
}

// TestHelmValues: the shipped values pass, and a misspelt key fails.
func TestHelmValues(t *testing.T) {
	if err := CheckHelmValues("../nats/helm-values.yaml", "testdata/nats-chart-keys.txt"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(bad, []byte("config:\n  jetstream:\n    fileStorage: {enabled: true}\n  merge: {anything: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckHelmValues(bad, "testdata/nats-chart-keys.txt"); err == nil || !strings.Contains(err.Error(), "config.jetstream.fileStorage") {
		t.Errorf("error %v, want one naming config.jetstream.fileStorage", err)
	}
}
