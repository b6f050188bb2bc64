package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/sim"
)

// sweepReport gathers what a sweep's HTML report shows, a little per seed:
// the sweep callback adds each result and drops it.
type sweepReport struct {
	profile string
	build   string
	seeds   []seedSummary
	faults  map[string]int // planned faults by kind, over every seed
	faultIn map[string]int // seeds that planned at least one of the kind
	marks   map[string]int // seeds that reached each coverage mark
	latency []int          // client call latencies, by latencyEdges bucket
	calls   int            // completed client calls, over every seed
	simTime time.Duration
	notes   []string // said under the title: shards merged, an early stop
}

// seedSummary is what the report keeps of one seed.
type seedSummary struct {
	seed       uint64
	failed     bool
	violation  string  // the first violation, for a failing seed
	trace      string  // where a failing seed's trace goes
	throughput float64 // completed client calls per simulated second
	catchUp    float64 // ms from the heal to convergence; -1 when it never converged
}

// latencyEdges are the upper bounds (ms) of the latency histogram's
// buckets; a last bucket holds the rest.
var latencyEdges = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// standardFaults are the world's fault kinds, listed in the report even
// when no seed planned one.
var standardFaults = []string{sim.FaultCrash, sim.FaultPause, sim.FaultPartition, sim.FaultClog, sim.FaultClock, sim.FaultSlow, sim.FaultIsolate}

func newSweepReport(profile, build string) *sweepReport {
	return &sweepReport{profile: profile, build: build, faults: map[string]int{}, faultIn: map[string]int{},
		marks: map[string]int{}, latency: make([]int, len(latencyEdges)+1)}
}

// add takes in one seed; seeds come in seed order.
func (s *sweepReport) add(r *seedRecord) {
	sum := seedSummary{seed: r.Seed, failed: r.failed(), catchUp: -1}
	if sum.failed {
		sum.violation, sum.trace = r.Violations[0].String(), r.Trace
	}
	if r.ConvergedNS > 0 {
		sum.catchUp = float64((time.Duration(r.ConvergedNS) - time.Duration(r.HealedAtNS)).Microseconds()) / 1000
	}
	for i, n := range r.Latency {
		s.latency[i] += n
	}
	s.calls += r.Calls
	simTime := time.Duration(r.SimTimeNS)
	if sec := simTime.Seconds(); sec > 0 {
		sum.throughput = float64(r.Calls) / sec
	}
	s.simTime += simTime
	for k, n := range r.Faults {
		s.faults[k] += n
		s.faultIn[k]++
	}
	for name, n := range r.Marks {
		if n > 0 {
			s.marks[name]++
		}
	}
	s.seeds = append(s.seeds, sum)
}

// write writes DIR/index.html and returns its path.
func (s *sweepReport) write(dir string, figures map[string][]float64, names []string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "index.html")
	return path, os.WriteFile(path, []byte(s.html(figures, names)), 0o644)
}

