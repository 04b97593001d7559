package ec2sim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The endpoint also answers STS's AssumeRole (API version 2011-06-15, the
// same Query protocol), so a deployment that assumes a role per account
// runs unchanged against it. There is no IAM: any caller may assume any
// role. The temporary credentials' access key id is the role's account,
// the convention by which every later call acts as that account.

const (
	stsAPIVersion = "2011-06-15"
	stsNamespace  = "https://sts.amazonaws.com/doc/2011-06-15/"

	// A role's MaxSessionDuration unless configured otherwise.
	stsMaxSession     = time.Hour
	stsDefaultSession = time.Hour
	stsMinSession     = 15 * time.Minute
	// DurationSeconds may never exceed 12 hours, whatever the role allows.
	stsSessionLimit = 12 * time.Hour

	codeValidationError = "ValidationError"
)

var (
	// arn:<partition>:iam::<account>:role/<path/><name>
	roleARN     = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::(\d{12}):role/([\w+=,.@/-]+)$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalID  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

// isSTS reports whether a request speaks to STS rather than EC2: the two
// share the protocol and are told apart by their API version.
func isSTS(n *pnode) bool {
	v, _ := n.str("Version")
	return v == stsAPIVersion
}

// sts answers an STS request. Throttling and injected faults are EC2's and
// do not apply; latency and dropped connections, applied to every call,
// do.
func (s *Sim) sts(c *call) (response, *apiError) {
	name, _ := c.n.str("Action")
	c.action = name
	switch name {
	case "AssumeRole":
		return s.assumeRole(c)
	case "GetCallerIdentity":
		return getCallerIdentity(c), nil
	}
	c.action = "Unknown"
	return nil, &apiError{Code: codeInvalidAction, Message: "Could not find operation " + truncate(name, 64) + " for version " + stsAPIVersion, Status: http.StatusBadRequest}
}

// sessionPrefix starts every session token the endpoint issues. The token
// carries the assumed-role user after a '.', so GetCallerIdentity can name
// the role without the endpoint keeping sessions.
const sessionPrefix = "palisade-ec2sim-"

// getCallerIdentity answers with the account the credentials act as (the
// same account EC2 calls with them act as) and the principal: the assumed
// role for credentials this endpoint issued, otherwise the account's root
// user, since there is no IAM to name another (GetCallerIdentity, STS API
// reference: Account, Arn, UserId; for the root user UserId is the account
// id and Arn arn:aws:iam::<account>:root). STS takes no parameters here and
// needs no permission, so nothing can make it fail but the transport.
func getCallerIdentity(c *call) response {
	out := &xmlGetCallerIdentityResponse{}
	r := &out.Result
	r.Account = c.account
	r.Arn = "arn:aws:iam::" + c.account + ":root"
	r.UserID = c.account
	if arn, id, ok := sessionUser(c.sessionToken); ok && strings.HasPrefix(arn, "arn:aws:sts::"+c.account+":") {
		r.Arn, r.UserID = arn, id
	}
	return out
}

// sessionToken builds a token that names the assumed-role user.
func sessionToken(arn, userID string) string {
	return sessionPrefix + randomToken(32) + "." + base64.RawURLEncoding.EncodeToString([]byte(arn+"|"+userID))
}

func sessionUser(token string) (arn, userID string, ok bool) {
	rest, ok := strings.CutPrefix(token, sessionPrefix)
	if !ok {
		return "", "", false
	}
	_, enc, ok := strings.Cut(rest, ".")
	if !ok {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	arn, userID, ok = strings.Cut(string(b), "|")
	return arn, userID, ok
}

func stsValidation(format string, args ...any) *apiError {
	return clientErr(codeValidationError, format, args...)
}

// assumeRole validates as STS does, member by member, and issues
// credentials for the role's account.
func (s *Sim) assumeRole(c *call) (response, *apiError) {
	arn, hasARN := c.n.str("RoleArn")
	session, hasSession := c.n.str("RoleSessionName")
	switch {
	case !hasARN:
		return nil, stsValidation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case !hasSession:
		return nil, stsValidation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case len(arn) < 20 || len(arn) > 2048:
		return nil, stsValidation("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048", truncate(arn, 64))
	case len(session) < 2 || len(session) > 64:
		return nil, stsValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", truncate(session, 80))
	case !sessionName.MatchString(session):
		return nil, stsValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", truncate(session, 80))
	}
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, stsValidation("%s is invalid", truncate(arn, 64))
	}
	account, role := m[2], m[3]
	duration := stsDefaultSession
	if v, ok := c.n.str("DurationSeconds"); ok {
		secs, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return nil, stsValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", truncate(v, 32))
		case time.Duration(secs)*time.Second < stsMinSession || time.Duration(secs)*time.Second > stsSessionLimit:
			return nil, stsValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", secs)
		case time.Duration(secs)*time.Second > stsMaxSession:
			return nil, stsValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
		duration = time.Duration(secs) * time.Second
	}
	if v, ok := c.n.str("ExternalId"); ok {
		if len(v) < 2 || len(v) > 1224 {
			return nil, stsValidation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224", truncate(v, 64))
		}
		if !externalID.MatchString(v) {
			return nil, stsValidation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*", truncate(v, 64))
		}
	}
	roleName := role[strings.LastIndex(role, "/")+1:]
	roleID := "AROA" + randomToken(8)
	out := &xmlAssumeRoleResponse{}
	r := &out.Result
	r.Credentials.AccessKeyID = account
	r.Credentials.SecretAccessKey = randomToken(20)
	r.Credentials.Expiration = c.now.Add(duration).UTC().Format(time.RFC3339)
	r.AssumedRoleUser.Arn = "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + session
	r.AssumedRoleUser.AssumedRoleID = roleID + ":" + session
	r.Credentials.SessionToken = sessionToken(r.AssumedRoleUser.Arn, r.AssumedRoleUser.AssumedRoleID)
	return out, nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))[:n]
}

type xmlAssumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	ResponseMetadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

func (r *xmlAssumeRoleResponse) setMeta(id string) {
	r.Xmlns = stsNamespace
	r.ResponseMetadata.RequestID = id
}

type xmlGetCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
	} `xml:"GetCallerIdentityResult"`
	ResponseMetadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

func (r *xmlGetCallerIdentityResponse) setMeta(id string) {
	r.Xmlns = stsNamespace
	r.ResponseMetadata.RequestID = id
}

type xmlSTSErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// writeSTSError sends STS's error shape: <ErrorResponse><Error>…</Error>
// <RequestId>, unlike EC2's <Response><Errors>.
func writeSTSError(w http.ResponseWriter, requestID string, e *apiError) {
	x := xmlSTSErrorResponse{Xmlns: stsNamespace, RequestID: requestID}
	x.Error.Type = "Sender"
	if e.Status >= 500 {
		x.Error.Type = "Receiver"
	}
	x.Error.Code, x.Error.Message = e.Code, e.Message
	body, err := xml.Marshal(x)
	if err != nil {
		body = []byte("<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	writeBody(w, requestID, e.Status, body)
}
