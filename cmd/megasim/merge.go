package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meganode/meganode/sim"
)

// cmdMerge combines the results (sweep.json) of a sweep's shards, run on
// one machine or many, into what the unsharded sweep would have printed
// and written: its FAIL lines, figure lines, byzantine and determinism
// lines and "N passed, M failed", its HTML report and its fingerprints
// file. It refuses shards of different profiles or builds, and reports
// seeds that two shards both ran and seeds that no shard ran.
func cmdMerge(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(log)
	reportDir := fs.String("report", "", "write the merged HTML report to `DIR`/index.html")
	prints := fs.String("fingerprints", "", "write every seed's fingerprint to `FILE`, one \"seed fingerprint\" line each, in seed order: the file the unsharded sweep's --fingerprints writes")
	fs.Usage = func() {
		fmt.Fprintln(log, "usage: megasim merge [--report DIR] [--fingerprints FILE] DIR...\n\nEach DIR holds a shard's sweep.json (megasim sweep --out DIR), or is such a file, or holds\ndirectories that do (DIR/*/sweep.json).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorder(args)); err != nil {
		return 2, nil
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2, errors.New("merge takes the shards' result directories")
	}
	var paths []string
	for _, arg := range fs.Args() {
		found, err := shardPaths(arg)
		if err != nil {
			return 2, err
		}
		paths = append(paths, found...)
	}
	var shards []*shardResult
	for _, path := range paths {
		res, _, err := readShard(path)
		if err != nil {
			return 2, err
		}
		shards = append(shards, res)
	}
	for _, what := range []struct {
		name string
		of   func(*shardResult) string
	}{
		{"profiles", func(r *shardResult) string { return r.Profile }},
		{"builds", func(r *shardResult) string { return r.Build }},
	} {
		var kinds []string
		for i, r := range shards {
			if what.of(r) != what.of(shards[0]) {
				for j, r := range shards {
					kinds = append(kinds, fmt.Sprintf("%s: %s", paths[j], what.of(r)))
				}
				return 2, fmt.Errorf("refusing to merge shards of different %s (%s and %s differ):\n  %s",
					what.name, paths[0], paths[i], strings.Join(kinds, "\n  "))
			}
		}
	}
	profile, build := shards[0].Profile, shards[0].Build

	// Every seed once, in seed order; a seed two shards both ran is
	// reported, and if its fingerprints differ it fails P7.
	type source struct {
		rec  *seedRecord
		path string
	}
	bySeed := map[uint64]source{}
	type pair struct{ a, b string }
	dupSeeds := map[pair][]uint64{}
	var pairs []pair
	duplicated := 0
	for i, sh := range shards {
		for j := range sh.Results {
			rec := &sh.Results[j]
			first, dup := bySeed[rec.Seed]
			if !dup {
				bySeed[rec.Seed] = source{rec, paths[i]}
				continue
			}
			duplicated++
			k := pair{first.path, paths[i]}
			if dupSeeds[k] == nil {
				pairs = append(pairs, k)
			}
			dupSeeds[k] = append(dupSeeds[k], rec.Seed)
			if first.rec.Fingerprint != rec.Fingerprint {
				first.rec.markNondeterministic(rec.Fingerprint)
			}
		}
	}
	var duplicates []string
	for _, k := range pairs {
		duplicates = append(duplicates, fmt.Sprintf("merge: %d seeds are in both %s and %s (%s)", len(dupSeeds[k]), k.a, k.b, seedList(dupSeeds[k])))
	}
	seeds := make([]uint64, 0, len(bySeed))
	for s := range bySeed {
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)

	// The sweeps the shards belong to, and what of each no shard ran.
	type sweepKey struct {
		from  uint64
		seeds int
		n     int
	}
	groups := map[sweepKey][]*shardResult{}
	var keys []sweepKey
	for _, sh := range shards {
		k := sweepKey{sh.From, sh.Seeds, sh.Shard.N}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], sh)
	}
	var gaps, notes []string
	missing := 0
	for _, k := range keys {
		span := fmt.Sprintf("seeds %d–%d", k.from, k.from+uint64(k.seeds)-1)
		present := map[int]*shardResult{}
		for _, sh := range groups[k] {
			present[sh.Shard.I] = sh
		}
		var ids []string
		for i := range k.n {
			if present[i] != nil {
				ids = append(ids, shardSpec{i, k.n}.String())
			}
		}
		notes = append(notes, fmt.Sprintf("Merged from shards %s of %s.", strings.Join(ids, ", "), span))
		for i := range k.n {
			spec := shardSpec{i, k.n}
			var lost []uint64
			for _, s := range (sim.Shard{I: i, N: k.n}).Seeds(k.from, k.seeds) {
				if _, ok := bySeed[s]; !ok {
					lost = append(lost, s)
				}
			}
			sh := present[i]
			switch {
			case sh != nil && sh.Stopped != "":
				line := fmt.Sprintf("merge: shard %s of %s stopped early (%s): %d of %d seeds ran", spec, span, sh.Stopped, len(sh.Results), sh.Planned)
				notes = append(notes, line)
				gaps = append(gaps, line)
			case len(lost) == 0:
			case sh == nil:
				missing += len(lost)
				gaps = append(gaps, fmt.Sprintf("merge: MISSING shard %s of %s: %d seeds no shard ran (%s)", spec, span, len(lost), seedList(lost)))
			default:
				missing += len(lost)
				gaps = append(gaps, fmt.Sprintf("merge: MISSING from shard %s of %s: %d seeds it neither ran nor said it stopped before (%s)", spec, span, len(lost), seedList(lost)))
			}
		}
	}

	t := newTally(profile)
	if *prints != "" {
		f, err := os.Create(*prints)
		if err != nil {
			return 2, err
		}
		defer f.Close()
		t.prints = f
	}
	if *reportDir != "" {
		t.rep = newSweepReport(profile, build)
		t.rep.notes = notes
	}
	for _, s := range seeds {
		rec := bySeed[s].rec
		if rec.failed() {
			fmt.Fprint(out, failLine(rec))
		}
		t.add(rec)
	}

	var wall, slowest time.Duration
	perHour := 0.0
	for _, sh := range shards {
		w := time.Duration(sh.WallNS)
		wall += w
		slowest = max(slowest, w)
		if w > 0 {
			perHour += float64(len(sh.Results)) / w.Hours()
		}
	}
	fmt.Fprintf(log, "merge: %d seeds of %s from %d shards of build %s (%v wall in all, the slowest shard %v; %.0f seeds/hour summed over the shards)\n",
		len(seeds), profile, len(shards), build, wall.Round(time.Millisecond), slowest.Round(time.Millisecond), perHour)
	for _, line := range t.figureLines() {
		fmt.Fprintln(log, line)
	}
	for _, line := range append(gaps, duplicates...) {
		fmt.Fprintln(out, line)
	}
	body, last := t.closingLines()
	for _, line := range body {
		fmt.Fprintln(out, line)
	}
	writeErr := t.writeErr
	if t.rep != nil {
		path, err := t.rep.write(*reportDir, t.figures, t.names)
		if err != nil && writeErr == nil {
			writeErr = err
		}
		fmt.Fprintf(out, "report: %s\n", path)
	}
	fmt.Fprintln(out, last)
	if writeErr != nil {
		return 2, writeErr
	}
	var incomplete error
	if missing > 0 || duplicated > 0 {
		incomplete = fmt.Errorf("incomplete merge: %d seeds missing, %d seeds in more than one shard", missing, duplicated)
	}
	if t.failed > 0 {
		return 1, incomplete
	}
	if incomplete != nil {
		return 2, incomplete
	}
	return 0, nil
}

// shardPaths finds the sweep.json files an argument of merge names: the
// file itself, DIR/sweep.json, or DIR/*/sweep.json.
func shardPaths(arg string) ([]string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{arg}, nil
	}
	if _, err := os.Stat(filepath.Join(arg, shardFile)); err == nil {
		return []string{filepath.Join(arg, shardFile)}, nil
	}
	found, err := filepath.Glob(filepath.Join(arg, "*", shardFile))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s: no %s in it or in the directories in it (write one with megasim sweep --out DIR)", arg, shardFile)
	}
	return found, nil
}

// seedList prints at most ten seeds.
func seedList(seeds []uint64) string {
	var parts []string
	for i, s := range seeds {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("… %d more", len(seeds)-10))
			break
		}
		parts = append(parts, fmt.Sprint(s))
	}
	return strings.Join(parts, ", ")
}
