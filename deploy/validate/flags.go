package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

var flagLine = regexp.MustCompile(`^  -([a-z0-9-]+)`)

// FlagsOf lists the flags of `palisade <command>`, read from its -h.
func FlagsOf(bin, command string) (map[string]bool, error) {
	var out bytes.Buffer
	cmd := exec.Command(bin, command, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s -h: %w\n%s", bin, command, err, out.String())
	}
	flags := map[string]bool{}
	s := bufio.NewScanner(&out)
	for s.Scan() {
		if m := flagLine.FindStringSubmatch(s.Text()); m != nil {
			flags[m[1]] = true
		}
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s %s -h lists no flags", bin, command)
	}
	return flags, nil
}

// CheckFlags holds each part's arguments and PALISADE_* variables to the
// flags of its command: an argument must be a flag of the part, and a
// variable a flag of at least one part that receives it (the ConfigMap is
// shared), so a misspelt name cannot be silently ignored.
func CheckFlags(parts map[string]Part, flagsOf func(command string) (map[string]bool, error)) error {
	var faults []string
	used := map[string]bool{}
	seen := map[string][]string{}
	for _, name := range sortedKeys(parts) {
		p := parts[name]
		if len(p.Args) == 0 {
			faults = append(faults, fmt.Sprintf("container %s: no command in args", name))
			continue
		}
		flags, err := flagsOf(p.Args[0])
		if err != nil {
			return err
		}
		for _, a := range p.Args[1:] {
			f, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !flags[f] {
				faults = append(faults, fmt.Sprintf("container %s: argument %s: palisade %s has no flag --%s", name, a, p.Args[0], f))
			}
		}
		for v := range p.Env {
			seen[v] = append(seen[v], name)
			f := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, "PALISADE_")), "_", "-")
			if flags[f] {
				used[v] = true
			}
		}
	}
	for _, v := range sortedKeys(seen) {
		if !used[v] {
			faults = append(faults, fmt.Sprintf("variable %s (containers %s): no flag of theirs reads it", v, strings.Join(seen[v], ", ")))
		}
	}
	if len(faults) > 0 {
		return fmt.Errorf("%s", strings.Join(faults, "\n"))
	}
	return nil
}
