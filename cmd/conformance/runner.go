package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/chain"
	mexec "github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

//go:embed skip.txt
var skipList string

type options struct {
	root   string // the ethereum-tests directory
	fork   string
	filter *regexp.Regexp
	every  int
	jobs   int
}

type failure struct {
	name string
	err  error
}

type result struct {
	passed, skipped int
	failures        []failure
}

// skipRule is one line of skip.txt.
type skipRule struct{ pattern, reason string }

func parseSkips(text string) []skipRule {
	var out []skipRule
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pat, reason, _ := strings.Cut(line, " ")
		out = append(out, skipRule{pattern: pat, reason: strings.TrimSpace(reason)})
	}
	return out
}

func skipped(rules []skipRule, file, test string) bool {
	for _, r := range rules {
		if r.pattern == file || r.pattern == file+"/"+test {
			return true
		}
	}
	return false
}

// findFixtures locates the ethereum-tests directory.
func findFixtures(dir string) (string, error) {
	var candidates []string
	if dir != "" {
		candidates = append(candidates, dir)
	} else {
		if env := os.Getenv("MEGANODE_CONFORMANCE_DIR"); env != "" {
			candidates = append(candidates, env)
		}
		if top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
			candidates = append(candidates, filepath.Join(strings.TrimSpace(string(top)), "..", "shared", "conformance", "ethereum-tests"))
		}
		if wd, err := os.Getwd(); err == nil {
			for d := wd; ; d = filepath.Dir(d) {
				candidates = append(candidates, filepath.Join(d, "..", "shared", "conformance", "ethereum-tests"))
				if filepath.Dir(d) == d {
					break
				}
			}
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(filepath.Join(c, "GeneralStateTests")); err == nil && st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	return "", fmt.Errorf("Ethereum test fixtures not found (looked for GeneralStateTests in %s); "+
		"put ethereum-tests at ../shared/conformance/ethereum-tests beside the repository, or set MEGANODE_CONFORMANCE_DIR",
		strings.Join(candidates, ", "))
}

// The fixture format: https://ethereum-tests.readthedocs.io/en/latest/test_types/state_tests.html

type stEnv struct {
	Coinbase      common.Address        `json:"currentCoinbase"`
	Difficulty    *math.HexOrDecimal256 `json:"currentDifficulty"`
	Random        *math.HexOrDecimal256 `json:"currentRandom"`
	GasLimit      math.HexOrDecimal64   `json:"currentGasLimit"`
	Number        math.HexOrDecimal64   `json:"currentNumber"`
	Timestamp     math.HexOrDecimal64   `json:"currentTimestamp"`
	BaseFee       *math.HexOrDecimal256 `json:"currentBaseFee"`
	ExcessBlobGas *math.HexOrDecimal64  `json:"currentExcessBlobGas"`
}

type stPost struct {
	Root            common.Hash   `json:"hash"`
	Logs            common.Hash   `json:"logs"`
	TxBytes         hexutil.Bytes `json:"txbytes"`
	ExpectException string        `json:"expectException"`
}

type stTest struct {
	Env  stEnv               `json:"env"`
	Pre  types.GenesisAlloc  `json:"pre"`
	Post map[string][]stPost `json:"post"`
}

// cancunConfig is the chain configuration of the fixtures' "Cancun" fork.
func forkConfig(fork string) (*params.ChainConfig, error) {
	if fork != "Cancun" {
		return nil, fmt.Errorf("fork %q is not supported (only Cancun)", fork)
	}
	c := *params.MergedTestChainConfig
	c.ChainID = big.NewInt(1)
	c.PragueTime, c.OsakaTime = nil, nil
	c.BlobScheduleConfig = &params.BlobScheduleConfig{Cancun: params.DefaultCancunBlobConfig}
	return &c, nil
}

// job is one case: a file, a test in it, and one post-state.
type job struct {
	file, test string
	index      int
	t          *stTest
}

func (j job) name() string { return fmt.Sprintf("%s/%s[%d]", j.file, j.test, j.index) }

// runAll runs every selected case of the fork.
func runAll(o options) (result, error) {
	cfg, err := forkConfig(o.fork)
	if err != nil {
		return result{}, err
	}
	ex, err := mexec.New(mexec.Config{Chain: cfg}) // consensus rules only: the fixtures test Ethereum, not our policy
	if err != nil {
		return result{}, err
	}
	base := filepath.Join(o.root, "GeneralStateTests")
	var files []string
	err = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			rel, _ := filepath.Rel(base, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	slices.Sort(files)
	rules := parseSkips(skipList)
	if o.every < 1 {
		o.every = 1
	}
	if o.jobs < 1 {
		o.jobs = 1
	}

	var (
		res   result
		mu    sync.Mutex
		work  = make(chan job, 64)
		wg    sync.WaitGroup
		seq   int
		names []string
	)
	for range o.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				err := runCase(ex, j.t, j.t.Post[o.fork][j.index])
				mu.Lock()
				if err != nil {
					res.failures = append(res.failures, failure{j.name(), err})
				} else {
					res.passed++
				}
				mu.Unlock()
			}
		}()
	}
	var loadErr error
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(base, f))
		if err != nil {
			loadErr = err
			break
		}
		var tests map[string]*stTest
		if err := json.Unmarshal(raw, &tests); err != nil {
			loadErr = fmt.Errorf("%s: %w", f, err)
			break
		}
		names = names[:0]
		for name := range tests { // sorted below
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			t := tests[name]
			for i := range t.Post[o.fork] {
				j := job{file: f, test: name, index: i, t: t}
				if o.filter != nil && !o.filter.MatchString(j.name()) {
					continue
				}
				seq++
				if (seq-1)%o.every != 0 {
					continue
				}
				if skipped(rules, f, name) {
					mu.Lock()
					res.skipped++
					mu.Unlock()
					continue
				}
				work <- j
			}
		}
	}
	close(work)
	wg.Wait()
	if loadErr != nil {
		return result{}, loadErr
	}
	slices.SortFunc(res.failures, func(a, b failure) int { return strings.Compare(a.name, b.name) })
	return res, nil
}

