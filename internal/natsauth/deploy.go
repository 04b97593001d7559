package natsauth

import (
	"strings"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
)

// NKeyVariable is the environment variable that holds role r's public
// nkey in the shipped cluster configuration, e.g. PALISADE_NKEY_API.
func NKeyVariable(r bus.Role) string { return "PALISADE_NKEY_" + strings.ToUpper(string(r)) }

// ClusterConfig renders deploy/nats/nats-server.conf: one node of a
// 3-node JetStream cluster with TLS on the client and cluster ports, the
// account PALISADE with a user per role (bus.Role.Permissions) and the
// system account SYS. Everything that differs per node or per
// deployment is a variable nats-server reads from the environment.
func ClusterConfig() string {
	var users []natsembed.User
	for _, r := range bus.Roles() {
		users = append(users, User(r, "$"+NKeyVariable(r)))
	}
	sys := "  SYS {\n    users: [ { nkey: $PALISADE_NKEY_SYS } ]\n  }\n"
	return `# Generated from internal/bus/permissions.go by
#   go test ./internal/natsauth -run TestShippedClusterConfig -update
# Do not edit: the test fails when this file and the Go declaration differ.
#
# One node of a 3-node JetStream cluster. nats-server reads every $NAME
# below from its environment:
#   NATS_SERVER_NAME        this node's name (unique in the cluster)
#   NATS_LISTEN             client host:port, e.g. 0.0.0.0:4222
#   NATS_CLUSTER_LISTEN     route host:port, e.g. 0.0.0.0:6222
#   NATS_ROUTE_1..3         the three nodes' routes, e.g. nats-route://nats-0.nats:6222
#   NATS_STORE_DIR          JetStream's directory
#   NATS_TLS_CERT, NATS_TLS_KEY, NATS_TLS_CA
#                           PEM files; the certificate serves clients and
#                           routes, and must also allow client auth for routes
#   PALISADE_NKEY_<ROLE>    the public key (U...) of each role's nkey, made with
#                           'nk -gen user -pubout' (seed to the part, public key here)
#   PALISADE_NKEY_SYS       the system user's public key
server_name: $NATS_SERVER_NAME
listen: $NATS_LISTEN
jetstream {
  store_dir: $NATS_STORE_DIR
}
tls {
  cert_file: $NATS_TLS_CERT
  key_file: $NATS_TLS_KEY
  ca_file: $NATS_TLS_CA
  verify: true
  timeout: 2
}
cluster {
  name: palisade
  listen: $NATS_CLUSTER_LISTEN
  routes: [$NATS_ROUTE_1, $NATS_ROUTE_2, $NATS_ROUTE_3]
  tls {
    cert_file: $NATS_TLS_CERT
    key_file: $NATS_TLS_KEY
    ca_file: $NATS_TLS_CA
    verify: true
    timeout: 2
  }
}
system_account: SYS
` + natsembed.AccountsConfig(users, sys)
}
