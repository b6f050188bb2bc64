package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rs/cors"
)

// What an operator needs around a running node: the version, the
// effective configuration, go-ethereum's HTTP protections (CORS and
// virtual hosts), the profiler, and pebble's log lines through slog.

// vcsCommit is the commit the binary was built from, as the go command
// stamps it: "unknown" when it did not (go run, go test, a build outside
// a checkout), with "-dirty" when the tree had changes.
func vcsCommit(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// printVersion prints what geth's version command prints, for meganode.
func printVersion(w io.Writer, bi *debug.BuildInfo, ok bool) {
	fmt.Fprintf(w, "meganode\nVersion: %s\nGit Commit: %s\nArchitecture: %s\nGo Version: %s\nOperating System: %s\n",
		version, vcsCommit(bi, ok), goruntime.GOARCH, goruntime.Version(), goruntime.GOOS)
}

// dumpConfig prints the effective configuration as TOML: the defaults,
// then --config's file, then the flags, as a role would run with them.
func dumpConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dumpconfig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meganode dumpconfig [--config FILE] [flags]\n\nPrints the configuration a role would run with (the defaults, the file, the flags) as TOML; the output is a valid --config file.\n\nFlags:")
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "meganode dumpconfig: %v\n", err)
		return 2
	}
	if err := toml.NewEncoder(stdout).Encode(cfg); err != nil {
		fmt.Fprintf(stderr, "meganode dumpconfig: %v\n", err)
		return 1
	}
	return 0
}

// newCorsHandler is go-ethereum's (node/rpcstack.go): no CORS headers
// unless origins are configured, then POST and GET from those origins,
// any header, preflights cached for 10 minutes.
func newCorsHandler(next http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodPost, http.MethodGet},
		AllowedHeaders: []string{"*"},
		MaxAge:         600,
	}).Handler(next)
}

// virtualHostHandler is go-ethereum's: it refuses a request whose Host
// header names a host not in vhosts (DNS rebinding), with 403 "invalid
// host specified". A missing Host and an IP address pass; "*" allows all.
type virtualHostHandler struct {
	vhosts map[string]bool
	next   http.Handler
}

func newVHostHandler(vhosts []string, next http.Handler) http.Handler {
	m := make(map[string]bool, len(vhosts))
	for _, v := range vhosts {
		m[strings.ToLower(v)] = true
	}
	return &virtualHostHandler{m, next}
}

func (h *virtualHostHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Host == "" {
		h.next.ServeHTTP(w, r)
		return
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil { // no port, or not a host:port
		host = r.Host
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil || h.vhosts["*"] || h.vhosts[strings.ToLower(host)] {
		h.next.ServeHTTP(w, r)
		return
	}
	http.Error(w, "invalid host specified", http.StatusForbidden)
}

// rpcVHosts is http.vhosts and the host of the rpc listen address.
func rpcVHosts(cfg *Config) []string {
	v := append([]string(nil), cfg.HTTPVHosts...)
	if host, _, err := net.SplitHostPort(cfg.RPC); err == nil && host != "" {
		v = append(v, host)
	}
	return v
}

// rpcHTTPHandler is the JSON-RPC listener's handler: a WebSocket upgrade
// goes to the server as is (go-ethereum checks neither vhosts nor CORS on
// WebSocket); an HTTP request passes the virtual-host check, then CORS,
// then the per-method metrics.
func rpcHTTPHandler(cfg *Config, srv http.Handler, m *metrics) http.Handler {
	h := newVHostHandler(rpcVHosts(cfg), newCorsHandler(m.rpcHandler(srv, rpcMaxBodyBytes), cfg.HTTPCorsDomain))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			srv.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// pprofAddr is where --pprof serves the profiler, "" when it is off.
func pprofAddr(cfg *Config) string {
	if !cfg.PProf {
		return ""
	}
	return net.JoinHostPort(cfg.PProfAddr, strconv.Itoa(cfg.PProfPort))
}

// addPprof serves Go's profiler on mux, as geth's --pprof does: the index,
// every named profile, CPU profiles and execution traces.
func addPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// pebbleLogger is pebble's Logger over slog, so that pebble's lines come
// out in the node's format (JSON in JSON mode). The Disk never calls
// Fatalf (it logs the message with Errorf and panics with a FatalError);
// should anything else, it logs and panics.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Info(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	l.log.Error(msg, "fatal", true)
	panic("pebble: " + msg)
}
