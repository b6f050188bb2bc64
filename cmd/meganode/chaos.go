package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// chaosOptions drive a chaos campaign.
type chaosOptions struct {
	cycles       int
	sequencers   int // 1, or a group's size: each cycle then kill -9s the group's leader
	seed         uint64
	senders      int
	rate         float64 // sends per second, all senders together; 0: each as fast as its receipts come
	minGap       time.Duration
	maxGap       time.Duration
	otherEvery   int // kill a random fullnode or prover with the sequencer every N-th cycle; 0: never
	damageEvery  int // damage a fullnode's data directory every N-th cycle; 0: never
	damageAtEnd  bool
	fullnodes    int
	provers      int
	dir          string
	keep         bool
	rpcPort      int
	p2pPort      int
	metricsPort  int
	sendTimeout  time.Duration
	upWithin     time.Duration // a restarted node must answer within this
	syncWithin   time.Duration // a fullnode must reach a block within this
	resyncWithin time.Duration // a damaged or wiped fullnode must re-sync within this
	recheck      int           // older acknowledgements read again after each restart; 0: all
	flags        []string      // the flags given, but --seed and --dir
}

// again is the command that makes the same choices: the flags given, with
// the seed drawn.
func (o *chaosOptions) again() string {
	return strings.Join(append([]string{"meganode chaos", "--seed", strconv.FormatUint(o.seed, 10)}, o.flags...), " ")
}

func chaos(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := chaosOptions{}
	fs.IntVar(&o.cycles, "cycles", 50, "kill -9 cycles of the sequencer")
	fs.IntVar(&o.sequencers, "sequencers", 1, "sequencers: 1, or an odd number for a raft group, whose leader each cycle kill -9s (and times the failover: from the kill to the next term's first mini-block)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of every choice the campaign makes (gaps, victims, damage); 0: a random one, printed")
	fs.IntVar(&o.senders, "senders", 4, "sending accounts (devnet dev accounts 0..N-1, at most 10), each with one eth_sendRawTransactionSync in flight")
	fs.Float64Var(&o.rate, "rate", 0, "sends per second, all senders together; 0: each sender sends again as soon as it has its receipt")
	fs.DurationVar(&o.minGap, "min-gap", time.Second, "shortest time between two kills of the sequencer")
	fs.DurationVar(&o.maxGap, "max-gap", 6*time.Second, "longest time between two kills of the sequencer")
	fs.IntVar(&o.otherEvery, "other-every", 5, "every N-th cycle also kill -9 a random fullnode or prover; 0: never")
	fs.IntVar(&o.damageEvery, "damage-every", 0, "every N-th cycle also damage a random fullnode's pebble data (WAL tail, then .sst/MANIFEST bytes, alternately); 0: never")
	fs.BoolVar(&o.damageAtEnd, "damage-at-end", true, "after the last cycle, damage the fullnodes' data: one WAL tail truncated, one .sst or MANIFEST overwritten")
	fs.IntVar(&o.fullnodes, "fullnodes", 2, "fullnodes")
	fs.IntVar(&o.provers, "provers", 2, "provers")
	fs.StringVar(&o.dir, "dir", "", "campaign directory (keys, configs, data, logs); it must not hold a devnet; default: a temporary one, removed after a passing run unless --keep")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary campaign directory after a passing run")
	fs.IntVar(&o.rpcPort, "rpc-port", 0, "the sequencer's JSON-RPC port, fullnodes the next ones; 0: free ports found on 127.0.0.1 (for every port flag)")
	fs.IntVar(&o.p2pPort, "p2p-port", 0, "first libp2p port; 0: after the RPC ports")
	fs.IntVar(&o.metricsPort, "metrics-port", 0, "first metrics port; 0: after the libp2p ports")
	fs.DurationVar(&o.sendTimeout, "send-timeout", 5*time.Second, "how long a sender waits for the receipt of a sync send before taking it as unacknowledged")
	fs.DurationVar(&o.upWithin, "up-within", 60*time.Second, "a restarted node must answer (eth_blockNumber, or /metrics for DA and provers) within this")
	fs.DurationVar(&o.syncWithin, "sync-within", 60*time.Second, "a fullnode must reach the block of the newest acknowledged transaction within this")
	fs.IntVar(&o.recheck, "recheck", 500, "after each restart, read again by receipt this many older acknowledgements (drawn at random), besides every new one and the hash of the newest block an older one names; 0: every one, every time (slow once there are tens of thousands)")
	fs.DurationVar(&o.resyncWithin, "resync-within", 3*time.Minute, "a fullnode restarted on damaged or wiped data must reach the sequencer's head within this")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: meganode chaos [--cycles N] [--seed S] [flags]

Runs a chaos campaign against a fresh local devnet of separate processes
(sequencer, DA, fullnodes, provers) on free loopback ports: senders send
transfers with eth_sendRawTransactionSync while the campaign kill -9s the
sequencer every --min-gap to --max-gap (and now and then a fullnode or a
prover), restarts it at once and times its recovery; after every restart it
checks that every acknowledged transaction is still where its receipt said,
on the sequencer and on every fullnode. At the end it damages fullnodes'
pebble data (a WAL tail cut, bytes of an .sst or the MANIFEST overwritten)
and requires each to refuse to start (then it wipes and re-syncs it) or to
start and agree with the sequencer; then it compares every sealed block's
hash and state root across nodes and each sender's nonces. It closes with
"N cycles, M acknowledged, L lost" and exits non-zero on any loss,
disagreement or damage handled wrongly. The choices follow --seed.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meganode chaos: unexpected arguments %v\n", fs.Args())
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "meganode chaos: %v\n", err)
		return 2
	}
	if o.seed == 0 {
		o.seed = mrand.Uint64()>>1 | 1
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "seed" && f.Name != "dir" && f.Name != "keep" {
			o.flags = append(o.flags, "--"+f.Name+"="+f.Value.String())
		}
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runChaos(ctx, o, stdout)
}

func (o *chaosOptions) check() error {
	switch {
	case o.cycles < 0:
		return fmt.Errorf("--cycles %d: want 0 or more", o.cycles)
	case o.sequencers < 1 || o.sequencers%2 == 0:
		return fmt.Errorf("--sequencers %d: want 1, or an odd number (a raft group needs a majority)", o.sequencers)
	case o.senders < 1 || o.senders > DevAccounts:
		return fmt.Errorf("--senders %d: want 1 to %d (the devnet's funded accounts)", o.senders, DevAccounts)
	case o.minGap <= 0 || o.maxGap < o.minGap:
		return fmt.Errorf("--min-gap %v, --max-gap %v: want 0 < min <= max", o.minGap, o.maxGap)
	case o.fullnodes < 1:
		return fmt.Errorf("--fullnodes %d: the campaign checks fullnodes; want 1 or more", o.fullnodes)
	case o.provers < 0 || o.otherEvery < 0 || o.damageEvery < 0 || o.rate < 0 || o.recheck < 0:
		return errors.New("--provers, --other-every, --damage-every, --rate and --recheck must not be negative")
	}
	return nil
}

// chaosStep is one cycle of the campaign's schedule.
type chaosStep struct {
	Gap    time.Duration // from the previous kill (or the start) to this one
	Other  string        // a fullnode or prover killed with the sequencer; "" none
	Damage *chaosDamage  // damage done after the cycle's check; nil none
}

// chaosDamage is one damage to a fullnode's pebble directory. The draws
// are made when the schedule is; the file sizes they apply to are not
// known until then.
type chaosDamage struct {
	Node     string
	Kind     string  // "wal": the newest WAL's tail cut; "corrupt": bytes overwritten
	Bytes    int     // bytes cut or overwritten (capped at the file's size)
	Manifest bool    // corrupt: the current MANIFEST rather than an .sst
	Pick     float64 // corrupt: which .sst, as a fraction of the sorted list
	Where    float64 // corrupt: where, as a fraction of the file's middle half
	Fill     uint64  // corrupt: seed of the bytes XORed in
}

// chaosSchedule is every choice a campaign makes, from its seed.
type chaosSchedule struct {
	Steps []chaosStep
	End   []chaosDamage // damage after the last cycle, in order
}

