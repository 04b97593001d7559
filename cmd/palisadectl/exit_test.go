package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/palisadehq/palisade/internal/ec2errors"

	spb "google.golang.org/genproto/googleapis/rpc/status"
)

func TestReport(t *testing.T) {
	bad, _ := status.New(codes.InvalidArgument, "invalid request: a; b").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "group_name", Description: "required"},
			{Field: "ip_permissions[0].ip_ranges[0].cidr_ip", Description: "not a CIDR"},
		},
	})
	cases := []struct {
		name string
		err  error
		code int
		want []string
	}{
		{"success", nil, exitOK, nil},
		{"field violations", bad.Err(), exitUsage, []string{"2 invalid field(s)", "\n  group_name: required\n", "\n  ip_permissions[0].ip_ranges[0].cidr_ip: not a CIDR\n"}},
		{"unavailable", status.Error(codes.Unavailable, "queue down"), exitUnavailable, []string{"Unavailable: queue down"}},
		{"not found", status.Error(codes.NotFound, "gone"), exitError, []string{"NotFound: gone"}},
		{"deadline", status.Error(codes.DeadlineExceeded, "slow"), exitError, []string{"DeadlineExceeded"}},
		{"usage", usagef("bad %s", "flag"), exitUsage, []string{"palisadectl: bad flag"}},
		{"already reported", errReported{code: exitOpFailed}, exitOpFailed, nil},
		{"interrupted", fmt.Errorf("x: %w", context.Canceled), exitError, []string{"interrupted"}},
		{"other", errors.New("disk full"), exitError, []string{"palisadectl: disk full"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w bytes.Buffer
			if got := report(&w, c.err); got != c.code {
				t.Errorf("exit %d, want %d", got, c.code)
			}
			for _, want := range c.want {
				if !strings.Contains(w.String(), want) {
					t.Errorf("output %q lacks %q", w.String(), want)
				}
			}
			if c.want == nil && w.Len() > 0 {
				t.Errorf("want no output, got %q", w.String())
			}
		})
	}
}

func TestFailureText(t *testing.T) {
	info, _ := anypb.New(&errdetails.ErrorInfo{Reason: "InvalidGroup.Duplicate", Domain: ec2errors.EC2Domain})
	other, _ := anypb.New(&errdetails.ErrorInfo{Reason: "QUEUE_UNAVAILABLE", Domain: "palisade.dev"})
	cases := []struct {
		st   *spb.Status
		want string
	}{
		{&spb.Status{Code: int32(codes.AlreadyExists), Message: "exists", Details: []*anypb.Any{other, info}}, "InvalidGroup.Duplicate: exists"},
		{&spb.Status{Code: int32(codes.Unavailable), Message: "retries exhausted", Details: []*anypb.Any{other}}, "QUEUE_UNAVAILABLE: retries exhausted"},
		{&spb.Status{Code: int32(codes.AlreadyExists), Message: "EC2 InvalidGroup.Duplicate: exists", Details: []*anypb.Any{info}}, "InvalidGroup.Duplicate: exists"},
		{&spb.Status{Code: int32(codes.Canceled), Message: "cancelled by local"}, "Canceled: cancelled by local"},
	}
	for _, c := range cases {
		if got := failureText(c.st); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestTextHelpers(t *testing.T) {
	for _, c := range []struct {
		from, to int32
		want     string
	}{{-1, -1, "all"}, {22, 22, "22"}, {21, 80, "21-80"}, {8, 0, "8-0"}} {
		if got := portsText(c.from, c.to); got != c.want {
			t.Errorf("portsText(%d, %d) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
	if protocolText("-1") != "all" || protocolText("tcp") != "tcp" {
		t.Error("protocolText")
	}
	if operationName("abc") != "operations/abc" || operationName("operations/abc") != "operations/abc" {
		t.Error("operationName")
	}
}
