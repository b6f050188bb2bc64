package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"
)

// The manifests that run sweeps across machines (deploy/) are checked
// here: the Kubernetes Job parses and is an Indexed Job of SHARDS pods on
// a shared volume, and both wrappers (the Job's shell, the Slurm array
// script) pass the shard index to megasim sweep and turn its exit 1
// (failing seeds) into success.

const (
	k8sJob     = "../../deploy/k8s/megasim-sweep-job.yaml"
	slurmArray = "../../deploy/slurm/megasim-sweep.sbatch"
)

type k8sContainer struct {
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		AccessModes    []string `yaml:"accessModes"`
		CompletionMode string   `yaml:"completionMode"`
		Completions    *int     `yaml:"completions"`
		Parallelism    *int     `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string         `yaml:"restartPolicy"`
				Containers    []k8sContainer `yaml:"containers"`
				Volumes       []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func (c k8sContainer) env(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// stubMegasim is a megasim that writes its arguments to ARGS_FILE and
// exits with STUB_EXIT.
func stubMegasim(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "megasim")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\nexit \"${STUB_EXIT:-0}\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runWrapper runs a wrapper with the stub megasim and returns the stub's
// arguments, one per line, and the wrapper's exit status.
func runWrapper(t *testing.T, cmd *exec.Cmd, argsFile string, stubExit int) (string, int) {
	t.Helper()
	cmd.Env = append(cmd.Env, "ARGS_FILE="+argsFile, fmt.Sprintf("STUB_EXIT=%d", stubExit))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		code = exit.ExitCode()
	}
	raw, _ := os.ReadFile(argsFile)
	return string(raw), code
}

func TestKubernetesSweepJob(t *testing.T) {
	f, err := os.Open(k8sJob)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var job, pvc *k8sObject
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", k8sJob, err)
		}
		switch o.Kind {
		case "Job":
			job = &o
		case "PersistentVolumeClaim":
			pvc = &o
		case "":
		default:
			t.Errorf("unexpected %s", o.Kind)
		}
	}
	if job == nil || pvc == nil {
		t.Fatalf("want a Job and a PersistentVolumeClaim in %s", k8sJob)
	}
	if job.APIVersion != "batch/v1" || job.Spec.CompletionMode != "Indexed" || job.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("not an Indexed batch/v1 Job that never restarts its pods in place: %+v", job.Spec)
	}
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	shards := c.env("SHARDS")
	if job.Spec.Completions == nil || job.Spec.Parallelism == nil || fmt.Sprint(*job.Spec.Completions) != shards || *job.Spec.Parallelism > *job.Spec.Completions {
		t.Errorf("completions %v, parallelism %v: want completions = SHARDS = %s", job.Spec.Completions, job.Spec.Parallelism, shards)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim.ClaimName != pvc.Metadata.Name ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != pod.Volumes[0].Name || c.VolumeMounts[0].MountPath != "/results" {
		t.Errorf("the results volume is not the claim %q mounted at /results", pvc.Metadata.Name)
	}
	if len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != "ReadWriteMany" {
		t.Errorf("the claim is %v, not ReadWriteMany", pvc.Spec.AccessModes)
	}
	if c.Image == "" || len(c.Command) != 2 || c.Command[0] != "/bin/sh" || len(c.Args) != 1 {
		t.Fatalf("container: %+v", c)
	}

	// The merge Job sketched in the comments parses too, once uncommented,
	// and merges the sweep's directory on the same claim.
	raw, err := os.ReadFile(k8sJob)
	if err != nil {
		t.Fatal(err)
	}
	var sketch []string
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		in = in || line == "#   apiVersion: batch/v1"
		if in && strings.HasPrefix(line, "#   kubectl") {
			break
		}
		if in {
			sketch = append(sketch, strings.TrimPrefix(line, "#   "))
		}
	}
	var mergeJob k8sObject
	if err := yaml.Unmarshal([]byte(strings.Join(sketch, "\n")), &mergeJob); err != nil || mergeJob.Kind != "Job" {
		t.Fatalf("the merge Job in the comments: %v\n%s", err, strings.Join(sketch, "\n"))
	}
	if mc := mergeJob.Spec.Template.Spec.Containers; len(mc) != 1 || len(mc[0].Args) < 2 || mc[0].Args[0] != "merge" ||
		mc[0].Args[1] != "/results/"+c.env("RUN") || mergeJob.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != pvc.Metadata.Name {
		t.Errorf("the merge Job does not merge /results/%s on the claim: %+v", c.env("RUN"), mergeJob.Spec.Template.Spec)
	}

	// Run the container's script as pod 2 would, with a stub megasim.
	dir := t.TempDir()
	stubMegasim(t, dir)
	script := strings.ReplaceAll(c.Args[0], "/results/", filepath.Join(dir, "results")+"/")
	for _, stubExit := range []int{0, 1, 2} {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "JOB_COMPLETION_INDEX=2"}
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		args, code := runWrapper(t, cmd, filepath.Join(dir, "args"), stubExit)
		want := fmt.Sprintf("sweep\n--seeds\n%s\n--from\n%s\n--profile\n%s\n--shard\n2/%s\n--jobs\n%s\n--out\n%s\n--traces\n%s/traces\n",
			c.env("SEEDS"), c.env("FROM"), c.env("PROFILE"), shards, c.env("JOBS"),
			filepath.Join(dir, "results", c.env("RUN"), "shard-2"), filepath.Join(dir, "results", c.env("RUN"), "shard-2"))
		if args != want {
			t.Errorf("megasim ran with\n%s\nwant\n%s", args, want)
		}
		if wantCode := map[int]int{0: 0, 1: 0, 2: 2}[stubExit]; code != wantCode {
			t.Errorf("megasim exit %d: the pod exits %d, want %d", stubExit, code, wantCode)
		}
	}
}

func TestSlurmSweepArray(t *testing.T) {
	raw, err := os.ReadFile(slurmArray)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=0-", "$SLURM_ARRAY_TASK_ID/$SHARDS", "--dependency=afterany:", "megasim merge"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("%s lacks %q", slurmArray, want)
		}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if out, err := exec.Command("bash", "-n", slurmArray).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	dir := t.TempDir()
	stub := stubMegasim(t, dir)
	env := func(task, max string, extra ...string) []string {
		return append([]string{"PATH=/usr/bin:/bin", "MEGASIM=" + stub, "SLURM_SUBMIT_DIR=" + dir, "SLURM_ARRAY_JOB_ID=77",
			"SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=" + max, "SLURM_ARRAY_TASK_ID=" + task,
			"SLURM_CPUS_PER_TASK=8", "SEEDS=1000"}, extra...)
	}
	for _, stubExit := range []int{0, 1, 2} {
		cmd := exec.Command("bash", slurmArray)
		cmd.Env = env("3", "3", "TIME_BUDGET=2h")
		args, code := runWrapper(t, cmd, filepath.Join(dir, "args"), stubExit)
		shard := filepath.Join(dir, "out/sweeps/77/shard-3")
		want := "sweep\n--seeds\n1000\n--from\n1\n--profile\nchain\n--shard\n3/4\n--jobs\n8\n--out\n" + shard + "\n--traces\n" + shard + "/traces\n--time-budget\n2h\n"
		if args != want {
			t.Errorf("megasim ran with\n%s\nwant\n%s", args, want)
		}
		if wantCode := map[int]int{0: 0, 1: 0, 2: 2}[stubExit]; code != wantCode {
			t.Errorf("megasim exit %d: the task exits %d, want %d", stubExit, code, wantCode)
		}
	}
	// An array that does not span 0..SHARDS-1 is refused.
	cmd := exec.Command("bash", slurmArray)
	cmd.Env = env("1", "2")
	os.Remove(filepath.Join(dir, "args"))
	if args, code := runWrapper(t, cmd, filepath.Join(dir, "args"), 0); code != 2 || args != "" {
		t.Errorf("array 0-2 of 4 shards: exit %d, megasim ran with %q", code, args)
	}
}
