package main

import (
	"encoding/json"
	"math/big"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
)

// gethDevDump is the shape of "geth --dev dumpgenesis" at v1.17.8,
// shortened: the experimental Bogota fork on, the dev gas limit, a
// precompile and a system contract in alloc, fields our go-ethereum does
// not know (slotNumber).
const gethDevDump = `{"config":{"chainId":1337,"homesteadBlock":0,"eip150Block":0,"eip155Block":0,"eip158Block":0,
"byzantiumBlock":0,"constantinopleBlock":0,"petersburgBlock":0,"istanbulBlock":0,"muirGlacierBlock":0,"berlinBlock":0,
"londonBlock":0,"arrowGlacierBlock":0,"grayGlacierBlock":0,"shanghaiTime":0,"cancunTime":0,"pragueTime":0,"osakaTime":0,
"bogotaTime":0,"terminalTotalDifficulty":0,"depositContractAddress":"0x0000000000000000000000000000000000000000",
"blobSchedule":{"cancun":{"target":3,"max":6,"baseFeeUpdateFraction":3338477},"prague":{"target":6,"max":9,"baseFeeUpdateFraction":5007716}}},
"nonce":"0x0","timestamp":"0x0","extraData":"0x","gasLimit":"0xaf79e0","difficulty":"0x0",
"mixHash":"0x0000000000000000000000000000000000000000000000000000000000000000","coinbase":"0x0000000000000000000000000000000000000000",
"alloc":{"0000000000000000000000000000000000000001":{"balance":"0x1"},
"000f3df6d732807ef1319fb7b8bb8522d0beac02":{"code":"0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500","balance":"0x0","nonce":"0x1"},
"158e464c239529803daf057f16f96a66ed7f8d1f":{"balance":"0x5"}},
"number":"0x0","gasUsed":"0x0","parentHash":"0x0000000000000000000000000000000000000000000000000000000000000000",
"baseFeePerGas":"0x3b9aca00","excessBlobGas":null,"blobGasUsed":null,"slotNumber":null}`

// The genesis bench-geth gives geth: Bogota dropped, Osaka on, the gas
// limit and the funded account set, everything else as geth wrote it.
func TestGethGenesisRewrite(t *testing.T) {
	funder := common.HexToAddress("0x158E464C239529803daf057f16F96A66ED7f8D1f") // already in alloc, lower case
	other := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	bal := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e18))
	out, err := gethGenesis([]byte(gethDevDump), 1_000_000_000, map[common.Address]*big.Int{funder: bal, other: big.NewInt(7)})
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Config     map[string]json.RawMessage `json:"config"`
		Alloc      map[string]json.RawMessage `json:"alloc"`
		GasLimit   string                     `json:"gasLimit"`
		SlotNumber json.RawMessage            `json:"slotNumber"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Config["bogotaTime"]; ok {
		t.Error("bogotaTime kept")
	}
	if string(raw.Config["osakaTime"]) != "0" {
		t.Errorf("osakaTime %s, want 0", raw.Config["osakaTime"])
	}
	if _, ok := raw.Config["blobSchedule"]; !ok {
		t.Error("blobSchedule dropped")
	}
	if raw.GasLimit != "0x3b9aca00" {
		t.Errorf("gasLimit %s, want 0x3b9aca00", raw.GasLimit)
	}
	if raw.SlotNumber == nil {
		t.Error("a field unknown to us (slotNumber) was dropped")
	}
	if len(raw.Alloc) != 4 {
		t.Errorf("%d accounts in alloc, want 4 (two of geth's, the funder once, the other)", len(raw.Alloc))
	}
	g := new(core.Genesis)
	if err := json.Unmarshal(out, g); err != nil {
		t.Fatalf("the rewritten genesis does not decode: %v", err)
	}
	if g.GasLimit != 1_000_000_000 || g.Config.ChainID.Uint64() != 1337 {
		t.Errorf("gas limit %d, chain id %v", g.GasLimit, g.Config.ChainID)
	}
	if !g.Config.IsOsaka(big.NewInt(0), 0) {
		t.Error("Osaka is not on at genesis")
	}
	if got := g.Alloc[funder].Balance; got == nil || got.Cmp(bal) != 0 {
		t.Errorf("funder balance %v, want %v", got, bal)
	}
	if got := g.Alloc[other].Balance; got == nil || got.Int64() != 7 {
		t.Errorf("other balance %v, want 7", got)
	}
	if len(g.Alloc[common.HexToAddress("0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02")].Code) == 0 {
		t.Error("the beacon roots contract lost its code")
	}
	if _, err := gethGenesis([]byte(`{"alloc":{}}`), 1, nil); err == nil {
		t.Error("a genesis without config was taken")
	}
}

// /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after
// the command name, which may hold spaces and parentheses.
func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		line         string
		utime, stime uint64
		ok           bool
	}{
		{"4242 (geth) S 1 4242 4242 0 -1 4194560 34170 0 0 0 1234 567 0 0 20 0 12 0 1000 2000000000 30000 18446744073709551615", 1234, 567, true},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 99 1 0 0 20 0 1 0 5 0 0", 99, 1, true},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 99", 0, 0, false},     // too short
		{"7 x R 1 7 7 0 -1 0 0 0 0 0 99 1 0 0", 0, 0, false}, // no command name
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 -1 1 0 0", 0, 0, false},
	} {
		u, s, err := parseProcStat([]byte(c.line))
		if (err == nil) != c.ok || u != c.utime || s != c.stime {
			t.Errorf("%q: %d %d %v, want %d %d ok=%v", c.line, u, s, err, c.utime, c.stime, c.ok)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Millisecond); time.Now().Before(deadline); {
	}
	if after, err := procCPU(os.Getpid()); err != nil || after < before {
		t.Errorf("CPU time went from %v to %v (%v)", before, after, err)
	}
}

// The longest mini-block gap counts the gaps open at the window's ends;
// the pace is back after n mini-blocks in a row close together.
func TestMiniBlockGaps(t *testing.T) {
	ts := []uint64{900, 1000, 1010, 1020, 1500, 1510, 1900, 2100}
	n, gap := miniBlockGaps(ts, 1000, 2000)
	if n != 6 || gap != 480*time.Microsecond {
		t.Errorf("n %d gap %v, want 6 and 480µs", n, gap)
	}
	if n, gap := miniBlockGaps(ts, 1600, 1800); n != 0 || gap != 200*time.Microsecond {
		t.Errorf("an empty window: n %d gap %v, want 0 and the whole window", n, gap)
	}
	if n, gap := miniBlockGaps(ts, 1005, 1600); n != 4 || gap != 480*time.Microsecond {
		t.Errorf("n %d gap %v", n, gap)
	}
	if d, ok := paceBack(ts, 950, 20, 3); !ok || d != 50*time.Microsecond {
		t.Errorf("pace back after %v %v, want 50µs", d, ok)
	}
	if _, ok := paceBack(ts, 1500, 20, 3); ok {
		t.Error("pace back without 3 close mini-blocks")
	}
}