// planChaos draws a campaign's choices from seed: the gaps between kills,
// the other victims, and what to damage where. fullnodes and others (the
// fullnodes and provers) are node names; the schedule depends on nothing
// else, so the same seed and flags give the same schedule.
func planChaos(seed uint64, o chaosOptions, fullnodes, others []string) chaosSchedule {
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	damage := func(node, kind string) chaosDamage {
		d := chaosDamage{Node: node, Kind: kind}
		if kind == "wal" {
			d.Bytes = 1 + r.IntN(64<<10)
		} else {
			d.Bytes = 1 + r.IntN(64)
			d.Manifest = r.IntN(2) == 0
			d.Pick, d.Where, d.Fill = r.Float64(), r.Float64(), r.Uint64()|1
		}
		return d
	}
	var s chaosSchedule
	span := int64(o.maxGap - o.minGap)
	damages := 0
	for i := 1; i <= o.cycles; i++ {
		st := chaosStep{Gap: o.minGap}
		if span > 0 {
			st.Gap += time.Duration(r.Int64N(span + 1))
		}
		if o.otherEvery > 0 && i%o.otherEvery == 0 && len(others) > 0 {
			st.Other = others[r.IntN(len(others))]
		}
		if o.damageEvery > 0 && i%o.damageEvery == 0 && len(fullnodes) > 0 {
			// The kinds alternate: a WAL tail, then bytes of an .sst or the MANIFEST.
			d := damage(fullnodes[r.IntN(len(fullnodes))], []string{"wal", "corrupt"}[damages%2])
			st.Damage = &d
			damages++
		}
		s.Steps = append(s.Steps, st)
	}
	if o.damageAtEnd && len(fullnodes) > 0 {
		// Both kinds, on different fullnodes where there are two.
		first := r.IntN(len(fullnodes))
		s.End = append(s.End, damage(fullnodes[first], "wal"), damage(fullnodes[(first+1)%len(fullnodes)], "corrupt"))
	}
	return s
}

// chaosAck is an acknowledged transaction: what its receipt said.
type chaosAck struct {
	Hash      common.Hash
	Sender    int
	Nonce     uint64
	Block     uint64
	BlockHash common.Hash
	Index     uint
	Status    uint64
}

// chaosReceipt is what the campaign reads of a receipt.
type chaosReceipt struct {
	TxHash      common.Hash    `json:"transactionHash"`
	BlockNumber hexutil.Uint64 `json:"blockNumber"`
	BlockHash   common.Hash    `json:"blockHash"`
	Index       hexutil.Uint   `json:"transactionIndex"`
	Status      hexutil.Uint64 `json:"status"`
}

// ackDiff says how receipt r differs from acknowledgement a: "" when it
// does not, "missing" when there is none.
func ackDiff(a chaosAck, r *chaosReceipt) string {
	if r == nil {
		return "missing"
	}
	var d []string
	if r.TxHash != a.Hash {
		d = append(d, fmt.Sprintf("tx hash %s, not %s", r.TxHash, a.Hash))
	}
	if uint64(r.BlockNumber) != a.Block {
		d = append(d, fmt.Sprintf("block %d, not %d", r.BlockNumber, a.Block))
	}
	if r.BlockHash != a.BlockHash {
		d = append(d, fmt.Sprintf("block hash %s, not %s", r.BlockHash.TerminalString(), a.BlockHash.TerminalString()))
	}
	if uint(r.Index) != a.Index {
		d = append(d, fmt.Sprintf("index %d, not %d", r.Index, a.Index))
	}
	if uint64(r.Status) != a.Status {
		d = append(d, fmt.Sprintf("status %d, not %d", r.Status, a.Status))
	}
	return strings.Join(d, ", ")
}

// chaosLoss is an acknowledged transaction missing or changed.
type chaosLoss struct {
	Ack chaosAck
	Why string
}

// checkAcks compares each acknowledgement with the receipt fetched for it
// (receipts[i] for acks[i], nil where the node had none) and returns those
// missing or changed.
func checkAcks(acks []chaosAck, receipts []*chaosReceipt) []chaosLoss {
	var lost []chaosLoss
	for i, a := range acks {
		var r *chaosReceipt
		if i < len(receipts) {
			r = receipts[i]
		}
		if why := ackDiff(a, r); why != "" {
			lost = append(lost, chaosLoss{a, why})
		}
	}
	return lost
}

// percentile is the nearest-rank p-th percentile (0 < p <= 1) of ds, 0
// for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// nonceProblems checks one sender's nonces: count is its transaction count
// at the chain's head, acked the nonces of its acknowledged transactions,
// and included says, for a nonce below count that no acknowledgement
// names, whether one of the transactions the sender sent with it is in the
// chain. Each nonce below count must then be taken by a transaction the
// sender sent, each acknowledged one once, and none acknowledged at or
// above count.
func nonceProblems(count uint64, acked []uint64, included map[uint64]bool) []string {
	var out []string
	seen := map[uint64]bool{}
	for _, n := range acked {
		if seen[n] {
			out = append(out, fmt.Sprintf("nonce %d acknowledged twice", n))
		}
		seen[n] = true
		if n >= count {
			out = append(out, fmt.Sprintf("nonce %d acknowledged, but the account's count is %d", n, count))
		}
	}
	for n := uint64(0); n < count; n++ {
		if !seen[n] && !included[n] {
			out = append(out, fmt.Sprintf("nonce %d taken by no transaction the sender sent", n))
		}
	}
	return out
}

// chaosBlock is what the campaign compares of a sealed block.
type chaosBlock struct {
	Number    hexutil.Uint64 `json:"number"`
	Hash      common.Hash    `json:"hash"`
	StateRoot common.Hash    `json:"stateRoot"`
}

// compareBlocks compares a node's blocks with the sequencer's, both
// fetched for the same numbers, and describes every disagreement.
func compareBlocks(want, got []*chaosBlock) []string {
	var out []string
	for i, w := range want {
		var g *chaosBlock
		if i < len(got) {
			g = got[i]
		}
		switch {
		case w == nil:
			out = append(out, fmt.Sprintf("block #%d missing on the sequencer", i))
		case g == nil:
			out = append(out, fmt.Sprintf("block %d missing", w.Number))
		case g.Number != w.Number:
			out = append(out, fmt.Sprintf("asked for block %d, got %d", w.Number, g.Number))
		case g.Hash != w.Hash || g.StateRoot != w.StateRoot:
			out = append(out, fmt.Sprintf("block %d: hash %s root %s, sequencer hash %s root %s",
				w.Number, g.Hash.TerminalString(), g.StateRoot.TerminalString(), w.Hash.TerminalString(), w.StateRoot.TerminalString()))
		}
	}
	return out
}

// errorLine finds what a node that stopped said, in one line of at most
// 300 characters: the error it exited with (the err of its "exiting"
// line), else the first error it logged (its err, else its msg), else its
// first panic or fatal line, else its last line.
func errorLine(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	isErr := func(l string) bool {
		return strings.Contains(l, "level=ERROR") || strings.Contains(l, `"level":"ERROR"`)
	}
	pick := ""
	for _, l := range lines {
		if isErr(l) && strings.Contains(l, "msg=exiting") {
			pick = l
			break
		}
	}
	if pick == "" {
		for _, l := range lines {
			if isErr(l) {
				pick = l
				break
			}
		}
	}
	if pick != "" {
		pick = strings.TrimSpace(logValue(pick, "err", logValue(pick, "msg", pick)))
	}
	if pick == "" {
		for _, l := range lines {
			if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
				pick = strings.TrimSpace(l)
				break
			}
		}
	}
	for i := len(lines) - 1; pick == "" && i >= 0; i-- {
		pick = strings.TrimSpace(lines[i])
	}
	if pick == "" {
		return "(it said nothing)"
	}
	pick, _, _ = strings.Cut(pick, "\n")
	// Pebble's corruption errors name the file's key bounds, binary keys
	// that say little: keep the file and the details.
	if i := strings.Index(pick, "; bounds: ["); i >= 0 {
		if j := strings.Index(pick[i:], "; details: "); j >= 0 {
			pick = pick[:i] + pick[i+j:]
		}
	}
	pick = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, pick)
	if r := []rune(pick); len(r) > 300 {
		pick = string(r[:300]) + "…"
	}
	return pick
}

