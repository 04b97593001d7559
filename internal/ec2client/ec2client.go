// Package ec2client builds aws-sdk-go-v2 EC2 clients per account and region,
// for real AWS (the standard credential chain, optionally assuming a role in
// each account) or for an EC2-compatible endpoint such as the local
// simulator or moto.
package ec2client

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AccountPlaceholder stands for the account id in a role ARN template.
const AccountPlaceholder = "{account}"

// SessionName is the role session name of every assumed role, so the
// accounts' CloudTrail shows which calls Palisade made.
const SessionName = "palisade"

// defaultSTSRegion signs STS calls when the configuration names no region.
const defaultSTSRegion = "us-east-1"

var roleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$`)

// Options choose where the clients talk to.
type Options struct {
	// Endpoint is the base URL of an EC2-compatible endpoint; "" means AWS.
	Endpoint string
	// MaxAttempts of the SDK's own retryer; 0 or 1 disables it, for callers
	// that own their retries (the workers do, so every retry is an event
	// and spends the rate budget).
	MaxAttempts int
	// AssumeRole, when set, is the ARN of a role to assume in every
	// account, with AccountPlaceholder standing for the account id:
	// arn:aws:iam::{account}:role/palisade. The base credentials call STS
	// (the endpoint's, when Endpoint is set) once per account; the
	// temporary credentials are cached and renewed before they expire.
	AssumeRole string
	// ExternalID goes with every AssumeRole, for trust policies that ask
	// for one.
	ExternalID string
}

// CheckRoleTemplate says what is wrong with a role ARN template, or nil.
func CheckRoleTemplate(template string) error {
	if !strings.Contains(template, AccountPlaceholder) {
		return fmt.Errorf("role ARN template %q does not contain %s: every account would act as one", template, AccountPlaceholder)
	}
	if arn := strings.ReplaceAll(template, AccountPlaceholder, "123456789012"); !roleARN.MatchString(arn) {
		return fmt.Errorf("role ARN template %q is not an IAM role ARN (arn:aws:iam::%s:role/<name>)", template, AccountPlaceholder)
	}
	return nil
}

// Factory hands out one client per (account, region), built once.
type Factory struct {
	opts Options
	base aws.Config

	mu      sync.Mutex
	clients map[string]*ec2.Client
	// roles holds each account's assumed-role credentials, shared by the
	// account's clients in every region.
	roles map[string]aws.CredentialsProvider
}

// New loads the base configuration. With no endpoint it reads the standard
// credential chain (environment, shared files, SSO, instance role).
func New(ctx context.Context, opts Options) (*Factory, error) {
	if opts.AssumeRole != "" {
		if err := CheckRoleTemplate(opts.AssumeRole); err != nil {
			return nil, err
		}
	}
	var loadOpts []func(*config.LoadOptions) error
	if opts.Endpoint != "" {
		// The local endpoint checks no signatures; the access key carries the
		// account id so one endpoint can stand for several accounts.
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider("palisade", "palisade", "")))
	}
	base, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return &Factory{opts: opts, base: base, clients: map[string]*ec2.Client{}, roles: map[string]aws.CredentialsProvider{}}, nil
}

// Client returns the client for an account and region.
//
// With AssumeRole its calls use the role assumed in that account. Without,
// every account uses the base credentials: against AWS, calls for an
// account they do not belong to fail with EC2's authorization errors.
func (f *Factory) Client(account, region string) *ec2.Client {
	key := account + "/" + region
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c
	}
	cfg := f.base.Copy()
	cfg.Region = region
	if f.opts.MaxAttempts <= 1 {
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	} else {
		cfg.RetryMaxAttempts = f.opts.MaxAttempts
	}
	switch {
	case f.opts.AssumeRole != "":
		cfg.Credentials = f.role(account)
	case f.opts.Endpoint != "":
		cfg.Credentials = credentials.NewStaticCredentialsProvider(account, "palisade", "")
	}
	cfg.HTTPClient = guardBody{next: awshttp.NewBuildableClient()}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if f.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(f.opts.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, addCallAgent, observeCall)
	})
	f.clients[key] = c
	return c
}

// role returns the account's assumed-role credentials. f.mu is held.
func (f *Factory) role(account string) aws.CredentialsProvider {
	if p, ok := f.roles[account]; ok {
		return p
	}
	cfg := f.base.Copy()
	if cfg.Region == "" {
		cfg.Region = defaultSTSRegion
	}
	cfg.HTTPClient = guardBody{next: awshttp.NewBuildableClient()}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if f.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(f.opts.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, observeCall)
	})
	arn := strings.ReplaceAll(f.opts.AssumeRole, AccountPlaceholder, account)
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName
		if f.opts.ExternalID != "" {
			o.ExternalID = aws.String(f.opts.ExternalID)
		}
	}))
	f.roles[account] = p
	return p
}
