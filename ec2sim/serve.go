package ec2sim

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// call is the state of one request as it moves through the pipeline.
type call struct {
	s         *Sim
	requestID string
	account   string
	region    string
	action    string
	p         *params
	n         *pnode // p.root, the request's top-level parameters
	now       time.Time
	dryRun    bool
	w         *world
	groupID   string // for the call log
	sts       bool   // an STS request: STS's error shape
	// sessionToken is the X-Amz-Security-Token the request was signed
	// with, if any.
	sessionToken string
	// foreign holds, for a request that references groups of other
	// accounts, each such group's VPC as found in its own account before
	// this call locked its world ("" when that account has no such group).
	foreign map[foreignGroup]string
	// alsoChanged lists other accounts' worlds the call changed (the
	// other side of a peering), to be saved with c.w.
	alsoChanged []*world
}

// ServeHTTP answers one EC2 Query request. The stages, in EC2's order:
// identity, decoding, action lookup, throttling, injected faults, the action
// itself, then (maybe) a dropped connection instead of the answer.
func (s *Sim) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	c := &call{s: s, requestID: newRequestID(), now: s.now(), action: "Unknown"}
	idx := s.stats.arrive(Call{Time: c.now, RequestID: c.requestID})
	outcome := codeInternalError
	defer func() {
		s.stats.finish(idx, Call{
			Time: c.now, Account: c.account, Region: c.region, Action: c.action,
			GroupID: c.groupID, Outcome: outcome, RequestID: c.requestID,
		})
	}()
	defer func() {
		// A bug in a handler must not take the endpoint down or leave the
		// client without an EC2-shaped answer.
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				outcome = outcomeDropped
				panic(rec)
			}
			outcome = codeInternalError
			writeError(rw, c.requestID, errInternal())
		}
	}()

	if d := s.faults.delay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}

	resp, apiErr := s.dispatch(c, rw, r)
	if s.faults.drop() {
		outcome = outcomeDropped
		dropConnection(rw)
		return
	}
	if apiErr != nil {
		outcome = apiErr.Code
		if c.sts {
			writeSTSError(rw, c.requestID, apiErr)
			return
		}
		writeError(rw, c.requestID, apiErr)
		return
	}
	outcome = outcomeOK
	writeXML(rw, c.requestID, resp)
}

func (s *Sim) dispatch(c *call, rw http.ResponseWriter, r *http.Request) (response, *apiError) {
	form, err := readForm(rw, r)
	if err != nil {
		return nil, err
	}
	c.sessionToken = r.Header.Get("X-Amz-Security-Token")
	if v := form["X-Amz-Security-Token"]; c.sessionToken == "" && len(v) == 1 {
		c.sessionToken = v[0]
	}
	if c.account, c.region, err = s.identity(r, form); err != nil {
		return nil, err
	}
	if c.p, err = parseParams(form); err != nil {
		return nil, err
	}
	c.n = c.p.root
	if isSTS(c.n) {
		c.sts = true
		return s.sts(c)
	}
	name, ok := c.n.str("Action")
	if !ok || name == "" {
		return nil, clientErr(codeMissingAction, "The request must contain the parameter Action")
	}
	act, ok := actions[name]
	if !ok {
		return nil, clientErr(codeInvalidAction, "The action %s is not valid for this web service.", truncate(name, 64))
	}
	c.action = name
	switch v, ok := c.n.str("Version"); {
	case !ok || v == "":
		return nil, errMissing("Version")
	case v != apiVersion:
		return nil, clientErr(codeNoSuchVersion, "The requested version (%s) of service AmazonEC2 does not exist", truncate(v, 64))
	}
	// Peek (without consuming: the action's decoder decides whether it
	// knows the parameter) at the group the call addresses, for the log.
	if g := c.n.child("GroupId"); g != nil && g.hasValue {
		c.groupID = g.value
	}

	bucketName, spec := act.bucket(c.n)
	if !s.throttle.take(bucketKey{c.account, c.region, bucketName}, spec, c.now) {
		return nil, errThrottled()
	}
	if err := s.faults.fault(); err != nil {
		return nil, err
	}

	c.w = s.world(c.account, c.region)
	resp, err := act.handle(c)
	if err == nil && act.mutating && s.opts.StateFile != "" {
		if saveErr := s.save(append([]*world{c.w}, c.alsoChanged...)...); saveErr != nil {
			// The change is made in memory and will reach the file with the
			// next successful save; the caller learns only that the outcome
			// is uncertain, as with a real InternalError.
			return nil, errInternal()
		}
	}
	return resp, err
}

