package raftlog

import (
	"context"
	"fmt"
	"log/slog"
)

// logger adapts the node's slog.Logger to raft.Logger. Raft's chatter
// (debug, info, warnings: elections, rejected appends, dropped proposals)
// goes out at debug level; its errors at error level. Panic and Fatal log,
// then panic: raft calls them on broken invariants and expects not to
// return (Fatal must not exit the process).
type logger struct{ l *slog.Logger }

func (g logger) emit(level slog.Level, msg func() string) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, msg())
	}
}

func (g logger) Debug(v ...any) { g.emit(slog.LevelDebug, func() string { return fmt.Sprint(v...) }) }
func (g logger) Debugf(f string, v ...any) {
	g.emit(slog.LevelDebug, func() string { return fmt.Sprintf(f, v...) })
}
func (g logger) Info(v ...any) { g.emit(slog.LevelDebug, func() string { return fmt.Sprint(v...) }) }
func (g logger) Infof(f string, v ...any) {
	g.emit(slog.LevelDebug, func() string { return fmt.Sprintf(f, v...) })
}
func (g logger) Warning(v ...any) { g.emit(slog.LevelDebug, func() string { return fmt.Sprint(v...) }) }
func (g logger) Warningf(f string, v ...any) {
	g.emit(slog.LevelDebug, func() string { return fmt.Sprintf(f, v...) })
}
func (g logger) Error(v ...any) { g.emit(slog.LevelError, func() string { return fmt.Sprint(v...) }) }
func (g logger) Errorf(f string, v ...any) {
	g.emit(slog.LevelError, func() string { return fmt.Sprintf(f, v...) })
}
func (g logger) Fatal(v ...any)            { g.die(fmt.Sprint(v...)) }
func (g logger) Fatalf(f string, v ...any) { g.die(fmt.Sprintf(f, v...)) }
func (g logger) Panic(v ...any)            { g.die(fmt.Sprint(v...)) }
func (g logger) Panicf(f string, v ...any) { g.die(fmt.Sprintf(f, v...)) }

func (g logger) die(msg string) {
	g.l.Error(msg)
	panic("raft: " + msg)
}
