// Package natsauth gives Palisade's NATS roles (bus.Role) their nkey
// users: seed files, the users of a server's configuration, and the
// options of a client connecting as a role.
package natsauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
)

// Credentials are the nkey seed files of the roles, in one directory.
type Credentials struct {
	Dir string
}

// SeedFile is where role's seed is kept.
func (c Credentials) SeedFile(r bus.Role) string { return filepath.Join(c.Dir, string(r)+".nk") }

// EnsureCredentials makes dir (mode 0700) and a user nkey for each of
// roles in it, each seed in <role>.nk with mode 0600, keeping those that
// are there already. It refuses a seed file others than its owner can
// read.
func EnsureCredentials(dir string, roles ...bus.Role) (Credentials, error) {
	c := Credentials{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, fmt.Errorf("natsauth: credentials: %w", err)
	}
	for _, r := range roles {
		path := c.SeedFile(r)
		st, err := os.Stat(path)
		switch {
		case err == nil:
			if st.Mode().Perm()&0o077 != 0 {
				return c, fmt.Errorf("natsauth: %s is readable by others than its owner (mode %v): chmod 600 it", path, st.Mode().Perm())
			}
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return c, fmt.Errorf("natsauth: credentials: %w", err)
		}
		kp, err := nkeys.CreateUser()
		if err != nil {
			return c, fmt.Errorf("natsauth: new nkey: %w", err)
		}
		seed, err := kp.Seed()
		if err != nil {
			return c, fmt.Errorf("natsauth: new nkey: %w", err)
		}
		if err := writeNew(path, append(seed, '\n')); err != nil {
			return c, err
		}
	}
	return c, nil
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("natsauth: credentials: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("natsauth: credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("natsauth: credentials: %w", err)
	}
	return nil
}

// PublicKey is the public key of the seed in file.
func PublicKey(file string) (string, error) {
	kp, err := readSeed(file)
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

func readSeed(file string) (nkeys.KeyPair, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("natsauth: nkey seed: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return nil, fmt.Errorf("natsauth: nkey seed %s: %w", file, err)
	}
	return kp, nil
}

// Users are the users of roles with the public keys of c.
func (c Credentials) Users(roles ...bus.Role) ([]natsembed.User, error) {
	var users []natsembed.User
	for _, r := range roles {
		pub, err := PublicKey(c.SeedFile(r))
		if err != nil {
			return nil, err
		}
		users = append(users, User(r, pub))
	}
	return users, nil
}

// ClientOptions are the options of a client of role r: its nkey and its
// inbox prefix.
func (c Credentials) ClientOptions(r bus.Role) ([]nats.Option, error) {
	return RoleOptions(r, c.SeedFile(r))
}

// RoleOptions are the options of a client authenticating as role r with
// the nkey seed in seedFile.
func RoleOptions(r bus.Role, seedFile string) ([]nats.Option, error) {
	nk, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		return nil, fmt.Errorf("natsauth: nkey seed %s: %w", seedFile, err)
	}
	return []nats.Option{nk, nats.CustomInboxPrefix(bus.InboxPrefix(r))}, nil
}

// User is the server's user of role r with public key nkey.
func User(r bus.Role, nkey string) natsembed.User {
	p := r.Permissions()
	return natsembed.User{Name: string(r), NKey: nkey, Permissions: natsembed.Permissions{
		PublishAllow: p.PublishAllow, PublishDeny: p.PublishDeny,
		SubscribeAllow: p.SubscribeAllow, SubscribeDeny: p.SubscribeDeny,
	}}
}
