// Package manifest loads Catalyst's Kubernetes manifests (Brokers, Triggers, Sequences,
// Knative Services and ConfigMaps) from YAML files, the way `kubectl apply -f` reads
// them, into one Set the broker runtime runs and the tests validate.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

// DefaultNamespace is the namespace given to objects that name none, as
// `kubectl apply -n catalyst` would.
const DefaultNamespace = "catalyst"

// Object kinds, by apiVersion and kind.
const (
	EventingV1 = "eventing.knative.dev/v1"
	FlowsV1    = "flows.knative.dev/v1"
	ServingV1  = "serving.knative.dev/v1"
	CoreV1     = "v1"
)

// Key names an object within its kind.
type Key struct{ Namespace, Name string }

func (k Key) String() string { return k.Namespace + "/" + k.Name }

// Set is every object loaded, by kind and key. A later file's object replaces an
// earlier one with the same kind and key, as a second `kubectl apply` would.
type Set struct {
	Brokers    map[Key]*eventing.Broker
	Triggers   map[Key]*eventing.Trigger
	Sequences  map[Key]*eventing.Sequence
	Services   map[Key]*Service
	ConfigMaps map[Key]*ConfigMap
	// Sources maps "Kind/namespace/name" to the file the object came from, for errors.
	Sources map[string]string
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{
		Brokers:    map[Key]*eventing.Broker{},
		Triggers:   map[Key]*eventing.Trigger{},
		Sequences:  map[Key]*eventing.Sequence{},
		Services:   map[Key]*Service{},
		ConfigMaps: map[Key]*ConfigMap{},
		Sources:    map[string]string{},
	}
}

// Load reads every path in order: a file is read whole; a directory's *.yaml and *.yml
// files are read in name order, not recursing (like kubectl without -R). A missing
// path, a malformed document or an unsupported kind is an error naming file and
// document.
func Load(paths ...string) (*Set, error) {
	s := NewSet()
	for _, p := range paths {
		files, err := yamlFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := s.loadFile(f); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func yamlFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func (s *Set) loadFile(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("manifests: %w", err)
	}
	return s.LoadYAML(file, raw)
}

// LoadYAML adds every document of a multi-document YAML stream; name is used in errors.
func (s *Set) LoadYAML(name string, raw []byte) error {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || isOnlyComments(doc) {
			continue
		}
		if err := s.addDocument(name, doc); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
	}
}

func isOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

func (s *Set) addDocument(file string, doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	source := ""
	switch tm.APIVersion + "/" + tm.Kind {
	case EventingV1 + "/Broker":
		var b eventing.Broker
		if err := decode(doc, &b, &b.ObjectMeta); err != nil {
			return err
		}
		s.Brokers[keyOf(b.ObjectMeta)] = &b
		source = "Broker/" + keyOf(b.ObjectMeta).String()
	case EventingV1 + "/Trigger":
		var t eventing.Trigger
		if err := decode(doc, &t, &t.ObjectMeta); err != nil {
			return err
		}
		s.Triggers[keyOf(t.ObjectMeta)] = &t
		source = "Trigger/" + keyOf(t.ObjectMeta).String()
	case FlowsV1 + "/Sequence":
		var q eventing.Sequence
		if err := decode(doc, &q, &q.ObjectMeta); err != nil {
			return err
		}
		s.Sequences[keyOf(q.ObjectMeta)] = &q
		source = "Sequence/" + keyOf(q.ObjectMeta).String()
	case ServingV1 + "/Service":
		var svc Service
		if err := decode(doc, &svc, &svc.ObjectMeta); err != nil {
			return err
		}
		s.Services[keyOf(svc.ObjectMeta)] = &svc
		source = "Service/" + keyOf(svc.ObjectMeta).String()
	case CoreV1 + "/Namespace":
		// Applied by kubectl so the namespace exists; nothing for the runtime to run.
		return nil
	case CoreV1 + "/ConfigMap":
		var cm ConfigMap
		if err := decode(doc, &cm, &cm.ObjectMeta); err != nil {
			return err
		}
		s.ConfigMaps[keyOf(cm.ObjectMeta)] = &cm
		source = "ConfigMap/" + keyOf(cm.ObjectMeta).String()
	default:
		return fmt.Errorf("unsupported kind %q of apiVersion %q (want Broker, Trigger, Sequence, Service, ConfigMap or Namespace)", tm.Kind, tm.APIVersion)
	}
	s.Sources[source] = file
	return nil
}

// decode unmarshals strictly (unknown fields are errors, catching typos such as
// "filter.atributes") and defaults the namespace.
func decode(doc []byte, into any, meta *metav1.ObjectMeta) error {
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		return err
	}
	if meta.Namespace == "" {
		meta.Namespace = DefaultNamespace
	}
	if meta.Name == "" {
		return fmt.Errorf("metadata.name: missing")
	}
	return nil
}

func keyOf(m metav1.ObjectMeta) Key { return Key{Namespace: m.Namespace, Name: m.Name} }