// logValue is the value of key in a log/slog text line (unquoted), else
// def.
func logValue(line, key, def string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return def
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		// A quoted value ends at the first unescaped quote.
		for j := 1; j < len(v); j++ {
			if v[j] == '\\' {
				j++
				continue
			}
			if v[j] == '"' {
				if u, err := strconv.Unquote(v[:j+1]); err == nil {
					return u
				}
				return v[1:j]
			}
		}
		return v
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// truncateTail cuts up to n bytes off the end of the file at path and
// returns how many it cut and the size it had.
func truncateTail(path string, n int) (cut, size int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	size = fi.Size()
	cut = min(int64(n), size)
	return cut, size, os.Truncate(path, size-cut)
}

// corruptMiddle XORs n bytes drawn from fill (each non-zero, so every byte
// changes) into the file at path, at where (a fraction) of its middle
// half, and returns the offset and the count written.
func corruptMiddle(path string, n int, where float64, fill uint64) (off int64, wrote int, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, 0, fmt.Errorf("%s is empty", path)
	}
	n = int(min(int64(n), size))
	lo, hi := size/4, size*3/4-int64(n)
	if hi < lo {
		lo, hi = 0, size-int64(n)
	}
	off = lo + int64(where*float64(hi-lo))
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return 0, 0, err
	}
	r := mrand.New(mrand.NewPCG(fill, fill>>7|1))
	for i := range buf {
		buf[i] ^= byte(1 + r.IntN(255))
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		return 0, 0, err
	}
	return off, n, f.Sync()
}

// newestWAL is the newest (highest-numbered) non-empty pebble WAL file in
// dir.
func newestWAL(dir string) (string, error) {
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return "", err
	}
	sort.Strings(logs) // pebble numbers its files with leading zeros
	for i := len(logs) - 1; i >= 0; i-- {
		if fi, err := os.Stat(logs[i]); err == nil && fi.Size() > 0 {
			return logs[i], nil
		}
	}
	return "", fmt.Errorf("no non-empty WAL (*.log) in %s", dir)
}

// currentManifest is the MANIFEST file pebble's CURRENT names in dir,
// else the newest there is.
func currentManifest(dir string) (string, error) {
	if raw, err := os.ReadFile(filepath.Join(dir, "CURRENT")); err == nil {
		if name := strings.TrimSpace(string(raw)); name != "" {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name), nil
			}
		}
	}
	ms, err := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	if err != nil || len(ms) == 0 {
		return "", fmt.Errorf("no MANIFEST in %s", dir)
	}
	sort.Strings(ms)
	return ms[len(ms)-1], nil
}

// applyDamage does d to the pebble directory dir and describes what it
// did.
func applyDamage(dir string, d chaosDamage) (string, error) {
	if d.Kind == "wal" {
		wal, err := newestWAL(dir)
		if err != nil {
			return "", err
		}
		cut, size, err := truncateTail(wal, d.Bytes)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("WAL tail truncated by %d B (%s, %d B → %d B)", cut, filepath.Base(wal), size, size-cut), nil
	}
	target := ""
	if !d.Manifest {
		ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
		sort.Strings(ssts)
		if len(ssts) > 0 {
			target = ssts[min(int(d.Pick*float64(len(ssts))), len(ssts)-1)]
		}
	}
	what := ".sst"
	if target == "" {
		what = "MANIFEST"
		if !d.Manifest {
			what = "MANIFEST (no .sst yet)"
		}
		m, err := currentManifest(dir)
		if err != nil {
			return "", err
		}
		target = m
	}
	off, n, err := corruptMiddle(target, d.Bytes, d.Where, d.Fill)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s bytes overwritten: %d B at offset %d of %s", what, n, off, filepath.Base(target)), nil
}

// chaosProc is one node process the campaign started.
type chaosProc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	logOff  int64         // the log's size when it started
	done    chan struct{} // closed once it exited
	state   *os.ProcessState
	expect  atomic.Bool // its exit is the campaign's doing (or the campaign watches for it)
}

func (p *chaosProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// chaosSupervisor starts, kills and stops the devnet's processes; it
// restarts what it kills only when told, and reports the exits it did not
// cause.
type chaosSupervisor struct {
	exe    string
	nodes  map[string]devnetNode
	onExit func(p *chaosProc) // an exit the campaign did not cause
	mu     sync.Mutex
	procs  map[string]*chaosProc
	closed bool
}

// start starts node name, writing a line saying why into its log first.
// With watched, the process's exit is not reported: the caller watches.
func (s *chaosSupervisor) start(name, why string, watched bool) (*chaosProc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("the campaign is stopping")
	}
	n := s.nodes[name]
	logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "--- meganode chaos: %s %s at %s ---\n", why, name, time.Now().Format(time.RFC3339Nano))
	off, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(s.exe, n.Role, "--config", n.Config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = chaosSysProcAttr()
	p := &chaosProc{name: name, cmd: cmd, logOff: off, done: make(chan struct{})}
	p.expect.Store(watched)
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s.procs[name] = p
	go func() {
		_ = cmd.Wait()
		logf.Close()
		p.state = cmd.ProcessState
		close(p.done)
		if !p.expect.Load() && s.onExit != nil {
			s.onExit(p)
		}
	}()
	return p, nil
}

func (s *chaosSupervisor) proc(name string) *chaosProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

// kill SIGKILLs node name's process group and waits for it to exit.
func (s *chaosSupervisor) kill(name string) error {
	p := s.proc(name)
	if p == nil || p.exited() {
		return nil
	}
	p.expect.Store(true)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) survived kill -9 for 10 s", name, p.cmd.Process.Pid)
	}
}

// stopAll stops every process: SIGTERM to its group, then SIGKILL to the
// groups still there after grace. Nothing starts after it.
func (s *chaosSupervisor) stopAll(grace time.Duration) {
	s.mu.Lock()
	s.closed = true
	procs := make([]*chaosProc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		p.expect.Store(true)
		if !p.exited() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	for _, p := range procs {
		if !p.exited() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

// chaosCampaign is one run.
type chaosCampaign struct {
	o       chaosOptions
	out     io.Writer
	plan    *devnetPlan
	dir     string
	nodes   map[string]devnetNode
	datadir map[string]string
	sup     *chaosSupervisor
	rpcs    map[string]*gethrpc.Client // the nodes that serve JSON-RPC
	probe   *http.Client
	signer  types.Signer

	mu         sync.Mutex
	acks       []chaosAck
	sent       map[[2]uint64][]common.Hash // every transaction sent, by sender and nonce
	unacked    int
	lost       map[common.Hash]string // acknowledged transactions missing or changed, with where and how
	failures   []string
	blame      []string       // the nodes whose logs explain the failures
	done       map[string]int // per node: the first this many acks were checked there
	recovery   map[string][]time.Duration
	crashes    map[string]int
	damageNote []string
	failovers  []time.Duration // a group's: from the leader's kill to the next term's first mini-block
	seqs       []string        // the sequencers' names: "sequencer", or the group's members
}

func (c *chaosCampaign) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// fail records a failure of node (which may be "") and prints it.
func (c *chaosCampaign) fail(node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if node != "" {
		msg = node + ": " + msg
	}
	c.mu.Lock()
	c.failures = append(c.failures, msg)
	if node != "" && !slices.Contains(c.blame, node) {
		c.blame = append(c.blame, node)
	}
	fmt.Fprintf(c.out, "FAIL %s\n", msg)
	c.mu.Unlock()
}

func runChaos(ctx context.Context, o chaosOptions, out io.Writer) int {
	start := time.Now()
	c := &chaosCampaign{o: o, out: out, sent: map[[2]uint64][]common.Hash{}, lost: map[common.Hash]string{},
		recovery: map[string][]time.Duration{}, done: map[string]int{}, crashes: map[string]int{}, rpcs: map[string]*gethrpc.Client{},
		nodes: map[string]devnetNode{}, datadir: map[string]string{},
		probe:  &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		signer: types.LatestSignerForChainID(big.NewInt(DevChainID))}
	fmt.Fprintf(out, "chaos: seed %d (the same choices again: %s)\n", o.seed, o.again())
	temp := o.dir == ""
	if err := c.prepare(); err != nil {
		fmt.Fprintf(out, "chaos: %v\n", err)
		if temp && c.dir != "" {
			os.RemoveAll(c.dir)
		}
		return 1
	}
	code := c.run(ctx, start)
	if code == 0 && temp && !o.keep {
		os.RemoveAll(c.dir)
	} else {
		fmt.Fprintf(out, "campaign directory (configs, data, logs): %s\n", c.dir)
	}
	return code
}

// prepare writes the devnet and opens the clients.
func (c *chaosCampaign) prepare() error {
	if c.o.dir == "" {
		d, err := os.MkdirTemp("", "meganode-chaos-")
		if err != nil {
			return err
		}
		c.dir = d
	} else {
		d, err := filepath.Abs(c.o.dir)
		if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(d, "devnet.json")); err == nil {
			return fmt.Errorf("%s holds a devnet already: the campaign needs a fresh one (remove it or name another --dir)", d)
		}
		c.dir = d
	}
	nodes := c.o.sequencers + 1 + c.o.fullnodes + c.o.provers
	rpcPort, p2pPort, metricsPort := c.o.rpcPort, c.o.p2pPort, c.o.metricsPort
	if rpcPort == 0 || p2pPort == 0 || metricsPort == 0 {
		base, err := freePortRange(3*nodes + 2)
		if err != nil {
			return err
		}
		if rpcPort == 0 {
			rpcPort = base
		}
		if p2pPort == 0 {
			p2pPort = base + nodes + 1
		}
		if metricsPort == 0 {
			metricsPort = base + 2*nodes + 1
		}
	}
	plan, err := prepareDevnetGroup(c.dir, c.o.sequencers, c.o.fullnodes, c.o.provers, rpcPort, p2pPort, metricsPort, 10*time.Millisecond, 100, "text", DevGasLimit)
	if err != nil {
		return err
	}
	c.plan = plan
	for _, n := range plan.Nodes {
		if n.Role == "sequencer" {
			c.seqs = append(c.seqs, n.Name)
		}
	}
	for _, n := range plan.Nodes {
		c.nodes[n.Name] = n
		cfg, err := loadConfig(flag.NewFlagSet(n.Name, flag.ContinueOnError), []string{"--config", n.Config})
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		c.datadir[n.Name] = cfg.DataDir
		if n.RPC != "" {
			cl, err := gethrpc.DialOptions(context.Background(), "http://"+n.RPC,
				gethrpc.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}))
			if err != nil {
				return err
			}
			c.rpcs[n.Name] = cl
		}
	}
	exe, err := copyOwnBinary(filepath.Join(c.dir, "meganode"))
	if err != nil {
		return err
	}
	c.sup = &chaosSupervisor{exe: exe, nodes: c.nodes, procs: map[string]*chaosProc{}, onExit: c.unexpectedExit}
	return nil
}

