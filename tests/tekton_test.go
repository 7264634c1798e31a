package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// tektonObject is the part of a Tekton Task or Pipeline these checks read.
type tektonObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Params     []struct{ Name string } `json:"params"`
		Workspaces []struct{ Name string } `json:"workspaces"`
		Results    []struct{ Name string } `json:"results"`
		Tasks      []struct {
			Name    string `json:"name"`
			TaskRef struct {
				Name     string `json:"name"`
				Resolver string `json:"resolver"`
			} `json:"taskRef"`
			Params     []struct{ Name, Value string }     `json:"params"`
			Workspaces []struct{ Name, Workspace string } `json:"workspaces"`
			RunAfter   []string                           `json:"runAfter"`
		} `json:"tasks"`
	} `json:"spec"`
}

var taskResultRef = regexp.MustCompile(`\$\(tasks\.([a-z0-9-]+)\.results\.([a-z0-9-]+)\)`)
var paramRef = regexp.MustCompile(`\$\(params\.([a-z0-9-]+)\)`)

// The pipeline in tekton/ is consistent: every task it runs is defined (or resolved
// from the hub), gets every parameter and workspace it declares, and refers only to
// declared pipeline parameters, earlier tasks and their declared results.
func TestTektonPipelineIsConsistent(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot, "tekton", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tekton files: %v", err)
	}
	tasks := map[string]tektonObject{}
	var pipelines []tektonObject
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var o tektonObject
		// Steps and sidecars carry fields this struct does not model: decode leniently.
		if err := yaml.Unmarshal(raw, &o); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if o.APIVersion != "tekton.dev/v1" {
			t.Errorf("%s: apiVersion %q, want tekton.dev/v1", f, o.APIVersion)
		}
		switch o.Kind {
		case "Task":
			tasks[o.Metadata.Name] = o
		case "Pipeline":
			pipelines = append(pipelines, o)
		default:
			t.Errorf("%s: unexpected kind %q", f, o.Kind)
		}
	}
	if len(pipelines) != 1 {
		t.Fatalf("want one Pipeline, have %d", len(pipelines))
	}
	p := pipelines[0]
	declared := func(list []struct{ Name string }) map[string]bool {
		m := map[string]bool{}
		for _, x := range list {
			m[x.Name] = true
		}
		return m
	}
	pipelineParams, pipelineWorkspaces := declared(p.Spec.Params), declared(p.Spec.Workspaces)
	seen := map[string]bool{}
	for _, pt := range p.Spec.Tasks {
		for _, after := range pt.RunAfter {
			if !seen[after] {
				t.Errorf("task %s runs after %s, which is not an earlier task", pt.Name, after)
			}
		}
		for _, ws := range pt.Workspaces {
			if !pipelineWorkspaces[ws.Workspace] {
				t.Errorf("task %s binds undeclared workspace %s", pt.Name, ws.Workspace)
			}
		}
		for _, param := range pt.Params {
			for _, m := range paramRef.FindAllStringSubmatch(param.Value, -1) {
				if !pipelineParams[m[1]] {
					t.Errorf("task %s uses undeclared pipeline param %s", pt.Name, m[1])
				}
			}
			for _, m := range taskResultRef.FindAllStringSubmatch(param.Value, -1) {
				producer, ok := tasks[taskRefName(p, m[1])]
				if !seen[m[1]] || !ok || !declared(producer.Spec.Results)[m[2]] {
					t.Errorf("task %s uses result %s of %s, not an earlier task's declared result", pt.Name, m[2], m[1])
				}
			}
		}
		seen[pt.Name] = true
		if pt.TaskRef.Resolver != "" {
			continue
		}
		task, ok := tasks[pt.TaskRef.Name]
		if !ok {
			t.Errorf("task %s refers to Task %q, not defined in tekton/", pt.Name, pt.TaskRef.Name)
			continue
		}
		given := map[string]bool{}
		for _, param := range pt.Params {
			given[param.Name] = true
		}
		for name := range declared(task.Spec.Params) {
			if !given[name] {
				t.Errorf("task %s does not give Task %s its param %s", pt.Name, task.Metadata.Name, name)
			}
		}
		bound := map[string]bool{}
		for _, ws := range pt.Workspaces {
			bound[ws.Name] = true
		}
		for name := range declared(task.Spec.Workspaces) {
			if !bound[name] {
				t.Errorf("task %s does not bind Task %s's workspace %s", pt.Name, task.Metadata.Name, name)
			}
		}
	}
	// The test task runs the README's test command.
	raw, _ := os.ReadFile(filepath.Join(repoRoot, "tekton", "task-test.yaml"))
	if !strings.Contains(string(raw), "make test") {
		t.Error("tekton/task-test.yaml does not run make test")
	}
}

func taskRefName(p tektonObject, pipelineTask string) string {
	for _, pt := range p.Spec.Tasks {
		if pt.Name == pipelineTask {
			return pt.TaskRef.Name
		}
	}
	return ""
}
