package services

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestSearchLimit: a caller runs at most MaxSearchesPerCaller searches at
// once; another caller is not held back by it, and an ended search frees
// its place.
func TestSearchLimit(t *testing.T) {
	l := newSearchLimit()
	var releases []func()
	for range MaxSearchesPerCaller {
		release, err := l.acquire("a")
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	_, err := l.acquire("a")
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "fleet searches") {
		t.Fatalf("search past the limit: %v", err)
	}
	if _, err := l.acquire("b"); err != nil {
		t.Fatalf("another caller: %v", err)
	}
	releases[0]()
	releases[0]() // twice counts once
	if _, err := l.acquire("a"); err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	if _, err := l.acquire("a"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a second release freed a second place: %v", err)
	}
}