// copyOwnBinary copies the running binary to path, so that every node the
// campaign starts, restarts included, runs the same build even if the
// binary it was started from is rebuilt meanwhile.
func copyOwnBinary(path string) (string, error) {
	src, err := os.Open("/proc/self/exe") // the running file, even if replaced since
	if err != nil {
		exe, err2 := os.Executable()
		if err2 != nil {
			return "", err2
		}
		if src, err = os.Open(exe); err != nil {
			return "", err
		}
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return "", err
	}
	return path, dst.Close()
}

func (c *chaosCampaign) names(role string) []string {
	var out []string
	for _, n := range c.plan.Nodes {
		if n.Role == role {
			out = append(out, n.Name)
		}
	}
	return out
}

// unexpectedExit is a node exiting on its own: a failure; the campaign
// restarts it (three times at most per node) to go on.
func (c *chaosCampaign) unexpectedExit(p *chaosProc) {
	c.fail(p.name, "exited on its own (%v) %v after it started, saying: %s (log %s)", p.state, time.Since(p.started).Round(time.Millisecond),
		errorLine(c.logSince(p.name, p.logOff)), c.nodes[p.name].Log)
	c.mu.Lock()
	c.crashes[p.name]++
	again := c.crashes[p.name] <= 3
	c.mu.Unlock()
	if again {
		time.Sleep(500 * time.Millisecond)
		if _, err := c.sup.start(p.name, "restart after its own exit:", false); err == nil {
			c.printf("chaos: restarted %s after it exited on its own\n", p.name)
		}
	}
}

func (c *chaosCampaign) run(ctx context.Context, start time.Time) int {
	defer func() {
		c.sup.stopAll(10 * time.Second)
		for _, cl := range c.rpcs {
			cl.Close()
		}
	}()
	fmt.Fprintf(c.out, "chaos: devnet in %s: %d nodes, sequencer JSON-RPC http://%s\n", c.dir, len(c.plan.Nodes), c.nodes[c.seqs[0]].RPC)
	if len(c.seqs) > 1 {
		fmt.Fprintf(c.out, "chaos: a sequencer group of %d: each cycle kill -9s its leader\n", len(c.seqs))
	}
	for _, n := range c.plan.Nodes {
		if _, err := c.sup.start(n.Name, "start", false); err != nil {
			c.fail(n.Name, "%v", err)
			return c.finish(start, 0)
		}
	}
	for _, n := range c.plan.Nodes {
		if _, err := c.waitUp(ctx, n.Name, c.o.upWithin); err != nil {
			c.fail(n.Name, "%v", err)
			return c.finish(start, 0)
		}
	}
	fullnodes := c.names("fullnode")
	others := append(slices.Clone(fullnodes), c.names("prover")...)
	sched := planChaos(c.o.seed, c.o, fullnodes, others)
	fmt.Fprintf(c.out, "chaos: every node answers; %d senders, %d cycles, kills every %v–%v\n", c.o.senders, c.o.cycles, c.o.minGap, c.o.maxGap)

	loadCtx, stopLoad := context.WithCancel(ctx)
	var senders sync.WaitGroup
	for i := range c.o.senders {
		senders.Add(1)
		go func() { defer senders.Done(); c.sender(loadCtx, i) }()
	}
	stopSenders := func() { stopLoad(); senders.Wait() }
	defer stopSenders()

	cycles := 0
	prevAcks := 0
	for i, st := range sched.Steps {
		if !sleepCtx(ctx, st.Gap) {
			break
		}
		line := c.cycle(ctx, i+1, st)
		if ctx.Err() != nil {
			break
		}
		cycles++
		c.mu.Lock()
		n, un := len(c.acks), c.unacked
		c.mu.Unlock()
		c.printf("cycle %2d/%d  +%.1fs  %s | acks %d (+%d), unacked %d\n", i+1, len(sched.Steps), st.Gap.Seconds(), line, n, n-prevAcks, un)
		prevAcks = n
		if st.Damage != nil {
			c.damage(ctx, *st.Damage)
		}
	}
	stopSenders()
	if ctx.Err() != nil {
		c.fail("", "interrupted after %d cycles", cycles)
		return c.finish(start, cycles)
	}
	c.printf("chaos: load stopped\n")
	for _, d := range sched.End {
		c.damage(ctx, d)
	}
	c.final(ctx)
	return c.finish(start, cycles)
}

// cycle kills the sequencer (and st.Other), restarts them, times their
// recovery and checks every acknowledgement; it describes what happened.
func (c *chaosCampaign) cycle(ctx context.Context, n int, st chaosStep) string {
	victims := []string{c.seqs[0]}
	var failover chan string
	if len(c.seqs) > 1 {
		leader, term, err := c.leader(ctx)
		if err != nil {
			c.fail("", "cycle %d: finding the group's leader: %v", n, err)
			return "no leader to kill"
		}
		victims[0] = leader
		failover = make(chan string, 1)
		killed := time.Now()
		go func() { failover <- c.timeFailover(ctx, n, leader, term, killed) }()
	}
	if st.Other != "" {
		victims = append(victims, st.Other)
	}
	took := make([]string, len(victims))
	var wg sync.WaitGroup
	for i, v := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := 0
			if p := c.sup.proc(v); p != nil {
				pid = p.cmd.Process.Pid
			}
			if err := c.sup.kill(v); err != nil {
				c.fail(v, "%v", err)
				took[i] = v + " would not die"
				return
			}
			if _, err := c.sup.start(v, fmt.Sprintf("cycle %d: restart after kill -9 of", n), false); err != nil {
				c.fail(v, "%v", err)
				took[i] = v + " not restarted"
				return
			}
			d, err := c.waitUp(ctx, v, c.o.upWithin)
			if err != nil {
				if ctx.Err() == nil {
					c.fail(v, "cycle %d: after kill -9 (pid %d) and restart: %v", n, pid, err)
				}
				took[i] = v + " did not come back"
				return
			}
			role := c.nodes[v].Role
			c.mu.Lock()
			c.recovery[role] = append(c.recovery[role], d)
			c.mu.Unlock()
			took[i] = fmt.Sprintf("%s up in %d ms", v, d.Milliseconds())
		}()
	}
	wg.Wait()
	line := "kill -9 " + strings.Join(took, ", ")
	if failover != nil {
		line += " | " + <-failover
	}
	if ctx.Err() != nil {
		return line
	}
	return line + " | " + c.checkAll(ctx, n, c.o.syncWithin, false)
}

