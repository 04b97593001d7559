package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

const (
	region = "us-east-1"
	// moto's fixed account id; ec2sim is configured with the same one so
	// that OwnerId and ARNs can be compared.
	accountID = "123456789012"
)

// backend is one EC2 endpoint under test together with the scenario's
// symbolic names for the ids it handed out. Ids differ between endpoints, so
// steps refer to resources by symbol and results are reported by symbol.
type backend struct {
	name   string
	url    string
	client *ec2.Client
	ids    map[string]string // symbol -> real id
}

func newBackend(name, url string) *backend {
	return &backend{
		name:   name,
		url:    url,
		client: newClient(url),
		ids:    map[string]string{},
	}
}

// newClient builds an EC2 client for a local endpoint. Retries are off so
// that every step is exactly one request and a 5xx from moto is reported
// as such rather than hidden behind retries.
func newClient(url string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "difftest"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: bufferedBodyClient{},
	})
}

// bufferedBodyClient sends each request with a private in-memory copy of
// its body. smithy-go closes the request body as soon as the response
// arrives; against an endpoint that answers within microseconds (ec2sim
// in-process) that close races net/http's write loop, which then closes the
// connection while the response body is still being read ("use of closed
// network connection" on a 200, seen on the 60-rule Authorize). With its
// own copy of the body the transport has nothing to race with.
type bufferedBodyClient struct{}

func (bufferedBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return http.DefaultClient.Do(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return http.DefaultClient.Do(r2)
}

// id returns the real id for a symbol. An unknown symbol yields a
// well-formed id that exists nowhere, so a step that depends on an earlier
// failed step fails with a clear NotFound instead of panicking.
func (b *backend) id(sym string) string {
	if v, ok := b.ids[sym]; ok {
		return v
	}
	prefix := "sg-"
	switch {
	case strings.HasPrefix(sym, "vpc"):
		prefix = "vpc-"
	case strings.HasPrefix(sym, "sgr"):
		prefix = "sgr-"
	case strings.HasPrefix(sym, "pl-"):
		prefix = "pl-"
	case strings.HasPrefix(sym, "pcx-"):
		prefix = "pcx-"
	}
	return prefix + "0deadbeef0deadbee"
}

func (b *backend) ptr(sym string) *string { return aws.String(b.id(sym)) }

// set records a symbol. Two symbols for one id would make results
// ambiguous, so that scenario bug stops the test.
func (b *backend) set(sym, real string) {
	for k, v := range b.ids {
		if v == real && k != sym {
			panic(fmt.Sprintf("%s: symbols %q and %q both name %s", b.name, k, sym, real))
		}
	}
	b.ids[sym] = real
}

// sym maps a real id back to its symbol for reporting; ids the scenario
// never named are shown by their prefix only, because their value differs
// between endpoints.
func (b *backend) sym(real string) string {
	for k, v := range b.ids {
		if v == real {
			return k
		}
	}
	if i := strings.IndexByte(real, '-'); i > 0 {
		return "?" + real[:i+1]
	}
	return "?" + real
}

// outcome is a normalised step result: Code is "OK" or the EC2 error code
// (messages are never compared), Shape the salient, id-free result.
type outcome struct {
	Code  string
	Shape string
}

func (o outcome) String() string {
	if o.Shape == "" {
		return o.Code
	}
	return o.Code + " " + o.Shape
}

func toOutcome(shape string, err error) outcome {
	if err == nil {
		return outcome{Code: "OK", Shape: shape}
	}
	// The HTTP status is part of the shape: SDKs decide on retries by it,
	// and EC2 answers DryRunOperation with 412, not 400.
	var respErr *awshttp.ResponseError
	status := "no-status"
	if errors.As(err, &respErr) {
		status = "HTTP" + strconv.Itoa(respErr.HTTPStatusCode())
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return outcome{Code: apiErr.ErrorCode(), Shape: status}
	}
	// A response that is not EC2's error XML (moto's HTML 500 page) has no
	// code; the status is what a client would act on.
	if respErr != nil {
		return outcome{Code: status}
	}
	return outcome{Code: "ERR", Shape: err.Error()}
}

// freePort asks the kernel for an unused loopback port. moto_server cannot
// be handed a listener, so there is a short window in which another process
// could take the port; the start-up check below would then fail loudly.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// startMoto starts moto_server on a free loopback port and returns its URL.
// The test is skipped when moto_server is not installed.
func startMoto(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server not found on PATH; install moto[server] (pip install 'moto[server]==5.2.1') to run the differential test")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// Its own process group, so that a wrapper script (pyenv shim) and the
	// Python process behind it are stopped together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logBuf strings.Builder
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // killed: Wait reports the signal
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group may be gone already
		<-exited
	})

	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Poll until moto answers; bounded so a broken install fails the test
	// instead of hanging it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("moto_server exited during start-up:\n%s", logBuf.String())
		default:
		}
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cliEnv returns the environment for AWS CLI runs: fixed fake credentials
// and region, no pager, and no user configuration that could change output.
func cliEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION="+region,
		"AWS_REGION="+region,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_DEFAULT_OUTPUT=json",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
	)
}
