package main

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
)

// natsFlags say how api, worker and declare reach an external NATS: its
// URL, the credentials of the part's role (an nkey seed, or a JWT .creds
// file) and TLS.
type natsFlags struct {
	url                    string
	nkey, creds            string
	tlsCA, tlsCert, tlsKey string
	declare                bool
	role                   bus.Role
}

func (n *natsFlags) register(fs *commandFlags, role bus.Role, declare bool) {
	n.role = role
	fs.StringVar(&n.url, "nats-url", defaultNATSURL, "NATS server URL(s), comma-separated")
	fs.StringVar(&n.nkey, "nats-nkey", "", "authenticate to NATS with the nkey seed in this file (the user of role \""+string(role)+"\")")
	fs.StringVar(&n.creds, "nats-creds", "", "authenticate to NATS with this JWT .creds file (operator mode)")
	fs.StringVar(&n.tlsCA, "nats-tls-ca", "", "PEM CA certificates that verify the NATS server's certificate (default: the system's)")
	fs.StringVar(&n.tlsCert, "nats-tls-cert", "", "PEM client certificate presented to NATS (with --nats-tls-key)")
	fs.StringVar(&n.tlsKey, "nats-tls-key", "", "the PEM private key of --nats-tls-cert")
	if declare {
		fs.BoolVar(&n.declare, "declare", true, "declare the streams, consumers and buckets at start, which takes the NATS role \"admin\"; "+
			"with the credentials of role \""+string(role)+"\" give --declare=false and run `palisade declare` as admin once per deployment and upgrade")
	}
	fs.checks = append(fs.checks, n.check)
}

func (n *natsFlags) check() error {
	if n.nkey != "" && n.creds != "" {
		return errors.New("--nats-nkey and --nats-creds are two kinds of NATS credentials: choose one")
	}
	if (n.tlsCert == "") != (n.tlsKey == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	return nil
}

// topology is what to declare at start: top, or nil with --declare=false.
func (n *natsFlags) topology(top bus.Topology) *bus.Topology {
	if !n.declare {
		return nil
	}
	return &top
}

// options are the connection options the flags ask for.
func (n *natsFlags) options() ([]nats.Option, error) {
	opts := []nats.Option{nats.CustomInboxPrefix(bus.InboxPrefix(n.role))}
	switch {
	case n.nkey != "":
		o, err := natsauth.RoleOptions(n.role, n.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o...)
	case n.creds != "":
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	if n.tlsCA != "" {
		opts = append(opts, nats.RootCAs(n.tlsCA))
	}
	if n.tlsCert != "" {
		opts = append(opts, nats.ClientCert(n.tlsCert, n.tlsKey))
	}
	return opts, nil
}
