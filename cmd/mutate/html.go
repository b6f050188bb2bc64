package main

import (
	"html/template"
	"io"
	"strings"
	"time"
)

// Report is a run: its parameters and every mutant's result. It is
// written as JSON beside the HTML page, so that the page can be rendered
// again (--render) once triage.txt changes.
type Report struct {
	Commit     string         `json:"commit"`
	Packages   []string       `json:"packages"`
	PerPackage int            `json:"per_package"`
	Seed       uint64         `json:"seed"`
	Seeds      int            `json:"seeds"`
	Profile    string         `json:"profile"`
	SweepAll   bool           `json:"sweep_all,omitempty"`
	Started    time.Time      `json:"started"`
	Wall       time.Duration  `json:"wall"`
	Baseline   time.Duration  `json:"baseline_sweep"`
	Pool       map[string]int `json:"pool"` // mutants generated per package
	Results    []*Result      `json:"results"`
}

type htmlMutant struct {
	*Result
	ID      string
	Note    string
	Summary string
}

type htmlPackage struct {
	Name  string
	Pool  int
	Score Score
}

var page = template.Must(template.New("mutate").Funcs(template.FuncMap{
	"pct":  func(s Score) string { return strings.SplitN(s.String(), " ", 2)[0] },
	"secs": func(d time.Duration) string { return d.Round(time.Second).String() },
	"diffLines": func(d string) []template.HTML {
		var out []template.HTML
		for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			cls := ""
			switch {
			case strings.HasPrefix(l, "+++") || strings.HasPrefix(l, "---"):
				cls = "hdr"
			case strings.HasPrefix(l, "+"):
				cls = "add"
			case strings.HasPrefix(l, "-"):
				cls = "del"
			case strings.HasPrefix(l, "@@"):
				cls = "hunk"
			}
			out = append(out, template.HTML(`<span class="`+cls+`">`+template.HTMLEscapeString(l)+"</span>"))
		}
		return out
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mutation score</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:1200px;color:#111}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#f8f8f8;padding:8px;overflow-x:auto;margin:4px 0}
.tests{color:#15803d}.sweep{color:#1d4ed8}.survived{color:#b91c1c;font-weight:600}.invalid{color:#6b7280}
.add{color:#15803d}.del{color:#b91c1c}.hunk{color:#7c3aed}.hdr{color:#6b7280}
.note{background:#fefce8;border-left:3px solid #ca8a04;padding:4px 8px}.untriaged{background:#fef2f2;border-left:3px solid #dc2626;padding:4px 8px}
.survivor{border:1px solid #e5e7eb;padding:8px 12px;margin:12px 0}
</style></head><body>
<h1>Mutation score</h1>
<p>Commit <code>{{.R.Commit}}</code>, {{.R.Started.Format "2006-01-02 15:04 MST"}}, {{secs .R.Wall}} in all.
Sample: {{.R.PerPackage}} valid mutants per package (seed {{.R.Seed}}); each run against its package's tests
(<code>go test -short</code>) and then a sweep of {{.R.Seeds}} seeds of the <code>{{.R.Profile}}</code> profile
(the unmutated sweep took {{secs .R.Baseline}}).</p>
<p><b>mutation score: {{.Total}}</b></p>
{{if .R.SweepAll}}<p>The sweep alone (run on every valid mutant, <code>--sweep-all</code>): {{.SweepAlone}}</p>{{end}}
<table><tr><th>package</th><th>mutants generated</th><th>score</th><th>by tests</th><th>by sweep</th><th>survived</th><th>invalid</th></tr>
{{range .Pkgs}}<tr><td><code>{{.Name}}</code></td><td>{{.Pool}}</td><td>{{pct .Score}}</td><td>{{.Score.Tests}}</td><td>{{.Score.Sweep}}</td><td>{{.Score.Survived}}</td><td>{{.Score.Invalid}}</td></tr>
{{end}}</table>
<h2>Survivors ({{len .Survivors}})</h2>
{{if not .Survivors}}<p>None.</p>{{end}}
{{range .Survivors}}<div class="survivor"><b><code>{{.ID}}</code></b> ({{.Desc}})
{{if .Note}}<div class="note">triage: {{.Note}}</div>{{else}}<div class="untriaged">not triaged: add a line "{{.File}}:{{.Line}} {{.Op}}: …" to cmd/mutate/triage.txt</div>{{end}}
<pre>{{range diffLines .Diff}}{{.}}
{{end}}</pre></div>
{{end}}
<h2>Every mutant ({{len .All}})</h2>
<table><tr><th>mutant</th><th>change</th><th>outcome</th><th>time</th></tr>
{{range .All}}<tr><td><code>{{.ID}}</code></td><td>{{.Desc}}</td><td><span class="{{.Outcome}}">{{.Summary}}</span>{{if .Note}}<div class="note">{{.Note}}</div>{{end}}
<details><summary>diff</summary><pre>{{range diffLines .Diff}}{{.}}
{{end}}</pre></details></td><td>{{secs .Took}}</td></tr>
{{end}}</table>
<p>Caught by tests: the package's own <code>go test -short</code> failed. Caught by sweep: the tests passed and
<code>megasim sweep</code> failed (the first failing seed's property is named); a run past its time limit counts as
caught. Invalid: the mutant does not compile; it is not in the score.</p>
</body></html>
`))

// WriteHTML writes the run's page, with the triage notes.
func WriteHTML(w io.Writer, r *Report, notes map[TriageKey]string) error {
	total, names, per := Scores(r.Results)
	data := struct {
		R          *Report
		Total      string
		SweepAlone string
		Pkgs       []htmlPackage
		Survivors  []htmlMutant
		All        []htmlMutant
	}{R: r, Total: total.String(), SweepAlone: total.SweepAlone()}
	for _, n := range names {
		data.Pkgs = append(data.Pkgs, htmlPackage{n, r.Pool[n], *per[n]})
	}
	for _, res := range r.Results {
		hm := htmlMutant{Result: res, ID: res.ID(), Note: notes[res.Key()], Summary: res.Summary()}
		data.All = append(data.All, hm)
		if res.Outcome == Survived {
			data.Survivors = append(data.Survivors, hm)
		}
	}
	return page.Execute(w, data)
}
