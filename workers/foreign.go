package workers

import (
	"bytes"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// foreign reports whether cmd is not the command rec was created for: a
// command published under the id of an operation that belongs to another
// request. Such a command must neither run under that operation nor end
// it; whoever publishes on the command subjects could otherwise fail (or
// finish) any running operation whose id they know.
//
// The record keeps the command it was created for. What may differ
// between two publications of one operation's command is left out: the
// accept time, and for a rollout's child the group's rules as its rollout
// last read them (a driver that took over reads them again), with the
// hash over them. A record without its command is judged by the request
// hash alone.
func foreign(rec *palisadev1.OperationRecord, cmd *palisadev1.Command) bool {
	if rec.GetCommand() == nil {
		return len(rec.GetRequestHash()) > 0 && !bytes.Equal(rec.GetRequestHash(), cmd.GetRequestHash())
	}
	return !proto.Equal(comparable(rec.GetCommand()), comparable(cmd))
}

// comparable is a copy of cmd without what may differ between two
// publications of the same operation's command.
func comparable(cmd *palisadev1.Command) *palisadev1.Command {
	c := proto.Clone(cmd).(*palisadev1.Command)
	c.AcceptTime = nil
	if a := c.GetApplyRuleChange(); a != nil {
		c.RequestHash = nil
		a.ObservedIngress, a.ObservedEgress, a.Observed = nil, nil, false
	}
	return c
}
