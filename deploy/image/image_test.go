// Package image_test checks the container image scripts/build-image.sh
// (`make image`) builds from deploy/image/Containerfile: its config, its
// labels, and that the binaries in its layers run.
package image_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImage builds the image under a tag of its own, reads its config,
// copies the filesystem of a created (never started) container out of
// podman and runs `palisade --version` from it on this machine: podman
// here can build and create containers but not run them.
func TestImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not installed (apt-get install -y podman): the image is not checked")
	}
	if testing.Short() {
		t.Skip("builds static binaries and an image: not under -short")
	}
	version := fmt.Sprintf("0.0.0-test.%d", time.Now().UnixNano())
	tag := "localhost/palisade-test:" + version
	cmd := exec.Command("../../scripts/build-image.sh", tag)
	cmd.Env = append(os.Environ(), "VERSION="+version, "REVISION=0123456789abcdef0123456789abcdef01234567", "PODMAN="+podman)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "--force", tag).Run() })

	out, err := exec.Command(podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var inspect []struct {
		Config struct {
			User       string
			Entrypoint []string
			Labels     map[string]string
		}
	}
	if err := json.Unmarshal(out, &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v (%d images)", err, len(inspect))
	}
	cfg := inspect[0].Config
	if cfg.User != "65532:65532" {
		t.Errorf("user %q, want the numeric non-root 65532:65532", cfg.User)
	}
	if strings.Join(cfg.Entrypoint, " ") != "/usr/local/bin/palisade" {
		t.Errorf("entrypoint %q, want /usr/local/bin/palisade", cfg.Entrypoint)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.source":   "https://github.com/palisadehq/palisade",
		"org.opencontainers.image.title":    "palisade",
	} {
		if cfg.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339, cfg.Labels["org.opencontainers.image.created"]); err != nil {
		t.Errorf("label org.opencontainers.image.created: %v", err)
	}

	root := exportRootfs(t, podman, tag)
	for _, f := range []string{"usr/local/bin/palisade", "usr/local/bin/palisadectl", "etc/ssl/certs/ca-certificates.crt"} {
		if st, err := os.Stat(filepath.Join(root, f)); err != nil || st.Size() == 0 {
			t.Errorf("/%s missing or empty in the image: %v", f, err)
		}
	}
	got, err := exec.Command(filepath.Join(root, "usr/local/bin/palisade"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("palisade --version from the image: %v\n%s", err, got)
	}
	if want := "palisade " + version + " (revision 0123456789abcdef0123456789abcdef01234567,"; !strings.HasPrefix(string(got), want) {
		t.Errorf("palisade --version = %q, want it to start with %q", got, want)
	}
	if out, err := exec.Command(filepath.Join(root, "usr/local/bin/palisadectl"), "--help").CombinedOutput(); !bytes.Contains(out, []byte("palisadectl")) {
		t.Errorf("palisadectl --help from the image: %v\n%s", err, out)
	}
}

// exportRootfs extracts the filesystem of image into a temporary
// directory through a created container and `podman export`.
func exportRootfs(t *testing.T, podman, image string) string {
	t.Helper()
	out, err := exec.Command(podman, "create", image).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "--force", id).Run() })
	cmd := exec.Command(podman, "export", id)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	untarErr := untar(stdout, root)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("podman export: %v", err)
	}
	if untarErr != nil {
		t.Fatalf("podman export: %v", untarErr)
	}
	return root
}

// untar writes the regular files and directories of r under dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				_ = f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
}

// TestBuildImageRefuses: without a builder or a CA bundle the script
// stops at once and says what is missing.
func TestBuildImageRefuses(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"PODMAN=/nonexistent/podman"}, "/nonexistent/podman not found"},
		{[]string{"PODMAN=true", "CA_BUNDLE=/nonexistent/ca.crt"}, "no CA bundle at /nonexistent/ca.crt"},
	} {
		cmd := exec.Command("../../scripts/build-image.sh", "localhost/palisade-test:never")
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v\n%s\nwant a failure saying %q", tc.env, err, out, tc.want)
		}
	}
}