// waitUp waits for node name's newest process to answer: eth_blockNumber
// on a node with JSON-RPC, /metrics on the others. It returns the time
// from the process's start.
func (c *chaosCampaign) waitUp(ctx context.Context, name string, within time.Duration) (time.Duration, error) {
	p := c.sup.proc(name)
	if p == nil {
		return 0, errors.New("not started")
	}
	deadline := time.Now().Add(within)
	for {
		if p.exited() {
			return 0, fmt.Errorf("exited (%v) while starting: %s", p.state, errorLine(c.logSince(name, p.logOff)))
		}
		if c.answers(ctx, name) {
			return time.Since(p.started), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("does not answer within %v", within)
		}
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
}

// answers says whether node name answers now.
func (c *chaosCampaign) answers(ctx context.Context, name string) bool {
	n := c.nodes[name]
	var req *http.Request
	if n.RPC != "" {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.RPC, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Metrics+"/metrics", nil)
	}
	resp, err := c.probe.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return false
	}
	if n.RPC == "" {
		return true
	}
	var a struct {
		Result *hexutil.Uint64 `json:"result"`
	}
	return json.Unmarshal(body, &a) == nil && a.Result != nil
}

// logSince is node name's log from offset off on.
func (c *chaosCampaign) logSince(name string, off int64) string {
	raw, err := os.ReadFile(c.nodes[name].Log)
	if err != nil || off > int64(len(raw)) {
		return ""
	}
	return string(raw[off:])
}

// sender sends transfers from dev account i until ctx is done: one
// eth_sendRawTransactionSync at a time, each acknowledged one recorded.
// After a send that fails or times out it learns its nonce again
// (pending), once the sequencer answers.
func (c *chaosCampaign) sender(ctx context.Context, i int) {
	key := DevKey(i)
	from := crypto.PubkeyToAddress(key.PublicKey)
	to := common.BigToAddress(big.NewInt(int64(0xc4a05000 + i)))
	// A group's sender sends to the member it believes leads, and moves
	// to the next after an error (a member that does not lead refuses
	// sends, naming the leader), as a wallet given the members would.
	var cls []*gethrpc.Client
	for _, name := range c.seqs {
		cl, err := gethrpc.DialOptions(ctx, "http://"+c.nodes[name].RPC,
			gethrpc.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}))
		if err != nil {
			c.fail("", "sender %d: %v", i, err)
			return
		}
		defer cl.Close()
		cls = append(cls, cl)
	}
	cur := i % len(cls)
	cl := cls[cur]
	var pace *time.Ticker
	if c.o.rate > 0 {
		pace = time.NewTicker(time.Duration(float64(c.o.senders) * float64(time.Second) / c.o.rate))
		defer pace.Stop()
	}
	known := false
	var nonce uint64
	maxAcked := int64(-1)
	for ctx.Err() == nil {
		if !known {
			var n hexutil.Uint64
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := cl.CallContext(cctx, &n, "eth_getTransactionCount", from, "pending")
			cancel()
			if err != nil {
				sleepCtx(ctx, 50*time.Millisecond)
				continue
			}
			if int64(n) <= maxAcked && ctx.Err() == nil {
				if len(cls) == 1 {
					c.fail(c.seqs[0], "sender %d (%s): pending nonce %d, but nonce %d was acknowledged", i, from, n, maxAcked)
				} else {
					// A group member answers from what it applied,
					// which may trail the leader's acknowledgement by a
					// commit: ask again (the checks after every cycle
					// find a loss).
					sleepCtx(ctx, 20*time.Millisecond)
					continue
				}
			}
			nonce, known = uint64(n), true
		}
		if pace != nil {
			select {
			case <-pace.C:
			case <-ctx.Done():
				return
			}
		}
		tx, err := types.SignNewTx(key, c.signer, &types.DynamicFeeTx{ChainID: big.NewInt(DevChainID), Nonce: nonce,
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(50 * params.GWei), Gas: 21_000, To: &to, Value: big.NewInt(1)})
		if err != nil {
			c.fail("", "sender %d: signing: %v", i, err)
			return
		}
		raw, _ := tx.MarshalBinary()
		c.mu.Lock()
		k := [2]uint64{uint64(i), nonce}
		if !slices.Contains(c.sent[k], tx.Hash()) {
			c.sent[k] = append(c.sent[k], tx.Hash())
		}
		c.mu.Unlock()
		var r *chaosReceipt
		sctx, cancel := context.WithTimeout(ctx, c.o.sendTimeout)
		err = cl.CallContext(sctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(raw))
		cancel()
		if err != nil || r == nil {
			if ctx.Err() != nil {
				return
			}
			c.mu.Lock()
			c.unacked++
			c.mu.Unlock()
			known = false
			if len(cls) > 1 {
				cur = (cur + 1) % len(cls)
				cl = cls[cur]
			}
			sleepCtx(ctx, 20*time.Millisecond)
			continue
		}
		a := chaosAck{Hash: tx.Hash(), Sender: i, Nonce: nonce, Block: uint64(r.BlockNumber), BlockHash: r.BlockHash, Index: uint(r.Index), Status: uint64(r.Status)}
		if r.TxHash != tx.Hash() {
			c.fail(c.seqs[cur], "sender %d: the receipt of %s names transaction %s", i, tx.Hash(), r.TxHash)
		}
		c.mu.Lock()
		c.acks = append(c.acks, a)
		c.mu.Unlock()
		maxAcked = int64(nonce)
		nonce++
	}
}

// snapshotAcks is a copy of the acknowledgements so far.
func (c *chaosCampaign) snapshotAcks() []chaosAck {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.acks)
}

// checkAll checks the acknowledgements on the sequencer and on every
// fullnode (in parallel), giving fullnodes up to within to reach the
// newest acknowledged block; it describes the outcome. With full (at the
// end) it reads every acknowledgement's receipt on every node; after a
// restart it reads those of every acknowledgement not yet checked on the
// node, a sample of --recheck older ones (all with --recheck 0), and the
// hash of the newest block an older one names (see verify).
func (c *chaosCampaign) checkAll(ctx context.Context, cycle int, within time.Duration, full bool) string {
	acks := c.snapshotAcks()
	t0 := time.Now()
	names := append(slices.Clone(c.seqs), c.names("fullnode")...)
	res := make([]chaosVerified, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := within
			if c.lone(name) { // a lone sequencer holds what it acknowledged at once
				w = 5 * time.Second
			}
			r := mrand.New(mrand.NewPCG(c.o.seed, uint64(cycle)<<8|uint64(i)))
			res[i] = c.verify(ctx, cycle, name, acks, w, full, r)
		}()
	}
	wg.Wait()
	var fresh, older int
	var anchor uint64
	var states []string
	for _, v := range res {
		fresh, older, anchor = max(fresh, v.fresh), max(older, v.older), max(anchor, v.anchor)
		states = append(states, v.name+" "+v.state)
	}
	what := fmt.Sprintf("%d acks", fresh)
	if !full {
		what = fmt.Sprintf("%d new + %d older acks", fresh, older)
		if anchor > 0 {
			what += fmt.Sprintf(", block %d's hash", anchor)
		}
	}
	return fmt.Sprintf("checked %s in %.1fs: %s", what, time.Since(t0).Seconds(), strings.Join(states, ", "))
}

// chaosVerified is what verify did on one node.
type chaosVerified struct {
	name         string
	fresh, older int    // receipts read: acknowledgements not checked there before, older ones
	anchor       uint64 // the block whose hash was compared
	state        string // "ok", "N LOST", "unchecked"
}

// pickRecheck returns the indices of the acknowledgements to read by
// receipt: every one from done (those checked on the node before are the
// first done) to total, and of the older ones all when sample is 0 or
// there are no more than sample, else sample of them drawn by r, in
// order.
func pickRecheck(done, total, sample int, r *mrand.Rand) []int {
	var out []int
	if sample <= 0 || done <= sample {
		for i := range done {
			out = append(out, i)
		}
	} else {
		out = r.Perm(done)[:sample]
		slices.Sort(out)
	}
	for i := done; i < total; i++ {
		out = append(out, i)
	}
	return out
}

