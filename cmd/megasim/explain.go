package main

import (
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// worldLane is the lane of the events that belong to no node: phases,
// partitions, heals, the scenario's notes.
const worldLane = "world"

// maxEmbed bounds a checker's HTML evidence embedded in an explain page.
const maxEmbed = 32 << 20

func cmdExplain(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(log)
	htmlPath := fs.String("html", "", "also write a self-contained HTML page (timeline as SVG, porcupine's visualization embedded) to `FILE`")
	nEvents := fs.Int("events", 40, "events in the timeline before the first violation")
	timers := fs.Bool("timers", false, "show timer events in the timeline")
	keep := fs.String("artifacts", "", "keep the checkers' evidence (porcupine's visualization) in `DIR` (default: a temporary directory, removed)")
	fs.Usage = func() {
		fmt.Fprintln(log, "usage: megasim explain TRACE [--html FILE] [--events N] [--timers] [--artifacts DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		return 2, nil
	}
	if fs.NArg() != 1 {
		return 2, errors.New("explain takes one trace file")
	}
	if *nEvents < 1 {
		return 2, errors.New("--events must be at least 1")
	}
	t, p, err := readPlannedTrace(fs.Arg(0))
	if err != nil {
		return 2, err
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "megasim-explain-"); err != nil {
			return 2, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return 2, err
	}
	r := sim.RunPlan(p, t.Plan, sim.Options{Keep: true, Explain: true, ArtifactDir: dir, BuildID: buildID()})
	x := newExplanation(t, r)
	x.writeText(out, *nEvents, *timers)
	if *keep != "" {
		for _, a := range r.Artifacts {
			fmt.Fprintf(out, "evidence: %s\n", a)
		}
	}
	if *htmlPath != "" {
		if err := os.MkdirAll(filepath.Dir(*htmlPath), 0o755); err != nil {
			return 2, err
		}
		if err := os.WriteFile(*htmlPath, []byte(x.html(*nEvents, *timers)), 0o644); err != nil {
			return 2, err
		}
		fmt.Fprintf(out, "html: %s\n", *htmlPath)
	}
	if !x.reproduced && len(t.Violations) > 0 {
		return 1, nil // the recorded failure is gone
	}
	return 0, nil
}

// flagsFirst puts the flags before the positional arguments, so that
// "explain FILE --html X" parses like "explain --html X FILE"; unlike
// reorder it knows which flags take no value.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}

// explanation is what explain found out about a trace.
type explanation struct {
	t          *traces.Trace
	r          *sim.Result
	reproduced bool // the replayed run failed too
	same       bool // … with the recorded event log
	violations []traces.Violation
	events     []traces.Event
	at         time.Duration // the first violation's time (or the end)
	end        time.Duration // the last event's time
	lanes      []string      // every lane, in order of first appearance
	embeds     []embed       // checkers' HTML evidence, for the page
}

type embed struct {
	name string
	html []byte
}

func newExplanation(t *traces.Trace, r *sim.Result) *explanation {
	x := &explanation{t: t, r: r, reproduced: r.Failed(), same: r.Fingerprint == t.Fingerprint}
	x.violations, x.events = r.Violations, r.Trace.Events
	if !x.reproduced {
		x.violations = t.Violations
		if len(t.Events) > 0 {
			x.events = t.Events
		}
	}
	if n := len(x.events); n > 0 {
		x.end = x.events[n-1].At
	} else {
		x.end = r.SimTime
	}
	x.at = x.end
	for i, v := range x.violations {
		if i == 0 || v.At < x.at {
			x.at = v.At
		}
	}
	x.at = min(x.at, x.end)
	seen := map[string]bool{}
	for _, e := range x.events {
		if l := laneOf(e); !seen[l] {
			seen[l] = true
			x.lanes = append(x.lanes, l)
		}
	}
	for _, f := range t.Plan.Faults {
		for _, l := range faultLanes(f) {
			if !seen[l] {
				seen[l] = true
				x.lanes = append(x.lanes, l)
			}
		}
	}
	linearizability := slices.ContainsFunc(x.violations, func(v traces.Violation) bool {
		return v.Property == properties.PropLinearizability
	})
	if linearizability && x.reproduced {
		for _, a := range r.Artifacts {
			if !strings.HasSuffix(a, ".html") {
				continue
			}
			if st, err := os.Stat(a); err != nil || st.Size() > maxEmbed {
				continue
			}
			if b, err := os.ReadFile(a); err == nil {
				x.embeds = append(x.embeds, embed{name: filepath.Base(a), html: b})
			}
		}
	}
	return x
}

func laneOf(e traces.Event) string {
	if e.Node == "" {
		return worldLane
	}
	return e.Node
}

// faultLanes are the lanes a planned fault acts on.
func faultLanes(f traces.PlannedFault) []string {
	switch f.Kind {
	case sim.FaultPartition:
		return f.Side
	case "":
		return nil
	}
	if f.Node == "" {
		return []string{worldLane}
	}
	return []string{f.Node}
}

func (x *explanation) properties() []string {
	var ps []string
	for _, v := range x.violations {
		if !slices.Contains(ps, v.Property) {
			ps = append(ps, v.Property)
		}
	}
	return ps
}

func (x *explanation) status() string {
	switch {
	case x.reproduced && x.same:
		return fmt.Sprintf("the replayed run fails again, event for event (fingerprint %s)", fingerprint(x.r.Fingerprint))
	case len(x.t.Violations) == 0 && !x.reproduced:
		return "the trace records no violation and the replayed run passes: there is no failure to explain; shown is the end of the run"
	case x.reproduced:
		return fmt.Sprintf("the replayed run fails, but its events differ from the recorded ones (fingerprint %s, recorded %s): this build changed the run; shown is the replay",
			fingerprint(x.r.Fingerprint), fingerprint(x.t.Fingerprint))
	}
	return fmt.Sprintf("the trace's violations no longer reproduce in this build (build %s, recorded by %s): the replayed run passes; shown is what the trace recorded",
		buildID(), x.t.BuildID)
}

// row is one line of the timeline: an event in its lane.
type row struct {
	at    time.Duration
	lane  string
	text  string
	fault bool
	title string // the whole event, for the page
}

// rows is the timeline: the last n events up to the first violation (timer
// events only when asked for), with the plan's faults in that stretch
// folded into the events they caused, or added where they caused none.
func (x *explanation) rows(n int, timers bool) []row {
	var sel []traces.Event
	for _, e := range x.events {
		if e.At > x.at {
			break
		}
		if e.Kind == traces.KindTimer && !timers {
			continue
		}
		sel = append(sel, e)
	}
	if len(sel) > n {
		sel = sel[len(sel)-n:]
	}
	var rows []row
	for _, e := range sel {
		text, fault := eventCell(e)
		rows = append(rows, row{at: e.At, lane: laneOf(e), text: text, fault: fault, title: e.String()})
	}
	if len(sel) == 0 {
		return rows
	}
	from := sel[0].At
	for _, f := range x.t.Plan.Faults {
		if f.At < from || f.At > x.at {
			continue
		}
		i := slices.IndexFunc(rows, func(r row) bool { return r.at == f.At && causedBy(f, sel, r) })
		if i >= 0 {
			rows[i].text += " " + faultSpan(f)
			rows[i].title += "\nplanned: " + sim.DescribeFault(f)
			continue
		}
		lane := worldLane
		if ls := faultLanes(f); len(ls) > 0 && f.Kind != sim.FaultPartition {
			lane = ls[0]
		}
		j, _ := slices.BinarySearchFunc(rows, f.At, func(r row, at time.Duration) int {
			if r.at <= at {
				return -1
			}
			return 1
		})
		rows = slices.Insert(rows, j, row{at: f.At, lane: lane, fault: true,
			text:  "!planned " + f.Kind + " " + faultSpan(f) + " (no event)",
			title: "planned, without an event in the log: " + sim.DescribeFault(f)})
	}
	return rows
}

// causedBy reports whether a timeline row is the event a planned fault
// caused.
func causedBy(f traces.PlannedFault, sel []traces.Event, r row) bool {
	var want traces.Kind
	switch f.Kind {
	case sim.FaultCrash:
		want = traces.KindCrash
	case sim.FaultPause:
		want = traces.KindPause
	case sim.FaultPartition, sim.FaultIsolate:
		return r.lane == worldLane && strings.HasPrefix(r.text, "!partition")
	case sim.FaultClog:
		want = traces.KindClog
	case sim.FaultClock:
		want = traces.KindClock
	case sim.FaultSlow:
		want = traces.KindSlow
	default:
		return false
	}
	return r.lane == f.Node && strings.HasPrefix(r.text, "!"+want.String())
}

// faultSpan is a planned fault's parameters, briefly.
func faultSpan(f traces.PlannedFault) string {
	switch f.Kind {
	case sim.FaultPartition:
		how := "→"
		if f.Symmetric {
			how = "↔"
		}
		return fmt.Sprintf("{%s}%srest for %v", strings.Join(f.Side, ","), how, short(f.For))
	case sim.FaultClock:
		return "by " + short(f.By).String()
	case sim.FaultSlow:
		return fmt.Sprintf("+%v for %v", short(f.By), short(f.For))
	case sim.FaultClog:
		return fmt.Sprintf("%s→%s for %v", f.Peer, f.Node, short(f.For))
	}
	return "for " + short(f.For).String()
}

func short(d time.Duration) time.Duration {
	switch a := max(d, -d); {
	case a >= time.Second:
		return d.Round(time.Millisecond)
	case a >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case a >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// eventCell is an event in a timeline cell: its kind and a short detail;
// fault says it is a fault (the cell starts with "!").
func eventCell(e traces.Event) (text string, fault bool) {
	data := string(e.Data)
	switch e.Kind {
	case traces.KindDeliver:
		return fmt.Sprintf("deliver ←%s %dB", e.Peer, e.Size), false
	case traces.KindDrop:
		return fmt.Sprintf("drop ←%s %dB %s", e.Peer, e.Size, data), false
	case traces.KindTimer:
		return fmt.Sprintf("timer %d", e.Hash), false
	case traces.KindCrash:
		return "!crash " + data, true
	case traces.KindRestart:
		return fmt.Sprintf("!restart #%d", e.Hash), true
	case traces.KindStartFail:
		return "!start-fail " + data, true
	case traces.KindPause:
		return "!pause", true
	case traces.KindResume:
		return "resume", false
	case traces.KindClock:
		return fmt.Sprintf("!clock skew %v", short(time.Duration(int64(e.Hash)))), true
	case traces.KindPartition:
		return fmt.Sprintf("!partition %d links", len(strings.Fields(data))), true
	case traces.KindHeal:
		return strings.TrimSpace("heal " + data), false
	case traces.KindClog:
		return fmt.Sprintf("!clog ←%s until %.3fs", e.Peer, time.Duration(e.Hash).Seconds()), true
	case traces.KindDiskFault:
		return "!disk " + data, true
	case traces.KindCall:
		return fmt.Sprintf("call →%s %dB", e.Peer, len(e.Data)), false
	case traces.KindReturn:
		return fmt.Sprintf("return ←%s %dB", e.Peer, len(e.Data)), false
	case traces.KindTimeout:
		return fmt.Sprintf("timeout →%s", e.Peer), false
	case traces.KindPhase:
		return "phase " + data, false
	case traces.KindNote:
		return "note " + data, false
	case traces.KindSlow:
		return fmt.Sprintf("!slow +%v for %dms", short(time.Duration(e.Hash)), e.Size), true
	}
	return e.Kind.String(), false
}

func (x *explanation) writeText(w io.Writer, n int, timers bool) {
	t := x.t
	fmt.Fprintf(w, "explain: seed %d, profile %s, %d events recorded, fingerprint %s, build %s\n",
		t.Seed, t.Profile, len(t.Events), fingerprint(t.Fingerprint), t.BuildID)
	fmt.Fprintln(w, x.status())
	if !x.reproduced {
		for _, v := range x.r.Violations {
			fmt.Fprintf(w, "(the replay found instead: %s)\n", v)
		}
	}

	fmt.Fprintln(w, "\nviolated properties:")
	if len(x.violations) == 0 {
		fmt.Fprintln(w, "  (none recorded)")
	}
	for _, v := range x.violations {
		fmt.Fprintf(w, "  %s at %.6fs\n", v.Property, v.At.Seconds())
		for _, line := range strings.Split(strings.TrimRight(v.Detail, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}

	fmt.Fprintln(w, "\nexplanation:")
	if len(x.r.Explanation) == 0 {
		fmt.Fprintln(w, "  (the scenario says nothing more about this run)")
	}
	for _, line := range x.r.Explanation {
		fmt.Fprintf(w, "  %s\n", line)
	}

	fmt.Fprintf(w, "\nfaults planned: %d\n", len(t.Plan.Faults))
	const maxFaults = 30
	for i, f := range t.Plan.Faults {
		if i == maxFaults {
			fmt.Fprintf(w, "  … and %d more (--html lists them all)\n", len(t.Plan.Faults)-maxFaults)
			break
		}
		fmt.Fprintf(w, "  %10.6fs  %s\n", f.At.Seconds(), sim.DescribeFault(f))
	}

	rows := x.rows(n, timers)
	what := "timer events left out (--timers shows them)"
	if timers {
		what = "timer events included"
	}
	fmt.Fprintf(w, "\ntimeline: the last %d events up to %.6fs, one lane per node, faults marked !, %s\n", n, x.at.Seconds(), what)
	writeLanes(w, rows, x.usedLanes(rows))
}

// usedLanes are the lanes of the rows, in the order of first appearance in
// the whole run.
func (x *explanation) usedLanes(rows []row) []string {
	used := map[string]bool{}
	for _, r := range rows {
		used[r.lane] = true
	}
	var lanes []string
	for _, l := range x.lanes {
		if used[l] {
			lanes = append(lanes, l)
		}
	}
	return lanes
}

// writeLanes prints the rows as a table: a time column and one column per
// lane.
func writeLanes(w io.Writer, rows []row, lanes []string) {
	const maxWidth = 30
	width := map[string]int{}
	for _, l := range lanes {
		width[l] = min(utf8.RuneCountInString(l), maxWidth)
	}
	for _, r := range rows {
		width[r.lane] = min(max(width[r.lane], utf8.RuneCountInString(r.text)), maxWidth)
	}
	var b strings.Builder
	line := func(at string, cell func(l string) string) {
		b.Reset()
		fmt.Fprintf(&b, "%11s", at)
		for _, l := range lanes {
			b.WriteString("  ")
			b.WriteString(pad(cell(l), width[l]))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line("time", func(l string) string { return l })
	line("", func(l string) string { return strings.Repeat("─", width[l]) })
	for _, r := range rows {
		line(fmt.Sprintf("%.6fs", r.at.Seconds()), func(l string) string {
			if l == r.lane {
				return r.text
			}
			return ""
		})
	}
}

// pad cuts or pads s to n runes.
func pad(s string, n int) string {
	if c := utf8.RuneCountInString(s); c > n {
		return string([]rune(s)[:n-1]) + "…"
	} else if c < n {
		return s + strings.Repeat(" ", n-c)
	}
	return s
}

// The page.

const pageCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555;margin-top:0}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
table{border-collapse:collapse;font-size:12px}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.fault{color:#c2410c;font-weight:600}.viol{color:#c00}.ok{color:#15803d}.bad{color:#c00}
svg{font-family:inherit;font-size:11px;display:block;margin:.5em 0}
.legend span{display:inline-block;margin-right:1em;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.unreached,.unreached td{color:#c00}
.wide{overflow-x:auto}
iframe{width:100%;height:640px;border:1px solid #ccc}
table.lanes td{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px}
`

var esc = html.EscapeString

// eventClass is the mark class of an event on the page: what color it
// takes.
func eventClass(k traces.Kind) string {
	switch k {
	case traces.KindCrash, traces.KindRestart, traces.KindStartFail, traces.KindPause, traces.KindClock,
		traces.KindPartition, traces.KindClog, traces.KindDiskFault, traces.KindSlow:
		return "fault"
	case traces.KindCall, traces.KindReturn:
		return "client"
	case traces.KindTimeout:
		return "timeout"
	case traces.KindDrop:
		return "drop"
	case traces.KindDeliver:
		return "deliver"
	case traces.KindTimer:
		return "timer"
	}
	return "other"
}

var classColor = map[string]string{
	"fault": "#ea580c", "client": "#2563eb", "timeout": "#ca8a04", "drop": "#9333ea",
	"deliver": "#64748b", "timer": "#cbd5e1", "other": "#111827",
}

// classRank orders the classes for a mark that stands for several events:
// the first wins.
var classRank = []string{"fault", "timeout", "drop", "client", "other", "deliver", "timer"}

func legend(b *strings.Builder) {
	b.WriteString(`<p class="legend">`)
	for _, c := range classRank {
		fmt.Fprintf(b, `<span><i style="background:%s"></i>%s</span>`, classColor[c], c)
	}
	b.WriteString(`<span><i style="background:#fdba74;opacity:.5"></i>planned fault (span)</span><span><i style="background:#dc2626"></i>first violation</span></p>` + "\n")
}

func (x *explanation) html(n int, timers bool) string {
	var b strings.Builder
	props := x.properties()
	title := "no violation"
	if len(props) > 0 {
		title = strings.Join(props, ", ")
	}
	t := x.t
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s — %s seed %d (megasim explain)</title>\n<style>%s</style></head><body>\n",
		esc(title), esc(t.Profile), t.Seed, pageCSS)
	h1 := "viol"
	if len(props) == 0 {
		h1 = "ok"
	}
	fmt.Fprintf(&b, "<h1 class=\"%s\">%s</h1>\n", h1, esc(title))
	fmt.Fprintf(&b, "<p class=\"meta\">profile <b>%s</b>, seed <b>%d</b>, %d events recorded, build %s. %s.</p>\n",
		esc(t.Profile), t.Seed, len(t.Events), esc(t.BuildID), esc(x.status()))
	fmt.Fprintf(&b, "<p class=\"meta\">replay: <code>megasim replay TRACE</code> · shrink: <code>megasim shrink TRACE</code></p>\n")

	b.WriteString("<h2 id=\"evidence\">Evidence</h2>\n")
	if len(x.violations) == 0 {
		b.WriteString("<p>No violation recorded.</p>\n")
	}
	for _, v := range x.violations {
		fmt.Fprintf(&b, "<h3 class=\"viol\">%s <small>at %.6fs</small></h3>\n<pre>%s</pre>\n", esc(v.Property), v.At.Seconds(), esc(v.Detail))
	}
	if !x.reproduced {
		for _, v := range x.r.Violations {
			fmt.Fprintf(&b, "<p>The replay found instead: %s</p>\n", esc(v.String()))
		}
	}

	b.WriteString("<h2 id=\"explanation\">Explanation</h2>\n")
	if len(x.r.Explanation) == 0 {
		b.WriteString("<p>The scenario says nothing more about this run.</p>\n")
	} else {
		fmt.Fprintf(&b, "<pre>%s</pre>\n", esc(strings.Join(x.r.Explanation, "\n")))
	}

	b.WriteString("<h2 id=\"timeline\">Timeline</h2>\n")
	legend(&b)
	fmt.Fprintf(&b, "<p>The whole run (%.3fs; the liveness phase began at %.3fs). Each mark stands for the events of its lane in a few pixels of time; hover for counts.</p>\n",
		x.end.Seconds(), x.healedAt().Seconds())
	x.svg(&b, 0, max(x.end, 1), nil)
	detail := x.detailEvents(max(10*n, 400), timers)
	if len(detail) > 0 {
		from := detail[0].At
		span := max(x.at-from, time.Millisecond)
		fmt.Fprintf(&b, "<p>The last %d events up to %s (%.6fs–%.6fs); one mark per event, hover for the event.</p>\n",
			len(detail), map[bool]string{true: "the first violation", false: "the end"}[len(x.violations) > 0], from.Seconds(), x.at.Seconds())
		x.svg(&b, max(from-span/50, 0), x.at+span/50, detail)
	}

	rows := x.rows(n, timers)
	lanes := x.usedLanes(rows)
	fmt.Fprintf(&b, "<h2 id=\"events\">The last %d events</h2>\n<div class=\"wide\"><table class=\"lanes\"><tr><th>time</th>", n)
	for _, l := range lanes {
		fmt.Fprintf(&b, "<th>%s</th>", esc(l))
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "<tr><td class=\"num\">%.6fs</td>", r.at.Seconds())
		for _, l := range lanes {
			switch {
			case l != r.lane:
				b.WriteString("<td></td>")
			case r.fault:
				fmt.Fprintf(&b, "<td class=\"fault\" title=\"%s\">%s</td>", esc(r.title), esc(r.text))
			default:
				fmt.Fprintf(&b, "<td title=\"%s\">%s</td>", esc(r.title), esc(r.text))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table></div>\n")

	fmt.Fprintf(&b, "<h2 id=\"faults\">Faults planned (%d)</h2>\n", len(t.Plan.Faults))
	if len(t.Plan.Faults) > 0 {
		b.WriteString("<table><tr><th class=\"num\">at</th><th>kind</th><th>fault</th></tr>\n")
		for _, f := range t.Plan.Faults {
			fmt.Fprintf(&b, "<tr><td class=\"num\">%.6fs</td><td class=\"fault\">%s</td><td>%s</td></tr>\n", f.At.Seconds(), esc(f.Kind), esc(sim.DescribeFault(f)))
		}
		b.WriteString("</table>\n")
	}

	for _, e := range x.embeds {
		fmt.Fprintf(&b, "<h2 id=\"linearizability\">Linearizability: porcupine's visualization (%s)</h2>\n", esc(e.name))
		b.WriteString("<p>The longest linearizable prefix of each part of the history; the operations that could not be linearized are marked.</p>\n")
		fmt.Fprintf(&b, "<iframe title=\"%s\" sandbox=\"allow-scripts\" srcdoc=\"%s\"></iframe>\n", esc(e.name), esc(string(e.html)))
	}

	fmt.Fprintf(&b, "<h2 id=\"config\">Configuration</h2>\n<pre>%s</pre>\n</body></html>\n", esc(t.Config))
	return b.String()
}

func (x *explanation) healedAt() time.Duration {
	if at, ok := x.t.Phases[sim.PhaseLiveness]; ok && at > 0 {
		return at
	}
	if x.r.HealedAt > 0 {
		return x.r.HealedAt
	}
	return x.t.Plan.Duration
}

// detailEvents are the last n events up to the first violation.
func (x *explanation) detailEvents(n int, timers bool) []traces.Event {
	var sel []traces.Event
	for _, e := range x.events {
		if e.At > x.at {
			break
		}
		if e.Kind != traces.KindTimer || timers {
			sel = append(sel, e)
		}
	}
	if len(sel) > n {
		sel = sel[len(sel)-n:]
	}
	return sel
}

// svg draws the lanes from t0 to t1: the planned faults as shaded spans,
// the events (each one, or when events is nil every event of the run,
// bucketed by pixel), the heal and the first violation as vertical lines.
func (x *explanation) svg(b *strings.Builder, t0, t1 time.Duration, events []traces.Event) {
	const (
		left, right, top, laneH = 120.0, 30.0, 22.0, 18.0
		width                   = 1160.0
	)
	plotW := width - left - right
	height := top + laneH*float64(len(x.lanes)) + 8
	xOf := func(t time.Duration) float64 {
		return left + plotW*float64(t-t0)/float64(max(t1-t0, 1))
	}
	clip := func(v float64) float64 { return min(max(v, left), left+plotW) }
	lane := map[string]int{}
	for i, l := range x.lanes {
		lane[l] = i
	}
	yOf := func(l string) float64 { return top + laneH*float64(lane[l]) }
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`+"\n", width, height, width, height)
	for i, l := range x.lanes {
		y := top + laneH*float64(i)
		if i%2 == 0 {
			fmt.Fprintf(b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" fill="#f8fafc"/>`, left, y, plotW, laneH)
		}
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+laneH*0.7, esc(l))
	}
	// The time axis: ten ticks.
	for i := 0; i <= 10; i++ {
		t := t0 + (t1-t0)*time.Duration(i)/10
		px := xOf(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/><text x="%.1f" y="%.0f" text-anchor="middle" fill="#6b7280">%.3fs</text>`+"\n",
			px, top-4, px, height-8, px, top-8, t.Seconds())
	}
	// Planned faults as spans (until the heal at the latest).
	heal := x.healedAt()
	for _, f := range x.t.Plan.Faults {
		end := f.At + f.For
		if f.Kind == sim.FaultClock {
			end = f.At
		}
		end = min(end, heal)
		if end < t0 || f.At > t1 {
			continue
		}
		x0, x1 := clip(xOf(f.At)), clip(xOf(end))
		for _, l := range faultLanes(f) {
			if _, ok := lane[l]; !ok {
				continue
			}
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="#fdba74" fill-opacity="0.45" stroke="#ea580c" stroke-opacity="0.6" stroke-width="0.5"><title>%s at %.6fs</title></rect>`+"\n",
				x0, yOf(l)+1, max(x1-x0, 2), laneH-2, esc(sim.DescribeFault(f)), f.At.Seconds())
		}
	}
	if events != nil {
		for _, e := range events {
			if e.At < t0 || e.At > t1 {
				continue
			}
			c := eventClass(e.Kind)
			h := laneH - 8
			if c == "fault" {
				h = laneH - 4
			}
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="2" height="%.0f" fill="%s"><title>%s</title></rect>`+"\n",
				xOf(e.At)-1, yOf(laneOf(e))+(laneH-h)/2, h, classColor[c], esc(e.String()))
		}
	} else {
		// Bucket by lane and 2 pixels of time.
		type key struct {
			lane   int
			bucket int
		}
		counts := map[key]map[string]int{}
		var keys []key
		for _, e := range x.events {
			if e.At < t0 || e.At > t1 {
				continue
			}
			k := key{lane[laneOf(e)], int((xOf(e.At) - left) / 2)}
			if counts[k] == nil {
				counts[k] = map[string]int{}
				keys = append(keys, k)
			}
			counts[k][eventClass(e.Kind)]++
		}
		for _, k := range keys {
			c := counts[k]
			var best string
			var parts []string
			for _, cl := range classRank {
				if c[cl] > 0 {
					if best == "" {
						best = cl
					}
					parts = append(parts, fmt.Sprintf("%d %s", c[cl], cl))
				}
			}
			h := laneH - 8
			if best == "fault" {
				h = laneH - 4
			}
			px := left + 2*float64(k.bucket)
			at := t0 + time.Duration(float64(t1-t0)*(px-left)/plotW)
			fmt.Fprintf(b, `<rect x="%.0f" y="%.1f" width="2" height="%.0f" fill="%s"><title>%s near %.3fs: %s</title></rect>`+"\n",
				px, yOf(x.lanes[k.lane])+(laneH-h)/2, h, classColor[best], esc(x.lanes[k.lane]), at.Seconds(), strings.Join(parts, ", "))
		}
	}
	if heal > t0 && heal < t1 {
		px := xOf(heal)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.1f" stroke="#15803d" stroke-dasharray="4 3"><title>liveness phase: faults healed at %.6fs</title></line>`+"\n", px, top-2, px, height-8, heal.Seconds())
	}
	if len(x.violations) > 0 && x.at >= t0 && x.at <= t1 {
		px := min(xOf(x.at), left+plotW-1)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.1f" stroke="#dc2626" stroke-width="2"><title>%s at %.6fs</title></line>`+"\n",
			px, top-2, px, height-8, esc(strings.Join(x.properties(), ", ")), x.at.Seconds())
	}
	b.WriteString("</svg>\n")
}
