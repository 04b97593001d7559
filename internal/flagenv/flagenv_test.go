package flagenv

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env := map[string]string{"PALISADE_DATA_DIR": "/from/env", "PALISADE_GRPC_LISTEN": "env:1", "PALISADE_WORKERS": "7"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./.palisade", "")
	listen := fs.String("grpc-listen", "127.0.0.1:50051", "")
	workers := fs.Int("workers", 1, "")
	other := fs.String("nats-url", "default", "")
	if err := Parse(fs, []string{"--grpc-listen", "flag:2"}, lookup); err != nil {
		t.Fatal(err)
	}
	if *dataDir != "/from/env" || *listen != "flag:2" || *workers != 7 || *other != "default" {
		t.Fatalf("got data-dir=%q grpc-listen=%q workers=%d nats-url=%q", *dataDir, *listen, *workers, *other)
	}
}

func TestParseBadEnvNamesVariable(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("workers", 1, "")
	err := Parse(fs, nil, func(k string) (string, bool) { return "many", k == "PALISADE_WORKERS" })
	if err == nil || !strings.Contains(err.Error(), "PALISADE_WORKERS") {
		t.Fatalf("want an error naming PALISADE_WORKERS, got %v", err)
	}
}

func TestParseBadFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := Parse(fs, []string{"--nope"}, func(string) (string, bool) { return "", false }); err == nil {
		t.Fatal("want an error for an unknown flag")
	}
}
