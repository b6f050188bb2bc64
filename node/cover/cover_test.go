package cover

import (
	"strings"
	"testing"
)

// Every mark has a unique role-prefixed name and a description, and All
// lists them in name order.
func TestMarks(t *testing.T) {
	all := All()
	if len(all) != len(marks) {
		t.Fatalf("All lists %d of %d marks", len(all), len(marks))
	}
	for i, m := range all {
		if !strings.Contains(m.Name, "/") || m.What == "" {
			t.Errorf("mark %q: want role/name and a description", m.Name)
		}
		if i > 0 && all[i-1].Name >= m.Name {
			t.Errorf("marks %q and %q out of order or duplicated", all[i-1].Name, m.Name)
		}
	}
}