func (s *sweepReport) html(figures map[string][]float64, names []string) string {
	var b strings.Builder
	failed := 0
	for _, x := range s.seeds {
		if x.failed {
			failed++
		}
	}
	n := len(s.seeds)
	span := "no seeds"
	if n > 0 {
		span = fmt.Sprintf("seeds %d–%d", s.seeds[0].seed, s.seeds[n-1].seed)
	}
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>megasim sweep: %s, %d passed, %d failed</title>\n<style>%s</style></head><body>\n",
		esc(s.profile), n-failed, failed, pageCSS)
	fmt.Fprintf(&b, "<h1>Sweep of %s: <span class=\"ok\">%d passed</span>, <span class=\"%s\">%d failed</span></h1>\n",
		esc(s.profile), n-failed, map[bool]string{true: "bad", false: "ok"}[failed > 0], failed)
	fmt.Fprintf(&b, "<p class=\"meta\">%d runs (%s), %.0f simulated seconds, %d completed client calls, build %s.</p>\n",
		n, span, s.simTime.Seconds(), s.calls, esc(s.build))
	for _, note := range s.notes {
		fmt.Fprintf(&b, "<p class=\"meta\">%s</p>\n", esc(note))
	}

	s.outcomes(&b)
	s.faultChart(&b)
	s.coverage(&b)

	b.WriteString("<h2 id=\"throughput\">Throughput in simulated time</h2>\n")
	var tput, catch []float64
	for _, x := range s.seeds {
		tput = append(tput, x.throughput)
		if x.catchUp >= 0 {
			catch = append(catch, x.catchUp)
		}
	}
	b.WriteString("<p>Completed client calls per simulated second of each run (seeds per bin).</p>\n")
	labels, counts := linearBins(tput, 20, "%.0f")
	histogram(&b, labels, counts, "calls / simulated s", "#2563eb")
	b.WriteString("<p>Latency of the completed client calls, every seed pooled (calls per bin, milliseconds of simulated time).</p>\n")
	var lat []string
	for i := range s.latency {
		switch {
		case i == 0:
			lat = append(lat, fmt.Sprintf("<%g", latencyEdges[0]))
		case i == len(latencyEdges):
			lat = append(lat, fmt.Sprintf("≥%g", latencyEdges[i-1]))
		default:
			lat = append(lat, fmt.Sprintf("%g–%g", latencyEdges[i-1], latencyEdges[i]))
		}
	}
	histogram(&b, lat, s.latency, "ms", "#0891b2")

	fmt.Fprintf(&b, "<h2 id=\"catch-up\">Catch-up after the heal</h2>\n<p>Time from the end of the faults to convergence, for the %d of %d seeds that converged (seeds per bin).</p>\n", len(catch), n)
	labels, counts = linearBins(catch, 20, "%.0f")
	histogram(&b, labels, counts, "ms", "#15803d")

	b.WriteString("<h2 id=\"figures\">Figures</h2>\n")
	if len(names) == 0 {
		b.WriteString("<p>No figures.</p>\n")
	} else {
		b.WriteString("<table><tr><th>figure</th><th class=\"num\">median</th><th class=\"num\">p90</th><th class=\"num\">max</th><th class=\"num\">runs</th></tr>\n")
		for _, name := range names {
			v := slices.Clone(figures[name])
			if len(v) == 0 {
				continue
			}
			slices.Sort(v)
			fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"num\">%.1f</td><td class=\"num\">%.1f</td><td class=\"num\">%.1f</td><td class=\"num\">%d</td></tr>\n",
				esc(name), v[len(v)/2], v[len(v)*9/10], v[len(v)-1], len(v))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// outcomes draws a cell per seed, green or red, and lists the failing
// seeds with their replay commands.
func (s *sweepReport) outcomes(b *strings.Builder) {
	const perRow, cell, gap = 80, 12, 2
	b.WriteString("<h2 id=\"outcomes\">Outcomes per seed</h2>\n")
	rows := (len(s.seeds) + perRow - 1) / perRow
	w, h := perRow*(cell+gap), max(rows, 1)*(cell+gap)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`+"\n", w, h, w, h)
	for i, x := range s.seeds {
		color, what := "#22c55e", "passed"
		if x.failed {
			color, what = "#dc2626", "FAILED: "+x.violation
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>seed %d: %s</title></rect>`+"\n",
			(i%perRow)*(cell+gap), (i/perRow)*(cell+gap), cell, cell, color, x.seed, esc(what))
	}
	b.WriteString("</svg>\n")
	var fails []seedSummary
	for _, x := range s.seeds {
		if x.failed {
			fails = append(fails, x)
		}
	}
	if len(fails) == 0 {
		b.WriteString("<p class=\"ok\">Every seed passed.</p>\n")
		return
	}
	fmt.Fprintf(b, "<h3 class=\"bad\">Failing seeds (%d)</h3>\n<table><tr><th class=\"num\">seed</th><th>violation</th><th>replay</th></tr>\n", len(fails))
	for _, x := range fails {
		fmt.Fprintf(b, "<tr id=\"seed%d\"><td class=\"num\">%d</td><td class=\"bad\">%s</td><td><code>megasim replay %s</code><br><code>megasim explain %s --html explain.html</code></td></tr>\n",
			x.seed, x.seed, esc(x.violation), esc(x.trace), esc(x.trace))
	}
	b.WriteString("</table>\n")
}

