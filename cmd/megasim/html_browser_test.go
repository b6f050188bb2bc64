package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds a Chromium (or Chrome) on PATH, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found: install it (apt-get install chromium) to run the browser test")
	return ""
}

// dumpDOM loads a file in headless Chromium and returns the DOM it built.
func dumpDOM(t *testing.T, bin, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+abs)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v (timeout 30s: %v)\n%s", bin, err, ctx.Err(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "</html>") {
		t.Fatalf("%s dumped no document:\n%.2000s\n%s", bin, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestExplainPageInABrowser(t *testing.T) {
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "explain.html")
	if code, err := cmdExplain([]string{failingTrace(t), "--html", page}, io.Discard, io.Discard); err != nil || code != 0 {
		t.Fatalf("explain: code %d, err %v", code, err)
	}
	dom := dumpDOM(t, bin, page)
	for _, want := range []string{
		`<h1 class="viol">P1 linearizability</h1>`,
		"<svg",
		"no linearization of",
		"<iframe",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	// The browser kept every lane of the timeline.
	if !regexp.MustCompile(`<text[^>]*>primary</text>`).MatchString(dom) {
		t.Errorf("no primary lane in the DOM's SVG")
	}
}

func TestSweepReportInABrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report")
	code, err := cmdSweep([]string{"--seeds", "6", "--profile", "register-lying-disk", "--jobs", "2",
		"--traces", filepath.Join(dir, "traces"), "--report", report}, io.Discard, io.Discard)
	if err != nil || code > 1 {
		t.Fatalf("sweep: code %d, err %v", code, err)
	}
	dom := dumpDOM(t, bin, filepath.Join(report, "index.html"))
	table := regexp.MustCompile(`(?s)<table id="marks".*?</table>`).FindString(dom)
	if table == "" {
		t.Fatalf("no coverage marks table in the DOM:\n%.3000s", dom)
	}
	if !strings.Contains(table, "sequencer/pool-full") {
		t.Errorf("the marks table lacks the marks of node/cover")
	}
	// A mark no seed reached is red; or every mark was reached.
	unreached := regexp.MustCompile(`<tr class="unreached" style="color:\s*(#c00|rgb\(204, 0, 0\))`).MatchString(table)
	allReached := regexp.MustCompile(`(\d+) of (\d+) marks reached`).FindStringSubmatch(dom)
	if !unreached && (allReached == nil || allReached[1] != allReached[2]) {
		t.Errorf("no unreached mark in red, and not every mark reached:\n%s", table)
	}
	for _, want := range []string{"Outcomes per seed", "<title>seed 1: ", "Faults planned, by kind", "Catch-up after the heal"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(report, "index.html")); err != nil {
		t.Fatal(err)
	}
}