// verify checks acks on node name: it waits (up to within) for the node
// to reach the newest block they name, then reads receipts (all of them
// with full, else those pickRecheck picks) and, unless full, compares the
// hash of the newest block an already checked acknowledgement names: the
// blocks are hash-linked, so that one unchanged means every block below it
// is too, with the transactions and receipts their headers commit to. It
// records losses and failures.
func (c *chaosCampaign) verify(ctx context.Context, cycle int, name string, acks []chaosAck, within time.Duration, full bool, r *mrand.Rand) chaosVerified {
	v := chaosVerified{name: name, state: "unchecked"}
	done := 0
	if !full {
		c.mu.Lock()
		done = min(c.done[name], len(acks))
		c.mu.Unlock()
	}
	var need uint64
	for _, a := range acks[done:] {
		need = max(need, a.Block)
	}
	var anchor *chaosAck
	for i := range acks[:done] {
		if anchor == nil || acks[i].Block > anchor.Block {
			anchor = &acks[i]
		}
	}
	if anchor != nil {
		need = max(need, anchor.Block)
	}
	head, err := c.waitHead(ctx, name, need, within)
	when := "at the end"
	if cycle > 0 {
		when = fmt.Sprintf("cycle %d", cycle)
	}
	if err != nil {
		if ctx.Err() == nil {
			c.fail(name, "%s: %v", when, err)
		}
		return v
	}
	if head < need && !c.lone(name) {
		c.fail(name, "%s: at block %d, short of block %d (the newest acknowledged) after %v", when, head, need, within)
	}
	nLost := 0
	if anchor != nil && anchor.Block <= head {
		b, err := c.blocks(ctx, name, anchor.Block, anchor.Block)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(name, "%s: reading block %d: %v", when, anchor.Block, err)
			}
			return v
		}
		v.anchor = anchor.Block
		if b[0] == nil || b[0].Hash != anchor.BlockHash {
			got := "none"
			if b[0] != nil {
				got = b[0].Hash.Hex()
			}
			c.fail(name, "%s: block %d is now %s, not %s (the block of acknowledged %s)", when, anchor.Block, got, anchor.BlockHash, anchor.Hash)
			c.lose(*anchor, fmt.Sprintf("%s, %s: its block %d changed hash", name, when, anchor.Block))
			nLost++
		}
	}
	var have []chaosAck
	var firstShort = -1
	for _, i := range pickRecheck(done, len(acks), c.o.recheck, r) {
		a := acks[i]
		switch {
		case a.Block <= head:
			have = append(have, a)
			if i < done {
				v.older++
			} else {
				v.fresh++
			}
		case c.lone(name):
			c.lose(a, fmt.Sprintf("%s, %s: its block %d is gone (head %d)", name, when, a.Block, head))
			nLost++
		case firstShort < 0 && i >= done:
			firstShort = i
		}
	}
	receipts, err := c.receipts(ctx, name, have)
	if err != nil {
		if ctx.Err() == nil {
			c.fail(name, "%s: reading receipts: %v", when, err)
		}
		return v
	}
	lost := checkAcks(have, receipts)
	for _, l := range lost {
		c.lose(l.Ack, fmt.Sprintf("%s, %s: %s (sender %d nonce %d, acknowledged in block %d index %d)", name, when, l.Why, l.Ack.Sender, l.Ack.Nonce, l.Ack.Block, l.Ack.Index))
	}
	nLost += len(lost)
	if !full {
		c.mu.Lock()
		if firstShort >= 0 {
			c.done[name] = firstShort
		} else {
			c.done[name] = len(acks)
		}
		c.mu.Unlock()
	}
	v.state = "ok"
	if nLost > 0 {
		v.state = fmt.Sprintf("%d LOST", nLost)
	}
	return v
}

// lose records acknowledged transaction a as lost, once.
func (c *chaosCampaign) lose(a chaosAck, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.lost[a.Hash]; ok {
		return
	}
	c.lost[a.Hash] = why
	if len(c.lost) <= 20 {
		fmt.Fprintf(c.out, "LOST %s: %s\n", a.Hash, why)
	}
	node, _, _ := strings.Cut(why, ",")
	if !slices.Contains(c.blame, node) {
		c.blame = append(c.blame, node)
	}
}

// head is node name's eth_blockNumber.
func (c *chaosCampaign) head(ctx context.Context, name string) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var n hexutil.Uint64
	err := c.rpcs[name].CallContext(cctx, &n, "eth_blockNumber")
	return uint64(n), err
}

