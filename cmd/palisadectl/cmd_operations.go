package main

import (
	"context"
	"flag"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func getOperationCommand() command {
	return command{
		name:    "get-operation",
		args:    "<name|id>",
		summary: "show an operation: its state, its error or its result (exit 0 whatever its state)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := oneOperation(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				op, err := e.api.GetOperation(ctx, name)
				if err != nil {
					return err
				}
				return e.printOperation(op.Proto)
			}
		},
	}
}

func listOperationsCommand() command {
	return command{
		name:    "list-operations",
		summary: "list your operations, every page",
		setup: func(fs *flag.FlagSet) action {
			filter := fs.String("filter", "", "field=value terms joined by ' AND ' over state, kind, account_id, region, group_id (e.g. state=FAILED)")
			pageSize := fs.Int("page-size", 0, "operations per call to the server (1-1000; 0: the server's default)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if err := e.connect(); err != nil {
					return err
				}
				ops, err := allPages(func(token string) ([]*longrunningpb.Operation, string, error) {
					resp, err := e.api.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Filter: *filter, PageSize: int32(*pageSize), PageToken: token})
					return resp.GetOperations(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				all := &longrunningpb.ListOperationsResponse{Operations: ops}
				if e.g.json() {
					return writeJSON(e.stdout, all)
				}
				return writeOperations(e, all.GetOperations())
			}
		},
	}
}

func writeOperations(e *env, ops []*longrunningpb.Operation) error {
	t := newTable(e.stdout, "NAME", "KIND", "STATE", "ACCOUNT", "REGION", "GROUP", "UPDATED")
	for _, op := range ops {
		md, err := metadataOf(op)
		if err != nil {
			return err
		}
		t.row(op.GetName(), kindName(md.GetKind()), stateName(md.GetState()), md.GetAccountId(), md.GetRegion(),
			md.GetGroupId(), timeText(md.GetUpdateTime()))
	}
	return t.flush()
}

func watchCommand() command {
	return command{
		name:    "watch",
		args:    "<name|id>",
		summary: "print an operation's events as they happen, until it ends (exit 0 if it succeeded, 3 if not)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := oneOperation(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				last, err := e.follow(ctx, name, func(ev *palisadev1.OperationEvent) error {
					if e.g.json() {
						return writeJSONLine(e.stdout, ev)
					}
					writeEvent(e.stdout, ev)
					return nil
				})
				if err != nil {
					return e.stoppedWaiting(ctx, name, err)
				}
				if last.GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
					return e.failed(name, last.GetState(), last.GetError())
				}
				return nil
			}
		},
	}
}

func cancelOperationCommand() command {
	return command{
		name:    "cancel-operation",
		args:    "<name|id>",
		summary: "cancel an operation no worker has started yet (a started one has EC2 calls in flight and runs to its end)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := oneOperation(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				if err := e.api.CancelOperation(ctx, name); err != nil {
					return err
				}
				op, err := e.api.GetOperation(ctx, name)
				if err != nil {
					return err
				}
				return e.printOperation(op.Proto)
			}
		},
	}
}

func oneOperation(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("name one operation: operations/<id> or <id>")
	}
	return operationName(args[0]), nil
}
