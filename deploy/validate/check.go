package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Object is one rendered object, decoded into its Kubernetes type.
type Object struct {
	Kind, Name string
	Obj        runtime.Object
}

var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// Build renders the kustomization in dir and decodes each object
// strictly; a kind outside the expected groups fails too.
func Build(fs filesys.FileSystem, dir string) ([]Object, error) {
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	var objs []Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", len(objs)+1, err)
		}
		name := ""
		if m, ok := obj.(metav1.Object); ok {
			name = m.GetName()
		}
		objs = append(objs, Object{Kind: gvk.Kind, Name: name, Obj: obj})
	}
}

// Check holds the rendered objects to what Palisade's deployment needs;
// it names every object and field at fault.
func Check(objs []Object) error {
	var errs []error
	fail := func(o Object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s: %s", o.Kind, o.Name, fmt.Sprintf(format, args...)))
	}
	names := map[string]bool{}
	var pods []labels.Set
	for _, o := range objs {
		names[o.Kind+"/"+o.Name] = true
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			pods = append(pods, v.Spec.Template.Labels)
		case *batchv1.Job:
			pods = append(pods, v.Spec.Template.Labels)
		}
	}
	selects := func(sel *metav1.LabelSelector) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() {
			return false
		}
		for _, p := range pods {
			if s.Matches(p) {
				return true
			}
		}
		return false
	}
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			s, err := metav1.LabelSelectorAsSelector(v.Spec.Selector)
			if err != nil || s.Empty() || !s.Matches(labels.Set(v.Spec.Template.Labels)) {
				fail(o, "spec.selector does not select spec.template.metadata.labels")
			}
			if v.Spec.Replicas == nil || *v.Spec.Replicas < 1 {
				fail(o, "spec.replicas: at least 1")
			}
			for _, p := range checkPod(&v.Spec.Template.Spec, names) {
				fail(o, "spec.template.spec.%s", p)
			}
		case *batchv1.Job:
			for _, p := range checkPod(&v.Spec.Template.Spec, names) {
				fail(o, "spec.template.spec.%s", p)
			}
		case *corev1.Service:
			if !selects(&metav1.LabelSelector{MatchLabels: v.Spec.Selector}) {
				fail(o, "spec.selector selects no pod")
			}
		case *policyv1.PodDisruptionBudget:
			if !selects(v.Spec.Selector) {
				fail(o, "spec.selector selects no pod")
			}
		case *networkingv1.NetworkPolicy:
			if !selects(&v.Spec.PodSelector) {
				fail(o, "spec.podSelector selects no pod")
			}
		}
	}
	return errors.Join(errs...)
}

// checkPod returns the faults of a pod template: the restricted pod
// security profile plus a read-only root filesystem, resources, probes on
// declared ports, and references to a ServiceAccount and ConfigMaps of
// the same build.
func checkPod(p *corev1.PodSpec, names map[string]bool) []string {
	var faults []string
	if p.ServiceAccountName == "" || !names["ServiceAccount/"+p.ServiceAccountName] {
		faults = append(faults, fmt.Sprintf("serviceAccountName %q: no such ServiceAccount in the build", p.ServiceAccountName))
	}
	sc := p.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		faults = append(faults, "securityContext.runAsNonRoot and a non-zero runAsUser are required")
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		faults = append(faults, "securityContext.seccompProfile.type: RuntimeDefault is required")
	}
	for i, c := range p.Containers {
		at := fmt.Sprintf("containers[%d] (%s).", i, c.Name)
		cs := c.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
			faults = append(faults, at+"securityContext.allowPrivilegeEscalation: false is required")
		}
		if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
			faults = append(faults, at+"securityContext.readOnlyRootFilesystem: true is required")
		}
		if cs == nil || cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
			faults = append(faults, at+"securityContext.capabilities.drop: [ALL] is required")
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				faults = append(faults, at+"resources.requests."+string(r)+" is required")
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				faults = append(faults, at+"resources.limits."+string(r)+" is required")
			}
		}
		ports := map[int32]bool{}
		for _, pt := range c.Ports {
			ports[pt.ContainerPort] = true
		}
		for name, pr := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
			if pr != nil && pr.GRPC != nil && !ports[pr.GRPC.Port] {
				faults = append(faults, fmt.Sprintf("%s%s.grpc.port %d is not a port of the container", at, name, pr.GRPC.Port))
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil && !names["ConfigMap/"+e.ConfigMapRef.Name] {
				faults = append(faults, at+"envFrom: no ConfigMap "+e.ConfigMapRef.Name+" in the build")
			}
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = true
		}
		for _, v := range p.Volumes {
			if !mounts[v.Name] {
				faults = append(faults, at+"volume "+v.Name+" is not mounted")
			}
		}
	}
	return faults
}

// Part is how the manifests start one part: its arguments and the
// environment from its ConfigMaps and literal variables.
type Part struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
}

// Launch returns the Part of each container of the build's Deployments
// and Jobs, keyed by the container's name.
func Launch(objs []Object) (map[string]Part, error) {
	configs := map[string]map[string]string{}
	for _, o := range objs {
		if cm, ok := o.Obj.(*corev1.ConfigMap); ok {
			configs[cm.Name] = cm.Data
		}
	}
	parts := map[string]Part{}
	add := func(p *corev1.PodSpec) error {
		for _, c := range p.Containers {
			part := Part{Args: c.Args, Env: map[string]string{}}
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef == nil {
					continue
				}
				data, ok := configs[e.ConfigMapRef.Name]
				if !ok {
					return fmt.Errorf("container %s: no ConfigMap %s", c.Name, e.ConfigMapRef.Name)
				}
				for k, v := range data {
					part.Env[k] = v
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil && strings.HasPrefix(e.Name, "PALISADE_") {
					part.Env[e.Name] = e.Value
				}
			}
			parts[c.Name] = part
		}
		return nil
	}
	for _, o := range objs {
		var err error
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			err = add(&v.Spec.Template.Spec)
		case *batchv1.Job:
			err = add(&v.Spec.Template.Spec)
		}
		if err != nil {
			return nil, err
		}
	}
	return parts, nil
}
