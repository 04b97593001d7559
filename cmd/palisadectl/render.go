package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
)

func stateName(s palisadev1.OperationState) string {
	return strings.TrimPrefix(s.String(), "OPERATION_STATE_")
}

// kindName is the kind as the command that starts it is named.
func kindName(k palisadev1.OperationKind) string {
	n := strings.TrimPrefix(k.String(), "OPERATION_KIND_")
	n = strings.NewReplacer("INGRESS", "SECURITY_GROUP_INGRESS", "EGRESS", "SECURITY_GROUP_EGRESS").Replace(n)
	return strings.ToLower(strings.ReplaceAll(n, "_", "-"))
}

func metadataOf(op *longrunningpb.Operation) (*palisadev1.OperationMetadata, error) {
	md := &palisadev1.OperationMetadata{}
	if op.GetMetadata() == nil {
		return md, nil
	}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		return nil, fmt.Errorf("operation %s: read metadata: %w", op.GetName(), err)
	}
	return md, nil
}

func resultOf(op *longrunningpb.Operation) (*palisadev1.OperationResult, error) {
	res := &palisadev1.OperationResult{}
	if op.GetResponse() == nil {
		return res, nil
	}
	if err := op.GetResponse().UnmarshalTo(res); err != nil {
		return nil, fmt.Errorf("operation %s: read result: %w", op.GetName(), err)
	}
	return res, nil
}

// failureText is "<code>: <message>" for an operation's error: EC2's
// error code when EC2 refused, else Palisade's reason, else the gRPC code.
func failureText(st *spb.Status) string {
	code := codes.Code(st.GetCode()).String()
	for _, d := range st.GetDetails() {
		info := &errdetails.ErrorInfo{}
		if d.MessageIs(info) && d.UnmarshalTo(info) == nil && info.GetReason() != "" {
			code = info.GetReason()
			if info.GetDomain() == ec2errors.EC2Domain {
				break
			}
		}
	}
	// The workers word EC2's failures "EC2 <code>: <message>"; the code
	// is said once.
	msg := strings.TrimPrefix(st.GetMessage(), "EC2 "+code+": ")
	return code + ": " + msg
}

func protocolText(p string) string {
	if p == "-1" {
		return "all"
	}
	return p
}

func portsText(from, to int32) string {
	switch {
	case from == -1 && to == -1:
		return "all"
	case from == to:
		return strconv.Itoa(int(from))
	}
	return fmt.Sprintf("%d-%d", from, to)
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

// writeRules prints rules as EC2 identifies them, one per line.
func writeRules(w io.Writer, rules []*palisadev1.SecurityGroupRule) error {
	t := newTable(w, "RULE ID", "GROUP ID", "DIRECTION", "PROTOCOL", "PORTS", "PEER", "DESCRIPTION")
	for _, r := range rules {
		peer := r.GetCidrIpv4() + r.GetCidrIpv6() + r.GetPrefixListId() + r.GetReferencedGroupId() // exactly one is set
		t.row(r.GetSecurityGroupRuleId(), r.GetGroupId(), direction(r.GetIsEgress()), protocolText(r.GetIpProtocol()),
			portsText(r.GetFromPort(), r.GetToPort()), peer, r.GetDescription())
	}
	return t.flush()
}

// writeOperation prints an operation for a person: what it is, where it
// stands, how it ended, and the rules it touched.
func writeOperation(w io.Writer, op *longrunningpb.Operation) error {
	md, err := metadataOf(op)
	if err != nil {
		return err
	}
	res, err := resultOf(op)
	if err != nil {
		return err
	}
	t := newTable(w)
	if op.GetName() != "" {
		t.row("name", op.GetName())
	}
	t.row("kind", kindName(md.GetKind()))
	state := stateName(md.GetState())
	if op.GetName() == "" && op.GetDone() {
		state = "VALID (validate only; nothing was changed)"
	}
	t.row("state", state)
	t.row("account", md.GetAccountId())
	t.row("region", md.GetRegion())
	t.row("group", firstNonEmpty(res.GetGroupId(), md.GetGroupId()))
	if md.GetRequestId() != "" {
		t.row("request id", md.GetRequestId())
	}
	if md.GetAttempts() > 0 {
		t.row("attempts", strconv.Itoa(int(md.GetAttempts())))
	}
	if md.GetRetryReason() != "" {
		t.row("retry reason", md.GetRetryReason())
	}
	if md.GetCreateTime() != nil && op.GetName() != "" {
		t.row("created", timeText(md.GetCreateTime()))
	}
	if md.GetEndTime() != nil {
		t.row("ended", timeText(md.GetEndTime())+" (after "+durationText(md.GetCreateTime(), md.GetEndTime())+")")
	}
	if op.GetError() != nil {
		t.row("error", failureText(op.GetError()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(res.GetSecurityGroupRules()) > 0 {
		fmt.Fprintln(w)
		return writeRules(w, res.GetSecurityGroupRules())
	}
	return nil
}

// writeEvent prints one event on one line, as it happens.
func writeEvent(w io.Writer, ev *palisadev1.OperationEvent) {
	line := fmt.Sprintf("%s  %-9s  attempt %d", timeText(ev.GetTime()), stateName(ev.GetState()), ev.GetAttempt())
	// The server's reason for a new attempt is often just its number,
	// which the line already shows.
	if r := ev.GetReason(); r != "" && r != fmt.Sprintf("attempt %d", ev.GetAttempt()) {
		line += "  " + ev.GetReason()
	}
	if ev.GetError() != nil && !strings.Contains(ev.GetReason(), ev.GetError().GetMessage()) {
		line += "  " + failureText(ev.GetError())
	}
	fmt.Fprintln(w, line)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
