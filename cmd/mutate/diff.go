package main

import (
	"fmt"
	"strings"
)

// UnifiedDiff is a unified diff of a and b (one hunk: a mutant's change is
// local) with ctx lines of context, or "" when they are equal.
func UnifiedDiff(path string, a, b []byte, ctx int) string {
	al, bl := splitLines(string(a)), splitLines(string(b))
	pre := 0
	for pre < len(al) && pre < len(bl) && al[pre] == bl[pre] {
		pre++
	}
	if pre == len(al) && pre == len(bl) {
		return ""
	}
	suf := 0
	for suf < len(al)-pre && suf < len(bl)-pre && al[len(al)-1-suf] == bl[len(bl)-1-suf] {
		suf++
	}
	start := max(0, pre-ctx)
	aEnd := min(len(al), len(al)-suf+ctx)
	bEnd := min(len(bl), len(bl)-suf+ctx)

	var sb strings.Builder
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", path, path)
	fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(start, aEnd-start), hunkRange(start, bEnd-start))
	for _, l := range al[start:pre] {
		sb.WriteString(" " + l + "\n")
	}
	for _, l := range al[pre : len(al)-suf] {
		sb.WriteString("-" + l + "\n")
	}
	for _, l := range bl[pre : len(bl)-suf] {
		sb.WriteString("+" + l + "\n")
	}
	for _, l := range al[len(al)-suf : aEnd] {
		sb.WriteString(" " + l + "\n")
	}
	return sb.String()
}

// hunkRange is a hunk header's "start,count" (start 1-based; for an empty
// range, the line before it).
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
