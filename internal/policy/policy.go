// Package policy decides who may change which firewall, and what no one
// may open, with one Cedar policy: authorization and guardrails in one
// language, as data. A call becomes one Cedar request per rule it adds or
// removes (or per rule id it revokes, or one for a call that names no
// rule), and it is allowed only if every one of them is: so a guardrail can
// refuse the one rule of a request that opens 22 to the world and name it.
//
// Policies are validated against the schema Palisade ships
// (deploy/policy/palisade.cedarschema) when they are loaded, and every
// request against it before evaluation. A policy whose evaluation errors
// counts as a deny here: Cedar skips such a policy, and a forbid skipped
// for a missing attribute would otherwise allow what it exists to refuse.
package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/palisadehq/palisade/deploy"
)

// Files of a policy directory besides its .cedar policies.
const (
	// EntitiesFile places callers in teams (Cedar's entity JSON).
	EntitiesFile = "entities.json"
	schemaFile   = "policy/palisade.cedarschema"
	defaultFile  = "policy/default.cedar"
)

// Set is one loaded, validated policy with the entities that go with it.
type Set struct {
	// The policy, split in two: statements that read the context (the
	// rule) are evaluated once per part of a call; the others answer the
	// same for every part and are evaluated once per call.
	perPart, perCall *cedar.PolicySet
	entities         cedar.EntityMap
	validator        *validate.Validator
	// version fingerprints what was loaded, for the audit trail.
	version string
	// source says where it came from ("default", or the path).
	source string
	// usesTags: some policy reads resource tags, so existing groups'
	// tags must be read from EC2 before a decision.
	usesTags bool
}

// Version fingerprints the policy text and entities (sha256, hex).
func (s *Set) Version() string { return s.version }

// Source says where the policy was loaded from.
func (s *Set) Source() string { return s.source }

// UsesTags reports whether a policy looks at a group's tags, so callers
// know to read an existing group's tags before asking.
func (s *Set) UsesTags() bool { return s.usesTags }

// Default is the policy Palisade ships (deploy/policy/default.cedar): any
// caller may change groups, within the guardrails.
func Default() (*Set, error) {
	doc, err := deploy.Policy.ReadFile(defaultFile)
	if err != nil {
		return nil, err
	}
	return build("default", []file{{name: "default.cedar", body: doc}}, nil)
}

// Load reads the policy at path: a .cedar file, or a directory of them
// (read in name order) with an optional entities.json. It refuses a policy
// that does not parse or validate against the schema.
func Load(path string) (*Set, error) {
	files, entities, err := read(path)
	if err != nil {
		return nil, err
	}
	return build(path, files, entities)
}

type file struct {
	name string
	body []byte
}

func read(path string) ([]file, []byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	if !info.IsDir() {
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("policy: %w", err)
		}
		return []file{{name: filepath.Base(path), body: body}}, nil, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	var files []file
	var entities []byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".cedar"):
			body, err := os.ReadFile(filepath.Join(path, name))
			if err != nil {
				return nil, nil, fmt.Errorf("policy: %w", err)
			}
			files = append(files, file{name: name, body: body})
		case name == EntitiesFile:
			if entities, err = os.ReadFile(filepath.Join(path, name)); err != nil {
				return nil, nil, fmt.Errorf("policy: %w", err)
			}
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("policy: %s holds no .cedar file", path)
	}
	return files, entities, nil
}

// schemaValidator parses the shipped schema once per load.
func schemaValidator() (*validate.Validator, error) {
	doc, err := fs.ReadFile(deploy.Policy, schemaFile)
	if err != nil {
		return nil, err
	}
	var s schema.Schema
	s.SetFilename("palisade.cedarschema")
	if err := s.UnmarshalCedar(doc); err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	rs, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	return validate.New(rs, validate.WithStrict()), nil
}

func build(source string, files []file, entitiesJSON []byte) (*Set, error) {
	v, err := schemaValidator()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	perPart, perCall := cedar.NewPolicySet(), cedar.NewPolicySet()
	ids := map[cedar.PolicyID]bool{}
	var errs []error
	usesTags := false
	for _, f := range files {
		h.Write([]byte(f.name + "\x00"))
		h.Write(f.body)
		list, err := cedar.NewPolicyListFromBytes(f.name, f.body)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, p := range list {
			id := cedar.PolicyID(fmt.Sprintf("%s#%d", f.name, i))
			if v, ok := p.Annotations()["id"]; ok && v != "" {
				id = cedar.PolicyID(v)
			}
			if err := v.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
				errs = append(errs, fmt.Errorf("%s: policy %q does not validate against the schema: %w", f.name, id, err))
				continue
			}
			if ids[id] {
				errs = append(errs, fmt.Errorf("%s: policy id %q is used twice", f.name, id))
				continue
			}
			ids[id] = true
			// A statement whose text never names the context cannot read
			// it (a string that merely contains the word only costs a
			// little speed).
			if bytes.Contains(p.MarshalCedar(), []byte("context")) {
				perPart.Add(id, p)
			} else {
				perCall.Add(id, p)
			}
		}
		if strings.Contains(string(f.body), "hasTag(") || strings.Contains(string(f.body), "getTag(") {
			usesTags = true
		}
	}
	entities := cedar.EntityMap{}
	if len(entitiesJSON) > 0 {
		h.Write([]byte(EntitiesFile + "\x00"))
		h.Write(entitiesJSON)
		if err := entities.UnmarshalJSON(entitiesJSON); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EntitiesFile, err))
		}
		for uid := range entities {
			if uid.Type != callerType && uid.Type != teamType {
				errs = append(errs, fmt.Errorf("%s: entity %s: only %s and %s entities belong there", EntitiesFile, uid, callerType, teamType))
			}
		}
	}
	if len(ids) == 0 && len(errs) == 0 {
		// Cedar would deny everything; far likelier a file cut short than
		// the intent.
		errs = append(errs, errors.New("it holds no statement"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("policy %s refused: %w", source, err)
	}
	return &Set{
		perPart: perPart, perCall: perCall, entities: entities, validator: v, source: source, usesTags: usesTags,
		version: hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// sortedIDs returns the policy ids of reasons, sorted and without repeats.
func sortedIDs[T any](items []T, id func(T) cedar.PolicyID) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, string(id(it)))
	}
	slices.SortFunc(out, cmp.Compare)
	return slices.Compact(out)
}
