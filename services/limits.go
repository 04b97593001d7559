package services

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Bounds of one connection and one call to the API (design invariant 10).
const (
	// MaxRequestBytes bounds one request message. The largest a client
	// has reason to send, a rollout to a thousand groups by id with a
	// full change, is some 100 KiB; a command must fit in one NATS
	// message (1 MB by default) anyway.
	MaxRequestBytes = 1 << 20
	// MaxStreams bounds the calls open at once on one connection
	// (watches included); more wait on the client until one ends.
	MaxStreams = 256
	// HandshakeTimeout bounds the TLS handshake and HTTP/2 preface of a
	// new connection, so a peer that connects and stalls holds nothing
	// long.
	HandshakeTimeout = 10 * time.Second
	// MaxConnectionAge closes every connection after this long (±10 %):
	// its client reconnects with a new handshake, so rotated server and
	// client certificates and a changed client CA apply to everyone
	// within it. Calls in flight get MaxConnectionAgeGrace to finish,
	// long enough for the longest WaitOperation; a watch cut by it ends
	// UNAVAILABLE and is resumed by watching again.
	MaxConnectionAge      = 30 * time.Minute
	MaxConnectionAgeGrace = maxWait
	// MaxConnectionIdle closes a connection without calls for this long.
	MaxConnectionIdle = 15 * time.Minute
	// maxHeaderBytes bounds one call's metadata.
	maxHeaderBytes = 16 << 10
)

// Hardening are the server options that bound what one connection and
// one call may cost: message and header sizes, concurrent streams, the
// handshake deadline, keepalive enforcement and connection age. Give
// them to New in Deps.ServerOptions.
func Hardening() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.MaxConcurrentStreams(MaxStreams),
		grpc.ConnectionTimeout(HandshakeTimeout),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		// Pings more often than every 30 s, or without a call open, get
		// the connection closed (GOAWAY "too_many_pings").
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     MaxConnectionIdle,
			MaxConnectionAge:      MaxConnectionAge,
			MaxConnectionAgeGrace: MaxConnectionAgeGrace,
		}),
	}
}