// waitHead waits until node name's head reaches need, up to within; it
// returns the head it saw last, and an error only if it could read none.
func (c *chaosCampaign) waitHead(ctx context.Context, name string, need uint64, within time.Duration) (uint64, error) {
	deadline := time.Now().Add(within)
	var head uint64
	var err error
	seen := false
	for {
		var h uint64
		if h, err = c.head(ctx, name); err == nil {
			head, seen = h, true
			if head >= need {
				return head, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if !seen {
				return 0, fmt.Errorf("eth_blockNumber: %v", err)
			}
			return head, nil
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// chaosBatch is how many calls go in one JSON-RPC batch (the node's
// bound, rpc.Config.BatchItems), and chaosBatchesInFlight how many
// batches go to one node at once.
const (
	chaosBatch           = 100
	chaosBatchesInFlight = 4
)

// batch runs the calls of elems in batches, several at once, each retried
// a few times while the node does not answer; it returns the first error.
func (c *chaosCampaign) batch(ctx context.Context, name string, elems []gethrpc.BatchElem) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, chaosBatchesInFlight)
	for lo := 0; lo < len(elems); lo += chaosBatch {
		part := elems[lo:min(lo+chaosBatch, len(elems))]
		slots <- struct{}{}
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := c.batchOne(ctx, name, part); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// batchOne runs one batch, retried a few times while the node does not
// answer.
func (c *chaosCampaign) batchOne(ctx context.Context, name string, part []gethrpc.BatchElem) error {
	var err error
	for try := 0; try < 5; try++ {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = c.rpcs[name].BatchCallContext(cctx, part)
		cancel()
		if err == nil {
			for _, e := range part {
				if e.Error != nil {
					err = fmt.Errorf("%s: %w", e.Method, e.Error)
					break
				}
			}
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
	return err
}

// receipts fetches the receipts of acks on node name (nil where it has
// none).
func (c *chaosCampaign) receipts(ctx context.Context, name string, acks []chaosAck) ([]*chaosReceipt, error) {
	out := make([]*chaosReceipt, len(acks))
	elems := make([]gethrpc.BatchElem, len(acks))
	for i, a := range acks {
		elems[i] = gethrpc.BatchElem{Method: "eth_getTransactionReceipt", Args: []any{a.Hash}, Result: &out[i]}
	}
	return out, c.batch(ctx, name, elems)
}

// blocks fetches blocks from..to (inclusive) of node name.
func (c *chaosCampaign) blocks(ctx context.Context, name string, from, to uint64) ([]*chaosBlock, error) {
	if to < from {
		return nil, nil
	}
	out := make([]*chaosBlock, to-from+1)
	elems := make([]gethrpc.BatchElem, len(out))
	for i := range out {
		elems[i] = gethrpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.Uint64(from + uint64(i)), false}, Result: &out[i]}
	}
	return out, c.batch(ctx, name, elems)
}

// agree compares node name's blocks 1..upto with the sequencer's, a batch
// at a time; it returns the disagreements (at most 5 described) and an
// error if it could not read them.
func (c *chaosCampaign) agree(ctx context.Context, name string, upto uint64) ([]string, error) {
	var bad []string
	const step = 2000
	ref := c.ref(ctx)
	for from := uint64(1); from <= upto; from += step {
		to := min(from+step-1, upto)
		want, err := c.blocks(ctx, ref, from, to)
		if err != nil {
			return bad, fmt.Errorf("sequencer's blocks %d..%d: %w", from, to, err)
		}
		got, err := c.blocks(ctx, name, from, to)
		if err != nil {
			return bad, fmt.Errorf("blocks %d..%d: %w", from, to, err)
		}
		for _, d := range compareBlocks(want, got) {
			if len(bad) < 5 {
				bad = append(bad, d)
			} else if len(bad) == 5 {
				bad = append(bad, "…")
			}
		}
	}
	return bad, nil
}

// damage kills fullnode d.Node, damages its pebble data, restarts it and
// judges what it did: refusing to start with a non-zero exit (then the
// campaign wipes its data and it must re-sync), or starting and agreeing
// with the sequencer on every block.
func (c *chaosCampaign) damage(ctx context.Context, d chaosDamage) {
	name := d.Node
	dbdir := filepath.Join(c.datadir[name], "db")
	if err := c.sup.kill(name); err != nil {
		c.fail(name, "damage: %v", err)
		return
	}
	what, err := applyDamage(dbdir, d)
	if err != nil {
		c.fail(name, "damage (%s) could not be done: %v", d.Kind, err)
		what = "nothing damaged (" + err.Error() + ")"
	}
	c.printf("damage: %s: %s; restarting it\n", name, what)
	c.mu.Lock()
	c.done[name] = 0 // the next check reads every receipt there
	c.mu.Unlock()
	p, err := c.sup.start(name, "restart on damaged data ("+what+"):", true)
	if err != nil {
		c.fail(name, "%v", err)
		return
	}
	outcome, ok := c.judgeStart(ctx, name, p)
	if ctx.Err() != nil {
		return
	}
	note := fmt.Sprintf("%s: %s → %s", name, what, outcome)
	if !ok {
		c.fail(name, "damage handled wrongly: %s", note)
	}
	c.mu.Lock()
	c.damageNote = append(c.damageNote, note)
	c.mu.Unlock()
	c.printf("damage: %s\n", note)
	// From here on its exits are news again.
	if p := c.sup.proc(name); p != nil && !p.exited() {
		p.expect.Store(false)
	}
}

// judgeStart watches node name, just started on damaged data, and says
// what it did and whether that is acceptable.
func (c *chaosCampaign) judgeStart(ctx context.Context, name string, p *chaosProc) (string, bool) {
	_, err := c.waitUp(ctx, name, c.o.upWithin)
	if err == nil {
		// It started: it must re-sync and agree with the sequencer.
		n, bad, err := c.resync(ctx, name, p)
		switch {
		case err == nil && len(bad) == 0:
			return fmt.Sprintf("started, re-synced to block %d, hashes and roots agree", n), true
		case err == nil:
			return fmt.Sprintf("started with WRONG state: %s", strings.Join(bad, "; ")), false
		case !p.exited():
			return fmt.Sprintf("started, but %v", err), false
		}
		// It exited after starting: as good as a refusal if it says why.
		code := p.state.ExitCode()
		msg := errorLine(c.logSince(name, p.logOff))
		if code == 0 {
			return fmt.Sprintf("started, then exited 0 (%s)", msg), false
		}
		out, ok := c.wipeAndResync(ctx, name)
		return fmt.Sprintf("started, then stopped with exit %d: %s; %s", code, msg, out), ok
	}
	if !p.exited() {
		tail := logTail(c.nodes[name].Log, 5)
		_ = c.sup.kill(name)
		out, _ := c.wipeAndResync(ctx, name)
		return fmt.Sprintf("neither answered nor exited within %v (a retry loop?); last lines:\n%s\n  then %s", c.o.upWithin, tail, out), false
	}
	code := p.state.ExitCode()
	msg := errorLine(c.logSince(name, p.logOff))
	if code == 0 {
		return fmt.Sprintf("exited 0 on damaged data: %s", msg), false
	}
	out, ok := c.wipeAndResync(ctx, name)
	return fmt.Sprintf("refused to start (exit %d): %s; %s", code, msg, out), ok
}

// wipeAndResync removes node name's database, starts it again and waits
// for it to re-sync and agree with the sequencer.
func (c *chaosCampaign) wipeAndResync(ctx context.Context, name string) (string, bool) {
	_ = c.sup.kill(name)
	if err := os.RemoveAll(filepath.Join(c.datadir[name], "db")); err != nil {
		return "wiping its data: " + err.Error(), false
	}
	p, err := c.sup.start(name, "restart on wiped data:", true)
	if err != nil {
		return err.Error(), false
	}
	if _, err := c.waitUp(ctx, name, c.o.upWithin); err != nil {
		return fmt.Sprintf("wiped, but then %v", err), false
	}
	n, bad, err := c.resync(ctx, name, p)
	switch {
	case err != nil:
		return fmt.Sprintf("wiped, but %v", err), false
	case len(bad) > 0:
		return fmt.Sprintf("wiped, re-synced with WRONG state: %s", strings.Join(bad, "; ")), false
	}
	return fmt.Sprintf("wiped, re-synced to block %d, hashes and roots agree", n), true
}

// resync waits for node name to reach the sequencer's head and compares
// their blocks up to it.
func (c *chaosCampaign) resync(ctx context.Context, name string, p *chaosProc) (uint64, []string, error) {
	target, err := c.head(ctx, c.ref(ctx))
	if err != nil {
		return 0, nil, fmt.Errorf("the sequencer's head: %w", err)
	}
	deadline := time.Now().Add(c.o.resyncWithin)
	var head uint64
	for {
		if p.exited() {
			return 0, nil, fmt.Errorf("exited (%v) while re-syncing", p.state)
		}
		if h, err := c.head(ctx, name); err == nil {
			head = h
			if head >= target {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("did not re-sync: at block %d of %d after %v", head, target, c.o.resyncWithin)
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return 0, nil, ctx.Err()
		}
	}
	bad, err := c.agree(ctx, name, target)
	if err != nil && p.exited() {
		return 0, nil, fmt.Errorf("exited (%v) while compared", p.state)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("comparing blocks: %v", err)
	}
	return target, bad, nil
}

// final runs the checks at the end: the fullnodes catch up, every
// acknowledgement on every node, every block's hash and root, every
// sender's nonces.
func (c *chaosCampaign) final(ctx context.Context) {
	// Let what was in flight when the load stopped seal.
	sleepCtx(ctx, 1500*time.Millisecond)
	ref := c.ref(ctx)
	target, err := c.head(ctx, ref)
	if err != nil {
		c.fail(ref, "at the end: eth_blockNumber: %v", err)
		return
	}
	res := c.checkAll(ctx, 0, c.o.syncWithin, true)
	c.printf("final: %s\n", res)
	// Every sealed block, 1 to the lowest common head.
	low := target
	fullnodes := c.names("fullnode")
	for _, f := range fullnodes {
		h, err := c.waitHead(ctx, f, target, c.o.syncWithin)
		if err != nil {
			c.fail(f, "at the end: %v", err)
			continue
		}
		if h < target {
			c.fail(f, "at the end: at block %d, the sequencer at %d, after %v", h, target, c.o.syncWithin)
		}
		low = min(low, h)
	}
	for _, f := range fullnodes {
		bad, err := c.agree(ctx, f, low)
		if err != nil {
			c.fail(f, "at the end: %v", err)
		}
		for _, b := range bad {
			c.fail(f, "at the end: disagrees with the sequencer: %s", b)
		}
	}
	c.printf("final: blocks 1..%d: hash and state root compared, sequencer against %s\n", low, strings.Join(fullnodes, ", "))
	// Nonces.
	for i := range c.o.senders {
		if msg := c.checkNonces(ctx, i); msg != "" {
			c.printf("final: %s\n", msg)
		}
	}
}

// checkNonces checks sender i's nonces on the sequencer: its transaction
// count at latest, every acknowledged nonce below it and distinct, and
// each other nonce below it taken by a transaction the sender sent (its
// receipt found by the hashes sent with that nonce).
func (c *chaosCampaign) checkNonces(ctx context.Context, i int) string {
	from := crypto.PubkeyToAddress(DevKey(i).PublicKey)
	var count hexutil.Uint64
	ref := c.ref(ctx)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := c.rpcs[ref].CallContext(cctx, &count, "eth_getTransactionCount", from, "latest")
	cancel()
	if err != nil {
		c.fail(ref, "at the end: sender %d's count: %v", i, err)
		return ""
	}
	c.mu.Lock()
	var acked []uint64
	for _, a := range c.acks {
		if a.Sender == i {
			acked = append(acked, a.Nonce)
		}
	}
	ackedSet := map[uint64]bool{}
	for _, n := range acked {
		ackedSet[n] = true
	}
	var ask []common.Hash
	var askNonce []uint64
	for n := uint64(0); n < uint64(count); n++ {
		if !ackedSet[n] {
			for _, h := range c.sent[[2]uint64{uint64(i), n}] {
				ask, askNonce = append(ask, h), append(askNonce, n)
			}
		}
	}
	c.mu.Unlock()
	included := map[uint64]bool{}
	if len(ask) > 0 {
		rs := make([]*chaosReceipt, len(ask))
		elems := make([]gethrpc.BatchElem, len(ask))
		for j, h := range ask {
			elems[j] = gethrpc.BatchElem{Method: "eth_getTransactionReceipt", Args: []any{h}, Result: &rs[j]}
		}
		if err := c.batch(ctx, ref, elems); err != nil {
			c.fail(ref, "at the end: sender %d's unacknowledged receipts: %v", i, err)
			return ""
		}
		for j, r := range rs {
			if r != nil {
				included[askNonce[j]] = true
			}
		}
	}
	probs := nonceProblems(uint64(count), acked, included)
	for k, p := range probs {
		if k == 5 {
			c.fail(ref, "sender %d: … %d nonce problems in all", i, len(probs))
			break
		}
		c.fail(ref, "sender %d (%s): %s", i, from, p)
	}
	return fmt.Sprintf("sender %d: count %d, %d acknowledged, %d more taken by its unacknowledged sends, no gaps: %v",
		i, count, len(acked), len(included), len(probs) == 0)
}

// finish prints the summary and says the exit code.
func (c *chaosCampaign) finish(start time.Time, cycles int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.out
	fmt.Fprintln(w, "---")
	for _, d := range c.damageNote {
		fmt.Fprintf(w, "damage: %s\n", d)
	}
	fmt.Fprintf(w, "unacknowledged sends (errors or timeouts; each may or may not be in the chain): %d\n", c.unacked)
	seq := c.recovery["sequencer"]
	fmt.Fprintf(w, "%d cycles, %d acknowledged, %d lost\n", cycles, len(c.acks), len(c.lost))
	fmt.Fprintf(w, "recovery p50 %d ms, max %d ms (sequencer, %d restarts)\n", percentile(seq, 0.5).Milliseconds(), percentile(seq, 1).Milliseconds(), len(seq))
	if len(c.seqs) > 1 {
		fmt.Fprintf(w, "failover p50 %d ms, max %d ms (%d leader kills; from the kill -9 to the next term's first mini-block on another member)\n",
			percentile(c.failovers, 0.5).Milliseconds(), percentile(c.failovers, 1).Milliseconds(), len(c.failovers))
	}
	for _, role := range []string{"fullnode", "prover"} {
		if ds := c.recovery[role]; len(ds) > 0 {
			fmt.Fprintf(w, "recovery %s p50 %d ms, max %d ms (%d restarts)\n", role, percentile(ds, 0.5).Milliseconds(), percentile(ds, 1).Milliseconds(), len(ds))
		}
	}
	fmt.Fprintf(w, "seed %d, took %v\n", c.o.seed, time.Since(start).Round(time.Second))
	if len(c.failures) == 0 && len(c.lost) == 0 {
		fmt.Fprintln(w, "PASS")
		return 0
	}
	if len(c.lost) > 20 {
		fmt.Fprintf(w, "(%d more lost transactions not listed)\n", len(c.lost)-20)
	}
	fmt.Fprintf(w, "FAIL: %d failures, %d lost; the same choices again: %s\n", len(c.failures), len(c.lost), c.o.again())
	for _, f := range c.failures[:min(len(c.failures), 30)] {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintln(w, "logs:")
	for _, n := range c.plan.Nodes {
		fmt.Fprintf(w, "  %-10s %s\n", n.Name, n.Log)
	}
	shown := 0
	for _, name := range c.blame {
		if n, ok := c.nodes[name]; ok && shown < 3 {
			fmt.Fprintf(w, "--- last lines of %s ---\n%s\n", n.Log, logTail(n.Log, 15))
			shown++
		}
	}
	return 1
}

// sleepCtx sleeps d unless ctx is done first; it says whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isSeq says whether node name is a sequencer (a group member).
func (c *chaosCampaign) isSeq(name string) bool { return slices.Contains(c.seqs, name) }

// groupMiniBlock is what the campaign reads of a group member's newest
// mini-block.
type groupMiniBlock struct {
	Number hexutil.Uint64  `json:"number"`
	Term   hexutil.Uint64  `json:"term"`
	Signer *common.Address `json:"signer"`
}

// newestMiniBlock is member name's newest mini-block: its number, the term
// it was built in and who signed it.
func (c *chaosCampaign) newestMiniBlock(ctx context.Context, name string) (*groupMiniBlock, error) {
	return newestMiniBlockOf(ctx, c.rpcs[name])
}

// newestMiniBlockOf is a node's newest mini-block, by its client.
func newestMiniBlockOf(ctx context.Context, cl *gethrpc.Client) (*groupMiniBlock, error) {
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var head struct {
		MiniBlock hexutil.Uint64 `json:"miniBlockNumber"`
	}
	if err := cl.CallContext(cctx, &head, "meganode_head"); err != nil {
		return nil, err
	}
	var mb *groupMiniBlock
	if err := cl.CallContext(cctx, &mb, "meganode_getMiniBlockByNumber", head.MiniBlock); err != nil {
		return nil, err
	}
	if mb == nil {
		return nil, fmt.Errorf("mini-block %d, its head, not found", head.MiniBlock)
	}
	return mb, nil
}

// leader finds the group's leader and its term.
func (c *chaosCampaign) leader(ctx context.Context) (string, uint64, error) {
	members := make([]devnetNode, len(c.seqs))
	for i, name := range c.seqs {
		members[i] = c.nodes[name]
	}
	return groupLeader(ctx, members, func(name string) *gethrpc.Client { return c.rpcs[name] })
}

// groupLeader finds a sequencer group's leader among its members: the
// signer of the newest mini-block any member holds, and its term. rpc is
// a member's JSON-RPC client.
func groupLeader(ctx context.Context, members []devnetNode, rpc func(name string) *gethrpc.Client) (string, uint64, error) {
	var best *groupMiniBlock
	var last error
	for _, m := range members {
		mb, err := newestMiniBlockOf(ctx, rpc(m.Name))
		if err != nil {
			last = err
			continue
		}
		if best == nil || mb.Number > best.Number {
			best = mb
		}
	}
	if best == nil {
		return "", 0, fmt.Errorf("no member answers: %v", last)
	}
	if best.Signer != nil {
		for _, m := range members {
			if common.HexToAddress(m.Address) == *best.Signer {
				return m.Name, uint64(best.Term), nil
			}
		}
	}
	return "", 0, fmt.Errorf("mini-block %d is signed by %v, no member's key", best.Number, best.Signer)
}

// ref is the sequencer the campaign checks others against: the lone
// sequencer, or the group's leader (any member that answers, if none
// can be found).
func (c *chaosCampaign) ref(ctx context.Context) string {
	if len(c.seqs) == 1 {
		return c.seqs[0]
	}
	if name, _, err := c.leader(ctx); err == nil {
		return name
	}
	return c.seqs[0]
}

// timeFailover polls the members other than the killed leader until one
// holds a mini-block of a newer term than the leader's: the failover's
// end. It says how long that took from the kill, and records it.
func (c *chaosCampaign) timeFailover(ctx context.Context, cycle int, killed string, term uint64, at time.Time) string {
	const within = 30 * time.Second
	for time.Since(at) < within && ctx.Err() == nil {
		for _, name := range c.seqs {
			if name == killed {
				continue
			}
			mb, err := c.newestMiniBlock(ctx, name)
			if err == nil && uint64(mb.Term) > term {
				d := time.Since(at)
				c.mu.Lock()
				c.failovers = append(c.failovers, d)
				c.mu.Unlock()
				return fmt.Sprintf("failover to term %d in %d ms", mb.Term, d.Milliseconds())
			}
		}
		sleepCtx(ctx, 2*time.Millisecond)
	}
	if ctx.Err() == nil {
		c.fail("", "cycle %d: no mini-block of a term after %d within %v of killing the leader %s", cycle, term, within, killed)
	}
	return "no failover"
}

// lone says whether node name is a lone sequencer (not a group member).
func (c *chaosCampaign) lone(name string) bool { return len(c.seqs) == 1 && name == c.seqs[0] }
