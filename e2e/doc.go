// Package e2e holds Palisade's end-to-end tests: a real embedded NATS
// server with JetStream on disk, the local EC2 endpoint over HTTP, the gRPC
// API on a loopback port and real workers, driven through the generated
// gRPC clients.
package e2e
