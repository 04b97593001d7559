package natsauth

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/palisadehq/palisade/internal/bus"
)

// HelmSecret is the Secret of the public keys the Helm values read, one
// key per role (its name) and "sys".
const HelmSecret = "nats-palisade-users"

// The JetStream storage of each node in the Helm values, in GiB: the
// volume, and the bound JetStream keeps inside it. The bound is pinned
// rather than left to NATS, whose default (three quarters of the free
// space when the server starts) shrinks as the volume fills. Every node
// keeps a replica of every stream, so the bound must hold what the
// streams reserve (bus.Topology.Reserved) and leave room for the
// operation records, the index and the audit trail, which reserve
// nothing; the volume keeps some besides for the store's own files.
const (
	HelmVolumeGiB   = 10
	HelmMaxStoreGiB = 8
)

// HelmValues renders deploy/nats/helm-values.yaml: values for the
// official NATS Helm chart (nats-io/k8s, helm/charts/nats) giving the same
// server as ClusterConfig: a 3-node JetStream cluster on file storage,
// mutual TLS on the client and route ports, the account PALISADE with a
// user per role and the system account SYS. The chart emits "<< $X >>"
// unquoted, so each nkey is a variable of the container's environment,
// read from the Secret HelmSecret.
func HelmValues() string {
	var b strings.Builder
	b.WriteString(`# Generated from internal/bus/permissions.go by
#   go test ./internal/natsauth -run TestShippedHelmValues -update
# Do not edit: the test fails when this file and the Go declaration differ.
#
# Values for the official NATS Helm chart (https://github.com/nats-io/k8s,
# helm/charts/nats, chart 2.14 or later):
#   helm repo add nats https://nats-io.github.io/k8s/helm/charts/
#   helm install nats nats/nats -n palisade -f deploy/nats/helm-values.yaml
# The release name "nats" gives the pods nats-0..2 behind the headless
# Service nats-headless, the addresses deploy/kubernetes connects to.
# The same server as deploy/nats/nats-server.conf. Secrets to create first:
#   nats-server-tls       tls.crt, tls.key: one certificate for clients and
#                         routes (server and client auth), with the DNS names
#                         nats, nats-headless and *.nats-headless (and their
#                         .<namespace>.svc forms)
#   nats-ca               ca.crt: the CA of every certificate, Palisade's
#                         parts' client certificates included
#   ` + HelmSecret + `   api, worker, subscriber, admin, breakglass, sys:
#                         the public key (U...) of each role's nkey
config:
  cluster:
    enabled: true
    replicas: 3
    tls:
      enabled: true
      secretName: nats-server-tls
      merge:
        verify: true
        timeout: 2
  jetstream:
    enabled: true
    fileStore:
      enabled: true
      maxSize: ` + fmt.Sprintf("%dGi", HelmMaxStoreGiB) + `
      pvc:
        enabled: true
        size: ` + fmt.Sprintf("%dGi", HelmVolumeGiB) + `
    memoryStore:
      enabled: false
  nats:
    tls:
      enabled: true
      secretName: nats-server-tls
      merge:
        verify: true
        timeout: 2
  monitor:
    enabled: true
  merge:
    system_account: SYS
    accounts:
      PALISADE:
        jetstream: enabled
        users:
`)
	for _, r := range bus.Roles() {
		u := User(r, "")
		fmt.Fprintf(&b, "          # %s\n", r)
		fmt.Fprintf(&b, "          - nkey: << $%s >>\n", NKeyVariable(r))
		b.WriteString("            permissions:\n")
		writeHelmPerm(&b, "publish", u.Permissions.PublishAllow, u.Permissions.PublishDeny)
		writeHelmPerm(&b, "subscribe", u.Permissions.SubscribeAllow, u.Permissions.SubscribeDeny)
	}
	b.WriteString(`      SYS:
        users:
          - nkey: << $PALISADE_NKEY_SYS >>
tlsCA:
  enabled: true
  secretName: nats-ca
  key: ca.crt
container:
  image:
    # The nats-server release Palisade is built and tested against (go.mod).
    tag: ` + server.VERSION + `-alpine
  env:
`)
	for _, r := range bus.Roles() {
		writeHelmEnv(&b, NKeyVariable(r), string(r))
	}
	writeHelmEnv(&b, "PALISADE_NKEY_SYS", "sys")
	b.WriteString(`    GOMEMLIMIT: 1600MiB
  merge:
    resources:
      requests: {cpu: "1", memory: 2Gi}
      limits: {cpu: "2", memory: 2Gi}
podTemplate:
  topologySpreadConstraints:
    kubernetes.io/hostname:
      maxSkew: 1
      whenUnsatisfiable: DoNotSchedule
podDisruptionBudget:
  enabled: true
`)
	return b.String()
}

func writeHelmPerm(b *strings.Builder, name string, allow, deny []string) {
	fmt.Fprintf(b, "              %s:\n", name)
	writeHelmList(b, "allow", allow)
	if len(deny) > 0 {
		writeHelmList(b, "deny", deny)
	}
}

func writeHelmList(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "                %s:\n", name)
	for _, s := range subjects {
		fmt.Fprintf(b, "                  - %q\n", s)
	}
}

func writeHelmEnv(b *strings.Builder, name, key string) {
	fmt.Fprintf(b, "    %s:\n      valueFrom:\n        secretKeyRef: {name: %s, key: %s}\n", name, HelmSecret, key)
}
