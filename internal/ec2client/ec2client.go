// Package ec2client builds aws-sdk-go-v2 EC2 clients per account and region,
// for real AWS (the standard credential chain) or for an EC2-compatible
// endpoint such as the local simulator or moto.
package ec2client

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Options choose where the clients talk to.
type Options struct {
	// Endpoint is the base URL of an EC2-compatible endpoint; "" means AWS.
	Endpoint string
	// MaxAttempts of the SDK's own retryer; 0 or 1 disables it, for callers
	// that own their retries (the workers do, so every retry is an event
	// and spends the rate budget).
	MaxAttempts int
}

// Factory hands out one client per (account, region), built once.
type Factory struct {
	opts Options
	base aws.Config

	mu      sync.Mutex
	clients map[string]*ec2.Client
}

// New loads the base configuration. With no endpoint it reads the standard
// credential chain (environment, shared files, SSO, instance role).
func New(ctx context.Context, opts Options) (*Factory, error) {
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
	return &Factory{opts: opts, base: base, clients: map[string]*ec2.Client{}}, nil
}

// Client returns the client for an account and region.
//
// Against AWS every account uses the credentials of the chain; calls for an
// account those credentials do not belong to fail with EC2's own
// authorization errors. Assuming a role per account is a later step.
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
	if f.opts.Endpoint != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(account, "palisade", "")
	}
	cfg.HTTPClient = guardBody{next: awshttp.NewBuildableClient()}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if f.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(f.opts.Endpoint)
		}
	})
	f.clients[key] = c
	return c
}
