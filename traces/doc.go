// Package traces is the record of a simulated run, for replay and audit.
//
// A trace holds what makes the run reproducible (the seed, the profile and
// the configuration it derived, the build that ran it) and what happened:
// the event log (every delivered message, fired timer, crash, restart,
// pause, partition, disk fault, client call and return, with virtual
// times) and the violations the checkers found. The SHA-256 of the event
// log is the run's fingerprint: the same seed and build give the same one.
//
// In the data flow of DESIGN.md §6 the simulator (sim/) records a trace as
// it runs; megasim writes it to a file on a failure; `megasim replay` reads
// it, re-runs the seed and compares the two logs event by event, reporting
// the first that differs. The file format is versioned and compressed; a
// file of another version is refused with a clear message, never misread.
package traces
