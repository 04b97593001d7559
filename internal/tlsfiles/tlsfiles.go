// Package tlsfiles serves and dials TLS from PEM files that are replaced
// while the process runs (Source), or from a SPIFFE Workload API
// (Workload). The files are looked at (their size, time and inode) at
// every handshake and read again when they changed, so certificates
// short-lived enough to be rotated every hour are picked up by the next
// connection without a restart. A replacement that cannot be
// used (a certificate without its new key yet, a file half written) is
// logged and the last good material kept until the files are whole again.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Files names the PEM files of one side of a TLS connection.
type Files struct {
	// Cert is the certificate chain, leaf first, and Key its private
	// key: both or neither (a client may present none).
	Cert, Key string
	// CA holds the certificates that verify the peer: the client CAs of
	// a server, the roots of a client ("" on a client: the system's).
	CA string
}

// Part is one of the files.
type Part int

// The files, as a FileError names them.
const (
	CertFile Part = iota
	KeyFile
	CAFile
)

func (p Part) String() string {
	switch p {
	case CertFile:
		return "certificate"
	case KeyFile:
		return "key"
	case CAFile:
		return "CA certificates"
	}
	return fmt.Sprintf("Part(%d)", int(p))
}

// FileError says which file could not be used.
type FileError struct {
	Part Part
	Path string
	Err  error
}

func (e *FileError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %v", e.Part, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Part, e.Path, e.Err)
}
func (e *FileError) Unwrap() error { return e.Err }

// Source holds the material read from Files and reads it again when the
// files change. It is safe for concurrent use.
type Source struct {
	files Files
	log   *slog.Logger

	mu  sync.Mutex
	cur *material
	// seen are the files as cur was read from them; failed and
	// failedErr what was found when reading them last failed, so one bad
	// state is logged once, not at every handshake.
	seen, failed []os.FileInfo
	failedErr    string
}

// material is one consistent reading of the files.
type material struct {
	cert *tls.Certificate // nil without Files.Cert
	pool *x509.CertPool   // nil without Files.CA
	// server is the configuration handed to each handshake; built once
	// per material, never modified afterwards.
	server *tls.Config
}

// Load reads the files; the error is a *FileError naming the file at
// fault. log receives reloads and failed reloads (nil: slog.Default()).
func Load(f Files, log *slog.Logger) (*Source, error) {
	switch {
	case f.Cert == "" && f.Key != "":
		return nil, &FileError{Part: CertFile, Err: errors.New("none given for the key " + f.Key)}
	case f.Cert != "" && f.Key == "":
		return nil, &FileError{Part: KeyFile, Err: errors.New("none given for the certificate " + f.Cert)}
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Source{files: f, log: log}
	stats, err := s.stat()
	if err != nil {
		return nil, err
	}
	m, err := s.read()
	if err != nil {
		return nil, err
	}
	s.cur, s.seen = m, stats
	if m.cert != nil && time.Now().After(m.cert.Leaf.NotAfter) {
		log.Warn("TLS certificate has expired", "file", f.Cert, "not_after", m.cert.Leaf.NotAfter)
	}
	return s, nil
}

// paths are the files in use, by Part.
func (s *Source) paths() []string { return []string{s.files.Cert, s.files.Key, s.files.CA} }

// stat looks at every file in use (nil for those not in use).
func (s *Source) stat() ([]os.FileInfo, error) {
	out := make([]os.FileInfo, 3)
	for i, p := range s.paths() {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, &FileError{Part: Part(i), Path: p, Err: err}
		}
		out[i] = fi
	}
	return out, nil
}

// same reports whether the files look as they did: same file (inode),
// size and modification time.
func same(a, b []os.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch {
		case a[i] == nil && b[i] == nil:
		case a[i] == nil || b[i] == nil:
			return false
		case !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()):
			return false
		}
	}
	return true
}

