package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes. Scripts branch on them, so they never change meaning.
const (
	exitOK          = 0
	exitError       = 1 // anything not below
	exitUsage       = 2 // bad flags or input, locally or INVALID_ARGUMENT from the server
	exitOpFailed    = 3 // the operation ended FAILED or CANCELLED
	exitUnavailable = 4 // the server could not be reached or was UNAVAILABLE
)

// exitErr carries the exit code an error should end the program with.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

// usagef reports input the user must fix before retrying.
func usagef(format string, args ...any) error {
	return &exitErr{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// errReported is an error whose message has already been printed, so
// only its exit code is left to apply.
type errReported struct{ code int }

func (e errReported) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// report prints err for a person and returns the exit code for a script.
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var rep errReported
	if errors.As(err, &rep) {
		return rep.code
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		fmt.Fprintf(w, "palisadectl: %v\n", ee.err)
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "palisadectl: interrupted")
		return exitError
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return reportStatus(w, st)
	}
	fmt.Fprintf(w, "palisadectl: %v\n", err)
	return exitError
}

// reportStatus prints a gRPC error with its details: every field
// violation of a BadRequest on its own line, so each bad value can be
// found and fixed in one go.
func reportStatus(w io.Writer, st *status.Status) int {
	details := st.Details()
	msg := st.Message()
	for _, d := range details {
		// The message repeats the violations on one line; the list below
		// is easier to read.
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			msg = fmt.Sprintf("the request has %d invalid field(s):", len(br.GetFieldViolations()))
		}
	}
	fmt.Fprintf(w, "palisadectl: %s: %s\n", st.Code(), msg)
	for _, d := range details {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Fprintf(w, "  %s: %s\n", v.GetField(), v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				fmt.Fprintf(w, "  %s %s: %s\n", v.GetType(), v.GetSubject(), v.GetDescription())
			}
		}
	}
	return codeFor(st.Code())
}

// unreachable tells a connection that never came up from a server that
// answered UNAVAILABLE itself (its queue is down, say).
func unreachable(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable && strings.Contains(st.Message(), "connection error")
}

// codeFor maps a gRPC code to an exit code.
func codeFor(c codes.Code) int {
	switch c {
	case codes.OK:
		return exitOK
	case codes.InvalidArgument:
		return exitUsage
	case codes.Unavailable:
		return exitUnavailable
	}
	return exitError
}
