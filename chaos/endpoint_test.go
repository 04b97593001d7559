package chaos

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/palisadehq/palisade/ec2sim"
)

// endpoint is the local EC2 endpoint over HTTP, with a note of what each
// request asked for. The endpoint's own call log (ec2sim.Sim.CallLog) says
// when each call arrived, on which group, and how it ended; the notes add,
// by EC2's request id, the rules a call named and which worker process
// made it, so the order of effects on each group can be checked against
// the order in which its operations were accepted.
type endpoint struct {
	sim *ec2sim.Sim
	url string

	mu      sync.Mutex
	notes   map[string]note // by EC2 request id
	dropped []note          // answered by a dropped connection: no request id
	// inflight and last say, per worker process, how many of its calls
	// are being answered and how its last one ended: what a kill hits.
	inflight map[string]int
	last     map[string]string
	// before, when set, sees each request first; false means the request
	// never reaches EC2 and its connection is closed unanswered.
	before func(note) bool
}

// note is what one request named.
type note struct {
	action    string
	groupID   string
	groupName string
	worker    string  // the process's AWS_SDK_UA_APP_ID
	ports     []int32 // FromPort of each IpPermissions.N
	ruleIDs   []string
	// created are the sgr- ids an authorize answered with; group the id a
	// create answered with.
	created []string
	group   string
	// unknown counts the rules a revoke by permission named that EC2
	// answered as unknown (the default VPC's way of saying "absent").
	unknown int
}

var (
	reRequestID = regexp.MustCompile(`<requestId>([^<]+)</requestId>`)
	reRuleID    = regexp.MustCompile(`<securityGroupRuleId>(sgr-[0-9a-f]+)</securityGroupRuleId>`)
	reGroupID   = regexp.MustCompile(`<groupId>(sg-[0-9a-f]+)</groupId>`)
	reAppID     = regexp.MustCompile(`app/(\S+)`)
	reCode      = regexp.MustCompile(`<Code>([^<]+)</Code>`)
)

// newEndpoint serves sim and notes what each request asked for; its url
// is set once it listens.
func newEndpoint(sim *ec2sim.Sim) *endpoint {
	return &endpoint{sim: sim, notes: map[string]note{}, inflight: map[string]int{}, last: map[string]string{}}
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	n := note{action: form.Get("Action"), groupID: form.Get("GroupId"), groupName: form.Get("GroupName")}
	if m := reAppID.FindStringSubmatch(r.Header.Get("User-Agent")); m != nil {
		n.worker = m[1]
	}
	for i := 1; ; i++ {
		p := form.Get("IpPermissions." + strconv.Itoa(i) + ".FromPort")
		if p == "" {
			break
		}
		v, _ := strconv.Atoi(p)
		n.ports = append(n.ports, int32(v))
	}
	for i := 1; ; i++ {
		id := form.Get("SecurityGroupRuleId." + strconv.Itoa(i))
		if id == "" {
			break
		}
		n.ruleIDs = append(n.ruleIDs, id)
	}
	e.mu.Lock()
	before := e.before
	e.mu.Unlock()
	if before != nil && !before(n) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	rec := &recorder{ResponseWriter: w}
	e.mu.Lock()
	e.inflight[n.worker]++
	e.mu.Unlock()
	e.sim.ServeHTTP(rec, r)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight[n.worker]--
	out := rec.body.String()
	switch {
	case rec.hijacked:
		e.last[n.worker] = "Dropped"
	case rec.status == 0 || rec.status == http.StatusOK:
		e.last[n.worker] = "OK"
	default:
		if m := reCode.FindStringSubmatch(out); m != nil {
			e.last[n.worker] = m[1]
		}
	}
	if rec.hijacked {
		e.dropped = append(e.dropped, n)
		return
	}
	m := reRequestID.FindStringSubmatch(out)
	if m == nil {
		return
	}
	if rec.status == 0 || rec.status == http.StatusOK {
		for _, id := range reRuleID.FindAllStringSubmatch(out, -1) {
			n.created = append(n.created, id[1])
		}
		if i := strings.Index(out, "<unknownIpPermissionSet>"); i >= 0 {
			set := out[i:]
			if j := strings.Index(set, "</unknownIpPermissionSet>"); j >= 0 {
				set = set[:j]
			}
			n.unknown = strings.Count(set, "<cidrIp>")
		}
		if n.action == "CreateSecurityGroup" {
			if g := reGroupID.FindStringSubmatch(out); g != nil {
				n.group = g[1]
			}
		}
	}
	e.notes[m[1]] = n
}

// recorder passes the answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Hijack lets the endpoint drop the connection, as its DropRate does.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return r.ResponseWriter.(http.Hijacker).Hijack()
}

// ec2Call is one entry of the endpoint's call log with its note.
type ec2Call struct {
	ec2sim.Call
	note
}

// effective reports whether the call may have changed EC2: it succeeded,
// or its answer was dropped after it took effect.
func (c ec2Call) effective() bool {
	if c.unknown > 0 && c.unknown >= len(c.ports) {
		return false // a revoke of rules already gone
	}
	return c.Outcome == "OK" || c.Outcome == "Dropped"
}

func (c ec2Call) mutating() bool {
	switch c.Action {
	case "CreateSecurityGroup", "DeleteSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
		"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules", "CreateTags", "DeleteTags":
		return true
	}
	return false
}

// calls joins the call log with the notes, in arrival order.
func (e *endpoint) calls() []ec2Call {
	log := e.sim.CallLog()
	e.mu.Lock()
	defer e.mu.Unlock()
	dropped := map[string][]note{}
	for _, n := range e.dropped {
		k := n.action + "/" + n.groupID
		dropped[k] = append(dropped[k], n)
	}
	out := make([]ec2Call, 0, len(log))
	for _, c := range log {
		n, ok := e.notes[c.RequestID]
		if !ok && c.Outcome == "Dropped" {
			// Both lists are in arrival order per action and group.
			k := c.Action + "/" + c.GroupID
			if q := dropped[k]; len(q) > 0 {
				n, dropped[k] = q[0], q[1:]
			}
		}
		out = append(out, ec2Call{Call: c, note: n})
	}
	return out
}

// throttled counts calls EC2 refused with RequestLimitExceeded, of all.
func (e *endpoint) throttled() (throttled, total int64) {
	for _, outcomes := range e.sim.Counters() {
		for o, n := range outcomes {
			total += n
			if strings.Contains(o, "RequestLimitExceeded") {
				throttled += n
			}
		}
	}
	return throttled, total
}

// callFigures are the EC2 calls made so far and how many were throttled,
// for a scenario's line; taken before the checks, whose reads would count.
func (e *endpoint) callFigures() []figure {
	throttled, total := e.throttled()
	return []figure{{"ec2_calls", total}, {"throttled", throttled}}
}

// killPoint says where a worker was when it was killed, from its calls:
// inside an EC2 call, waiting to retry after a refused one, or after a
// call EC2 answered (recording, acking, or between commands).
func (e *endpoint) killPoint(worker string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch last := e.last[worker]; {
	case e.inflight[worker] > 0:
		return "in_call"
	case last == "" || last == "OK":
		return "after_call"
	default:
		return "retrying"
	}
}

// setBefore installs the hook that sees each request first.
func (e *endpoint) setBefore(f func(note) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.before = f
}