// read reads and checks every file in use.
func (s *Source) read() (*material, error) {
	m := &material{}
	if s.files.Cert != "" {
		certPEM, err := os.ReadFile(s.files.Cert)
		if err != nil {
			return nil, &FileError{Part: CertFile, Path: s.files.Cert, Err: err}
		}
		if _, err := parseCerts(certPEM); err != nil {
			return nil, &FileError{Part: CertFile, Path: s.files.Cert, Err: err}
		}
		keyPEM, err := os.ReadFile(s.files.Key)
		if err != nil {
			return nil, &FileError{Part: KeyFile, Path: s.files.Key, Err: err}
		}
		// The certificate parsed above, so what fails here is the key
		// or the pair.
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &FileError{Part: KeyFile, Path: s.files.Key, Err: err}
		}
		m.cert = &cert
	}
	if s.files.CA != "" {
		caPEM, err := os.ReadFile(s.files.CA)
		if err != nil {
			return nil, &FileError{Part: CAFile, Path: s.files.CA, Err: err}
		}
		cas, err := parseCerts(caPEM)
		if err != nil {
			return nil, &FileError{Part: CAFile, Path: s.files.CA, Err: err}
		}
		m.pool = x509.NewCertPool()
		for _, c := range cas {
			m.pool.AddCert(c)
		}
	}
	if m.cert != nil && m.pool != nil {
		m.server = serverConfig(m.cert, m.pool)
	}
	return m, nil
}

// parseCerts parses PEM data holding only certificates, at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM block of type %q where only certificates belong", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return out, nil
}

// current returns the material of the files as they are now: read again
// when they changed, the last good one when the change cannot be used.
func (s *Source) current() *material {
	s.mu.Lock()
	defer s.mu.Unlock()
	stats, err := s.stat()
	if err == nil && same(stats, s.seen) {
		return s.cur
	}
	var m *material
	if err == nil {
		m, err = s.read()
	}
	if err != nil {
		// Log each bad state once.
		if err.Error() != s.failedErr || !same(stats, s.failed) {
			s.log.Warn("TLS files changed but cannot be used; keeping the previous ones", "error", err)
			s.failed, s.failedErr = stats, err.Error()
		}
		return s.cur
	}
	s.cur, s.seen, s.failed, s.failedErr = m, stats, nil, ""
	attrs := []any{"cert", s.files.Cert, "ca", s.files.CA}
	if m.cert != nil {
		attrs = append(attrs, "subject", m.cert.Leaf.Subject.String(), "not_after", m.cert.Leaf.NotAfter)
	}
	s.log.Info("TLS files reloaded", attrs...)
	return m
}

// Certificate is the current certificate (nil without Files.Cert).
func (s *Source) Certificate() *tls.Certificate { return s.current().cert }

// Pool is the current CA pool (nil without Files.CA).
func (s *Source) Pool() *x509.CertPool { return s.current().pool }

// ServerConfig is a TLS 1.3 server configuration that requires a client
// certificate verified by the CA file, offering nextProtos by ALPN (gRPC
// needs "h2"). Every handshake gets the files' current certificate and CA
// pool; connections already open keep theirs, so bound their age.
// It needs Files.Cert, Key and CA.
func (s *Source) ServerConfig(nextProtos ...string) (*tls.Config, error) {
	if s.files.Cert == "" || s.files.CA == "" {
		return nil, errors.New("a TLS server needs a certificate, its key and the client CA certificates")
	}
	first := s.current()
	base := withProtos(first.server, nextProtos)
	// One configuration per material and protocol list, reused by every
	// handshake until the files change.
	var mu sync.Mutex
	last, lastCfg := first, base
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := s.current()
		mu.Lock()
		defer mu.Unlock()
		if m != last {
			last, lastCfg = m, withProtos(m.server, nextProtos)
		}
		return lastCfg, nil
	}
	return base, nil
}

// serverConfig is the server side of mutual TLS 1.3 with cert and pool.
// Session tickets are off, so no connection resumes a session verified
// against a CA since removed: every connection shows its certificate.
func serverConfig(cert *tls.Certificate, pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{*cert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              pool,
		SessionTicketsDisabled: true,
	}
}

func withProtos(c *tls.Config, nextProtos []string) *tls.Config {
	c = c.Clone()
	c.NextProtos = append([]string(nil), nextProtos...)
	return c
}

// ClientConfig is a TLS 1.3 client configuration presenting the files'
// current certificate at every handshake (none without Files.Cert) and
// verifying the server against the CA file as it is now (the system's
// roots without Files.CA); build a new one to trust a changed CA file.
// The server name is the dialled host unless the caller sets ServerName.
func (s *Source) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    s.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := s.Certificate(); c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil // none: the server decides
		},
	}
}
