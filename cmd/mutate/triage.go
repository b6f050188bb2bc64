package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// TriageKey names the mutant a triage note is about: file, line and
// operator (the column is optional in triage.txt and not part of the key).
type TriageKey struct {
	File string
	Line int
	Op   string
}

// Key is the triage key of a mutant.
func (m *Mutant) Key() TriageKey { return TriageKey{m.File, m.Line, m.Op} }

var triageLine = regexp.MustCompile(`^(\S+?):(\d+)(?::\d+)? ([a-z-]+): (.*)$`)

// ParseTriage reads triage notes: "file:line[:col] operator: note" per
// line; a line that starts with a space or a tab continues the note
// before it; blank lines and lines starting with # are ignored.
func ParseTriage(r io.Reader) (map[TriageKey]string, error) {
	notes := map[TriageKey]string{}
	var last *TriageKey
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			last = nil
			continue
		case line[0] == ' ' || line[0] == '\t':
			if last == nil {
				return nil, fmt.Errorf("triage line %d: a continuation with no note before it", n)
			}
			notes[*last] += " " + trimmed
			continue
		}
		m := triageLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("triage line %d: want \"file:line operator: note\", got %q", n, line)
		}
		ln, _ := strconv.Atoi(m[2])
		k := TriageKey{m[1], ln, m[3]}
		notes[k] = strings.TrimSpace(m[4])
		last = &k
	}
	return notes, sc.Err()
}
