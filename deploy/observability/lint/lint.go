// Package lint checks Palisade's alert rules and Grafana dashboard
// offline, with Prometheus' own rule and PromQL parsers and Grafana's
// dashboard schema (github.com/grafana/grafana-foundation-sdk, Apache-2.0):
// every expression parses, every key is one Grafana knows, every alert says how bad it is and what to do, and every metric
// they read is one Palisade exports (../metrics.txt, which the main
// module's tests keep current).
//
// It is a module of its own so that the main module does not carry
// github.com/prometheus/prometheus.
package lint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Known reads the metric list: one name a line, # comments.
func Known(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		known[line] = true
	}
	return known, sc.Err()
}

var promql = parser.NewParser(parser.Options{})

// checkNames parses expr and reports every metric it selects that is
// neither a known metric (or a histogram's _bucket, _sum or _count of
// one) nor one of recorded.
func checkNames(expr string, known, recorded map[string]bool) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var unknown []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			unknown = append(unknown, vs.String()+" (no metric name)")
			return nil
		}
		if recorded[name] || known[name] {
			return nil
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && known[base] && !strings.HasSuffix(base, "_total") {
				return nil
			}
		}
		unknown = append(unknown, name)
		return nil
	})
	return unknown, nil
}

// prometheusRule is the part of a PrometheusRule the lint reads; its spec
// is a Prometheus rule file.
type prometheusRule struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   json.RawMessage `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
}

// Rules checks the PrometheusRule at path and returns every problem.
func Rules(path string, known map[string]bool) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(b, &pr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []string
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		problems = append(problems, fmt.Sprintf("%s/%s: want monitoring.coreos.com/v1 PrometheusRule", pr.APIVersion, pr.Kind))
	}
	spec, err := yaml.JSONToYAML(pr.Spec)
	if err != nil {
		return nil, err
	}
	groups, errs := rulefmt.Parse(spec, false, model.UTF8Validation, promql, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	if groups == nil {
		return problems, nil
	}
	recorded := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			unknown, err := checkNames(r.Expr, known, recorded)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			}
			for _, u := range unknown {
				problems = append(problems, fmt.Sprintf("%s: reads %s, which Palisade does not export", name, u))
			}
			if r.Alert == "" {
				continue
			}
			problems = append(problems, alertProblems(r)...)
		}
	}
	return problems, nil
}

var severities = map[string]bool{"critical": true, "warning": true, "info": true}

// alertProblems: an alert says how bad it is, what happened, and where
// the steps to take are.
func alertProblems(r rulefmt.Rule) []string {
	var p []string
	if !severities[r.Labels["severity"]] {
		p = append(p, fmt.Sprintf("%s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"]))
	}
	for _, a := range []string{"summary", "description", "runbook_url"} {
		if r.Annotations[a] == "" {
			p = append(p, fmt.Sprintf("%s: no %s annotation", r.Alert, a))
		}
	}
	return p
}

// dashboard is the part of a Grafana dashboard (classic JSON model) the
// lint reads.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		GridPos *struct {
			X, Y, W, H int
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

var registerPlugins sync.Once

// grafanaVariable matches $name, ${name} and $__name.
var grafanaVariable = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)

// Dashboard checks the dashboard at path and returns every problem.
func Dashboard(path string, known map[string]bool) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []string
	// Grafana's own schema (the foundation SDK's types) refuses unknown
	// and misspelt keys and missing required ones.
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	var strict grafana.Dashboard
	if err := strict.UnmarshalJSONStrict(b); err != nil {
		// It returns an empty BuildErrors, not nil, when all is well.
		if be, ok := err.(cog.BuildErrors); !ok || len(be) > 0 {
			problems = append(problems, "Grafana's schema: "+err.Error())
		}
	}
	if d.UID == "" || d.Title == "" {
		problems = append(problems, "the dashboard needs a uid and a title")
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			problems = append(problems, fmt.Sprintf("panel %q: id %d used twice", p.Title, p.ID))
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			problems = append(problems, fmt.Sprintf("panel %q: gridPos missing or outside the 24 columns", p.Title))
		}
		if len(p.Targets) == 0 {
			problems = append(problems, fmt.Sprintf("panel %q: no query", p.Title))
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			if refs[t.RefID] || t.RefID == "" {
				problems = append(problems, fmt.Sprintf("panel %q: refId %q missing or used twice", p.Title, t.RefID))
			}
			refs[t.RefID] = true
			// Grafana fills its variables in before Prometheus sees the query.
			expr := grafanaVariable.ReplaceAllString(t.Expr, "5m")
			unknown, err := checkNames(expr, known, nil)
			if err != nil {
				problems = append(problems, fmt.Sprintf("panel %q, query %s: %v", p.Title, t.RefID, err))
			}
			for _, u := range unknown {
				problems = append(problems, fmt.Sprintf("panel %q, query %s: reads %s, which Palisade does not export", p.Title, t.RefID, u))
			}
		}
	}
	return problems, nil
}