// readForm collects the parameters from the form body and the query string.
// Parsing is done here rather than with r.ParseForm so that a missing or odd
// Content-Type, an oversized body or bad escaping all become EC2 errors.
func readForm(rw http.ResponseWriter, r *http.Request) (url.Values, *apiError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, clientErr(codeInvalidAction, "The HTTP method %s is not supported; use POST or GET.", truncate(r.Method, 16))
	}
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, clientErr(codeMalformedQueryString, "The query string is malformed: %v", err)
	}
	if r.Body != nil && r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, clientErr(codeMalformedQueryString, "The request body exceeds %d bytes.", maxBodyBytes)
			}
			return nil, clientErr(codeMalformedQueryString, "The request body could not be read.")
		}
		bodyForm, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, clientErr(codeMalformedQueryString, "The request body is not a valid form: %v", err)
		}
		for k, vs := range bodyForm {
			form[k] = append(form[k], vs...)
		}
	}
	return form, nil
}

// identity finds the caller's account and region in the SigV4 credential
// scope (Authorization header, or X-Amz-Credential for presigned query
// requests). Signatures are not checked. An access key id of exactly 12
// digits is taken as the account id, so tests can act as several accounts.
func (s *Sim) identity(r *http.Request, form url.Values) (string, string, *apiError) {
	// Presigned-URL parameters are transport, not action parameters.
	var presigned []string
	for k, v := range form {
		if strings.HasPrefix(k, "X-Amz-") {
			if k == "X-Amz-Credential" && len(v) == 1 {
				presigned = v
			}
			delete(form, k)
		}
	}
	var cred string
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok || !strings.HasPrefix(auth, "AWS4-") {
			return "", "", authFailure("The Authorization header is not a valid AWS Signature Version 4 header.")
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else if presigned != nil {
		cred = presigned[0]
	} else {
		return s.opts.DefaultAccountID, defaultRegion, nil
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[0] == "" || !isRegion(parts[2]) {
		return "", "", authFailure("The credential scope is malformed; expecting \"<key>/<date>/<region>/ec2/aws4_request\".")
	}
	account := s.opts.DefaultAccountID
	if isAccountID(parts[0]) {
		account = parts[0]
	}
	return account, parts[2], nil
}

func authFailure(msg string) *apiError {
	return &apiError{Code: codeAuthFailure, Message: msg, Status: http.StatusUnauthorized}
}

// isRegion accepts region-shaped names ("us-east-1", "eu-central-2",
// "us-gov-west-1"); worlds are created per region, so garbage must not be
// able to create them.
func isRegion(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// dropConnection closes the connection without a response. Hijacking is the
// direct way; where the writer cannot be hijacked (HTTP/2, recorders),
// ErrAbortHandler makes net/http abort the response instead.
func dropConnection(rw http.ResponseWriter) {
	if hj, ok := rw.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// finishDecode reads DryRun and refuses any parameter the action's decoder
// did not read. Every handler calls it after reading its parameters and
// before looking at state, so an unknown parameter is reported first, as EC2
// does.
func (c *call) finishDecode() *apiError {
	dry, err := c.n.boolParam("DryRun")
	if err != nil {
		return err
	}
	c.dryRun = dry
	if k, ok := c.p.unused(); ok {
		return clientErr(codeUnknownParameter, "The parameter %s is not recognized", truncate(k, 128))
	}
	return nil
}

// visible reports whether something created at t can be seen by this call
// under the configured consistency delay.
func (c *call) visible(t time.Time) bool {
	d := c.s.opts.ConsistencyDelay
	return d <= 0 || !c.now.Before(t.Add(d))
}
