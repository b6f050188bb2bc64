package properties

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// PropLinearizability is P1.
const PropLinearizability = "P1 linearizability"

// CheckLinearizable checks a client history against a sequential model with
// porcupine. The model should partition the history (by register, by
// account group) so that each part stays small: checking is NP-complete.
// On a failure, if htmlPath is not empty, porcupine's visualization of the
// longest linearizable prefix of each part is written there.
//
// A check that runs out of time is reported too, as inconclusive: a
// property that was not checked is not a property.
func CheckLinearizable(m porcupine.Model, ops []porcupine.Operation, timeout time.Duration, htmlPath string) *Violation {
	res, info := porcupine.CheckOperationsVerbose(m, ops, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return &Violation{Property: PropLinearizability,
			Detail: fmt.Sprintf("inconclusive: porcupine did not finish %d operations within %v", len(ops), timeout)}
	}
	v := &Violation{Property: PropLinearizability, Detail: fmt.Sprintf("no linearization of %d operations exists", len(ops))}
	if htmlPath != "" {
		// The detail stays the same with or without the file, so that a
		// replay compares equal.
		v.Artifact = htmlPath
		if err := porcupine.VisualizePath(m, info, htmlPath); err != nil {
			v.Artifact = fmt.Sprintf("(visualization failed: %v)", err)
		}
	}
	return v
}
