package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// Workload serves mutual TLS with the X.509-SVID and trust bundle a
// SPIFFE Workload API (a SPIRE agent, say) hands this process, instead of
// files: the API rotates both, and every handshake gets the current ones.
// Clients must present an X.509-SVID of the server's own trust domain,
// verified against its bundle.
type Workload struct {
	src *workloadapi.X509Source
	log *slog.Logger

	mu         sync.Mutex
	nextProtos []string
	// The configuration built for the last SVID and bundle seen.
	lastSVID   *x509svid.SVID
	lastBundle *x509bundle.Bundle
	lastCfg    *tls.Config
}

// OpenWorkload connects to the Workload API at addr ("unix:///run/spire/
// agent.sock" or "tcp://host:port") and waits for its first X.509-SVID
// until ctx ends. Close it when done.
func OpenWorkload(ctx context.Context, addr string, log *slog.Logger) (*Workload, error) {
	if log == nil {
		log = slog.Default()
	}
	src, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("no X.509-SVID from the SPIFFE Workload API at %s: %w", addr, err)
	}
	w := &Workload{src: src, log: log}
	svid, err := src.GetX509SVID()
	if err != nil {
		_ = src.Close()
		return nil, err
	}
	log.Info("X.509-SVID from the SPIFFE Workload API", "addr", addr, "spiffe_id", svid.ID.String(), "not_after", svid.Certificates[0].NotAfter)
	return w, nil
}

// Close drops the connection to the Workload API.
func (w *Workload) Close() error { return w.src.Close() }

// ServerConfig is a TLS 1.3 server configuration requiring a client
// certificate verified by the trust bundle, offering nextProtos by ALPN,
// as Source.ServerConfig but from the Workload API. Call it once.
func (w *Workload) ServerConfig(nextProtos ...string) (*tls.Config, error) {
	w.mu.Lock()
	w.nextProtos = append([]string(nil), nextProtos...)
	w.mu.Unlock()
	cfg, err := w.current()
	if err != nil {
		return nil, err
	}
	base := cfg.Clone()
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return w.current() }
	return base, nil
}

// current is the configuration of the SVID and bundle the Workload API
// last sent, built again only when either changed.
func (w *Workload) current() (*tls.Config, error) {
	svid, err := w.src.GetX509SVID()
	if err != nil {
		return nil, err
	}
	bundle, err := w.src.GetX509BundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if svid == w.lastSVID && bundle == w.lastBundle {
		return w.lastCfg, nil
	}
	cert := &tls.Certificate{PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}
	for _, c := range svid.Certificates {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	pool := x509.NewCertPool()
	for _, c := range bundle.X509Authorities() {
		pool.AddCert(c)
	}
	cfg := serverConfig(cert, pool)
	cfg.NextProtos = w.nextProtos
	td := svid.ID.TrustDomain()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no client certificate")
		}
		id, err := x509svid.IDFromCert(cs.PeerCertificates[0])
		if err != nil {
			return fmt.Errorf("the client certificate is no X.509-SVID: %w", err)
		}
		if !id.MemberOf(td) {
			return fmt.Errorf("client %s is not of trust domain %s", id, td)
		}
		return nil
	}
	if w.lastSVID != nil {
		w.log.Info("X.509-SVID or trust bundle rotated", "spiffe_id", svid.ID.String(), "not_after", cert.Leaf.NotAfter,
			"authorities", len(bundle.X509Authorities()))
	}
	w.lastSVID, w.lastBundle, w.lastCfg = svid, bundle, cfg
	return cfg, nil
}
