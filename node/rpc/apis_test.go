package rpc_test

import (
	"errors"
	"strings"
	"testing"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/rpc"
)

// Config.APIs selects the namespaces served: a method of a namespace left
// out answers -32601 (filters and debug included, registered apart), one
// of a namespace served answers; an unknown namespace is refused.
func TestConfigAPIs(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{ClientVersion: "meganode/test", APIs: []string{"net", "web3"}})
	var v string
	if err := h.raw.CallContext(h.ctx(), &v, "web3_clientVersion"); err != nil || v != "meganode/test" {
		t.Fatalf("web3_clientVersion: %q %v", v, err)
	}
	for _, m := range []string{"eth_chainId", "eth_newBlockFilter", "debug_traceTransaction", "txpool_status", "meganode_head", "realtime_sendRawTransaction"} {
		var out any
		err := h.raw.CallContext(h.ctx(), &out, m)
		var e gethrpc.Error
		if err == nil || !errors.As(err, &e) || e.ErrorCode() != -32601 {
			t.Errorf("%s with eth off: %v, want -32601", m, err)
		}
	}

	// All namespaces by default.
	all := newHarness(t)
	for _, m := range []string{"eth_chainId", "eth_newBlockFilter", "txpool_status", "meganode_head"} {
		var out any
		if err := all.raw.CallContext(all.ctx(), &out, m); err != nil {
			t.Errorf("%s by default: %v", m, err)
		}
	}
	var out any
	err := all.raw.CallContext(all.ctx(), &out, "debug_traceTransaction", "0x0000000000000000000000000000000000000000000000000000000000000001")
	var e gethrpc.Error
	if errors.As(err, &e) && e.ErrorCode() == -32601 {
		t.Errorf("debug_traceTransaction by default: %v", err)
	}

	if _, err := rpc.NewServer(all.b, rpc.Config{APIs: []string{"eth", "admin"}}); err == nil || !strings.Contains(err.Error(), `"admin"`) {
		t.Fatalf("unknown namespace: %v", err)
	}
}
