// Package client calls the Palisade API from Go.
//
// It adds to the generated stubs what every caller otherwise writes by
// hand:
//
//   - Dial with the TLS files palisadectl takes (a client certificate and
//     key for mutual TLS, a CA for the server), or plaintext on the
//     loopback default.
//   - One method per RPC. A mutating request without a request_id gets a
//     new UUID, written into the request, so the caller can log it or send
//     it again later.
//   - UNAVAILABLE is retried with full-jitter backoff, each retry with the
//     same request_id: the server returns the operation the first attempt
//     created, if it did, so a retry never makes a second one.
//   - Watch streams an operation's events, resuming a broken stream;
//     Wait follows it to its end and returns the typed result
//     (OperationResult: the group id and EC2's rule ids).
//   - Every error the server returns is an *Error: errors.As gives its
//     field violations (invalid input or the rules a policy denied), EC2's
//     error code for a failed operation, and the policy decision.
//
// The connection is safe for concurrent use; one Client per process is
// enough.
package client