// vmTestBlockHash is the BLOCKHASH the fixtures assume.
func vmTestBlockHash(n uint64) common.Hash {
	return common.BytesToHash(crypto.Keccak256([]byte(big.NewInt(int64(n)).String())))
}

// runCase executes one post-state's transaction through node/exec and
// node/state and compares root and logs.
func runCase(ex *mexec.Executor, t *stTest, post stPost) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	st, err := state.FromAlloc(t.Pre)
	if err != nil {
		return fmt.Errorf("pre-state: %w", err)
	}
	header := &types.Header{
		Number:     new(big.Int).SetUint64(uint64(t.Env.Number)),
		Time:       uint64(t.Env.Timestamp),
		Coinbase:   t.Env.Coinbase,
		GasLimit:   uint64(t.Env.GasLimit),
		BaseFee:    big.NewInt(0x0a),
		Difficulty: new(big.Int),
	}
	if t.Env.BaseFee != nil {
		header.BaseFee = (*big.Int)(t.Env.BaseFee)
	}
	if t.Env.Random != nil {
		header.MixDigest = common.BigToHash((*big.Int)(t.Env.Random))
	} else if t.Env.Difficulty != nil {
		header.Difficulty = (*big.Int)(t.Env.Difficulty)
	}
	if t.Env.ExcessBlobGas != nil {
		ebg := uint64(*t.Env.ExcessBlobGas)
		header.ExcessBlobGas = &ebg
	}
	var (
		receipt *types.Receipt
		txErr   error
	)
	tx, txErr := chain.DecodeTx(post.TxBytes)
	if txErr == nil {
		block := ex.NewBlock(st, header, vmTestBlockHash)
		receipt, _, txErr = block.ApplyTx(tx)
		if txErr == nil {
			if err := st.Apply(block.Flush()); err != nil {
				return err
			}
		}
	}
	switch {
	case post.ExpectException != "" && txErr == nil:
		return fmt.Errorf("expected %s, but the transaction was executed", post.ExpectException)
	case post.ExpectException == "" && txErr != nil:
		return fmt.Errorf("unexpected error: %w", txErr)
	}
	if root := st.Root(); root != post.Root {
		return fmt.Errorf("state root %v, want %v", root, post.Root)
	}
	if post.ExpectException == "" {
		logs, _ := rlp.EncodeToBytes(receipt.Logs)
		if h := crypto.Keccak256Hash(logs); h != post.Logs {
			return fmt.Errorf("logs hash %v, want %v", h, post.Logs)
		}
	}
	return nil
}