// faultChart is a bar per fault kind: how many the plans held.
func (s *sweepReport) faultChart(b *strings.Builder) {
	b.WriteString("<h2 id=\"faults\">Faults planned, by kind</h2>\n<p>Faults in the seeds' plans, all seeds together; beside each bar, how many seeds planned at least one.</p>\n")
	kinds := slices.Clone(standardFaults)
	for k := range s.faults {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	most := 1
	for _, k := range kinds {
		most = max(most, s.faults[k])
	}
	const left, barMax, rowH = 90, 700, 20
	w, h := left+barMax+260, rowH*len(kinds)+4
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`+"\n", w, h, w, h)
	for i, k := range kinds {
		y := i * rowH
		bw := float64(barMax) * float64(s.faults[k]) / float64(most)
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+14, esc(k))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#ea580c"><title>%s: %d planned, in %d of %d seeds</title></rect>`,
			left, y+3, bw, rowH-6, esc(k), s.faults[k], s.faultIn[k], len(s.seeds))
		fill := "#111827"
		if s.faults[k] == 0 {
			fill = "#9ca3af"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="%s">%d (in %d seeds)</text>`+"\n", float64(left)+bw+6, y+14, fill, s.faults[k], s.faultIn[k])
	}
	b.WriteString("</svg>\n")
}

// coverage is the table of coverage marks: how many seeds reached each.
func (s *sweepReport) coverage(b *strings.Builder) {
	var all []cover.Mark
	for _, m := range cover.All() {
		if m.InScope(func(name string) bool { return s.marks[name] > 0 }) {
			all = append(all, m)
		}
	}
	reached := 0
	for _, m := range all {
		if s.marks[m.Name] > 0 {
			reached++
		}
	}
	fmt.Fprintf(b, "<h2 id=\"coverage\">Coverage marks</h2>\n<p>%d of %d marks reached by at least one seed; a mark no seed reached (red) is a path this sweep did not test.</p>\n", reached, len(all))
	b.WriteString("<table id=\"marks\" class=\"marks\"><tr><th>mark</th><th>what</th><th class=\"num\">seeds</th><th class=\"num\">share</th></tr>\n")
	row := func(name, what string) {
		n := s.marks[name]
		share := 0.0
		if len(s.seeds) > 0 {
			share = 100 * float64(n) / float64(len(s.seeds))
		}
		attrs := ` class="reached"`
		if n == 0 {
			attrs = ` class="unreached" style="color:#c00"`
		}
		fmt.Fprintf(b, "<tr%s><td><code>%s</code></td><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%.1f%%</td></tr>\n", attrs, esc(name), esc(what), n, share)
	}
	known := map[string]bool{}
	for _, m := range all {
		known[m.Name] = true
		row(m.Name, m.What)
	}
	var other []string
	for name := range s.marks {
		if !known[name] {
			other = append(other, name)
		}
	}
	slices.Sort(other)
	for _, name := range other {
		row(name, "(not listed in node/cover)")
	}
	b.WriteString("</table>\n")
}

// linearBins splits values into at most n bins of one width.
func linearBins(values []float64, n int, format string) (labels []string, counts []int) {
	if len(values) == 0 {
		return nil, nil
	}
	lo, hi := slices.Min(values), slices.Max(values)
	if hi == lo {
		return []string{fmt.Sprintf(format, lo)}, []int{len(values)}
	}
	bins := min(n, max(1, int(math.Ceil(math.Sqrt(float64(len(values)))))+1))
	width := niceWidth((hi - lo) / float64(bins))
	start := math.Floor(lo/width) * width
	bins = int(math.Floor((hi-start)/width)) + 1
	counts = make([]int, bins)
	for _, v := range values {
		counts[min(int((v-start)/width), bins-1)]++
	}
	for i := range bins {
		labels = append(labels, fmt.Sprintf(format+"–"+format, start+float64(i)*width, start+float64(i+1)*width))
	}
	return labels, counts
}

// niceWidth rounds a bin width up to 1, 2 or 5 times a power of ten.
func niceWidth(w float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(w)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= w {
			return m * p
		}
	}
	return 10 * p
}

// histogram draws vertical bars with their labels below.
func histogram(b *strings.Builder, labels []string, counts []int, unit, color string) {
	if len(counts) == 0 {
		b.WriteString("<p><i>No data.</i></p>\n")
		return
	}
	const plotH, top, bottom, left = 160, 16, 64, 40
	barW := min(60, max(14, 1000/len(counts)))
	w := left + barW*len(counts) + 20
	h := top + plotH + bottom
	most := max(slices.Max(counts), 1)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`+"\n", w, h, w, h)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9ca3af"/>`, left, top+plotH, w-10, top+plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="#6b7280">%d</text><text x="%d" y="%d" text-anchor="end" fill="#6b7280">0</text>`+"\n",
		left-4, top+4, most, left-4, top+plotH)
	for i, c := range counts {
		bh := float64(plotH) * float64(c) / float64(most)
		x := left + i*barW
		fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
			x+1, float64(top+plotH)-bh, barW-2, bh, color, esc(labels[i]), esc(unit), c)
		if c > 0 && barW >= 24 {
			fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="middle" font-size="9">%d</text>`, x+barW/2, float64(top+plotH)-bh-3, c)
		}
		fmt.Fprintf(b, `<text transform="translate(%d,%d) rotate(-45)" text-anchor="end" font-size="9">%s</text>`+"\n", x+barW/2+3, top+plotH+10, esc(labels[i]))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#6b7280">%s</text>`, w-10-len(unit)*6, h-4, esc(unit))
	b.WriteString("</svg>\n")
}
