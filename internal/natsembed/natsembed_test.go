package natsembed

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestStartOnAnyFreePort(t *testing.T) {
	var urls []string
	for i := 0; i < 2; i++ {
		ns, err := Start(Options{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ns.Shutdown)
		urls = append(urls, ns.ClientURL())
		nc, err := nats.Connect(ns.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	if urls[0] == urls[1] || strings.HasSuffix(urls[0], ":4222") {
		t.Fatalf("port 0 must pick a free port each time, got %v", urls)
	}
}

func TestStartInProcessOnly(t *testing.T) {
	ns, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestStartRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no store":    {},
		"bad address": {StoreDir: t.TempDir(), Listen: "localhost"},
		"bad port":    {StoreDir: t.TempDir(), Listen: "127.0.0.1:http"},
	} {
		if _, err := Start(o); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
