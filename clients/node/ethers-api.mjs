// The node's API through ethers v6, beyond erc20.mjs: contract events over
// HTTP filters, eth_getProof verified against the block's state root,
// debug_traceTransaction's callTracer, txpool_status, eth_getBlockReceipts,
// a send through a fullnode, eth_call with a state override, and receipts
// that name blocks which exist (wait() then getBlock()). Each check
// prints one "ok" line; any failure prints it and exits 1.
//
//   node clients/node/ethers-api.mjs --rpc URL --fullnode-rpc URL [--account 1] [--transfers 10]
import { parseArgs } from "node:util";
import { ethers } from "ethers";
import { verifyMerkleProof } from "@ethereumjs/mpt";
import { token, devKey, rpc, sleep, until, waitSealed, check, equal, run } from "./lib.mjs";

const WAIT_MS = 30_000;

function parse() {
  const { values: a } = parseArgs({
    options: {
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      "fullnode-rpc": { type: "string", default: "http://127.0.0.1:8546" },
      // This script uses dev accounts account and account+1.
      account: { type: "string", default: "1" },
      transfers: { type: "string", default: "10" },
    },
  });
  const n = Number(a.transfers);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--transfers ${a.transfers}: want a positive integer`);
  return { url: a.rpc, fullnodeURL: a["fullnode-rpc"], account: Number(a.account), transfers: n };
}

// providerFor polls often, caches nothing and batches nothing (see erc20.mjs).
function providerFor(url, chainId) {
  return new ethers.JsonRpcProvider(url, chainId, {
    staticNetwork: ethers.Network.from(chainId),
    pollingInterval: 50,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
}

const ok = (what) => console.log(`ethers api: ok ${what}`);

async function main() {
  const { url, fullnodeURL, account, transfers } = parse();
  const chainId = BigInt(await rpc(url, "eth_chainId"));
  const provider = providerFor(url, chainId);
  const fullnode = providerFor(fullnodeURL, chainId);
  try {
    // Count the filter methods ethers sends, to know the events came by
    // eth_newFilter/eth_getFilterChanges and not by eth_getLogs.
    const sent = new Map();
    const newFilterIds = new Set();
    let filterInstalled = false;
    provider.on("debug", (e) => {
      if (e.action === "sendRpcPayload") {
        for (const p of [e.payload].flat()) {
          sent.set(p.method, (sent.get(p.method) ?? 0) + 1);
          if (p.method === "eth_newFilter") newFilterIds.add(p.id);
        }
      }
      if (e.action === "receiveRpcResult" && [e.result].flat().some((r) => newFilterIds.has(r.id) && typeof r.result === "string")) filterInstalled = true;
    });

    const wallet = new ethers.NonceManager(new ethers.Wallet(devKey(account), provider));
    const from = await wallet.getAddress();
    const supply = ethers.parseEther("1000000");
    const deployed = await new ethers.ContractFactory(token.abi, token.bytecode, wallet).deploy("Ethers API Token", "EAPI", supply);
    await deployed.waitForDeployment();
    const address = await deployed.getAddress();
    const erc20 = new ethers.Contract(address, token.abi, wallet);

    // 1. contract.on("Transfer") over HTTP: one event per transfer, no
    // duplicates, none missing.
    const events = [];
    await erc20.on("Transfer", (src, dst, value, ev) => events.push({ src, dst, value, hash: ev.log.transactionHash, index: ev.log.index }));
    await until("eth_newFilter installed", 10_000, () => filterInstalled);
    const recipient = ethers.Wallet.createRandom().address;
    const txs = [];
    for (let i = 0; i < transfers; i++) txs.push(await erc20.transfer(recipient, BigInt(i + 1)));
    const receipts = await Promise.all(txs.map((tx) => tx.wait(1, WAIT_MS)));
    for (const r of receipts) equal(`transfer ${r.hash} status`, r.status, 1);
    await until(`${transfers} Transfer events`, 15_000, () => events.length >= transfers);
    // A duplicate would come with a later poll: let a few blocks seal.
    const seen = BigInt(await rpc(url, "eth_blockNumber"));
    await waitSealed(url, seen + 3n);
    await sleep(300);
    equal("Transfer events", events.length, transfers);
    const hashes = new Set(events.map((e) => e.hash.toLowerCase()));
    equal("distinct transactions among the events", hashes.size, transfers);
    for (const [i, tx] of txs.entries()) {
      const ev = events.find((e) => e.hash.toLowerCase() === tx.hash.toLowerCase());
      check(ev, `no Transfer event for transfer ${i} (${tx.hash})`);
      equal(`event ${i} from`, ev.src, from);
      equal(`event ${i} to`, ev.dst, recipient);
      equal(`event ${i} value`, ev.value, BigInt(i + 1));
    }
    check(sent.get("eth_getFilterChanges") > 0, `no eth_getFilterChanges sent (${[...sent.keys()]})`);
    check(!sent.has("eth_getLogs"), "ethers fell back to eth_getLogs");
    await erc20.removeAllListeners();
    ok(`events: ${events.length} Transfer events for ${transfers} transfers through eth_newFilter/eth_getFilterChanges (${sent.get("eth_getFilterChanges")} polls)`);

    // 2. eth_getProof: the account proof against the block's state root,
    // and the storage proof of the deployer's balance against the account's
    // storage root. Proofs are served for the newest sealed block only, so
    // ask for a number and retry when a block sealed in between.
    const slot = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [from, 0]));
    let proof, block;
    for (let tries = 0; ; tries++) {
      const bn = await rpc(url, "eth_blockNumber");
      try {
        proof = await provider.send("eth_getProof", [address, [slot], bn]);
      } catch (err) {
        if (tries < 50 && /newest sealed block/.test(err.message)) continue;
        throw err;
      }
      block = await provider.send("eth_getBlockByNumber", [bn, false]);
      break;
    }
    const accountValue = await verifyMerkleProof(ethers.getBytes(address), proof.accountProof.map(ethers.getBytes), {
      root: ethers.getBytes(block.stateRoot),
      useKeyHashing: true,
    });
    check(accountValue !== null, `the account proof proves ${address} absent`);
    const [nonce, balance, storageRoot, codeHash] = ethers.decodeRlp(accountValue);
    equal("proven nonce", BigInt(nonce === "0x" ? 0 : nonce), BigInt(proof.nonce));
    equal("proven balance", BigInt(balance === "0x" ? 0 : balance), BigInt(proof.balance));
    equal("proven storage root", storageRoot, proof.storageHash);
    equal("proven code hash", codeHash, proof.codeHash);
    equal("code hash", proof.codeHash, ethers.keccak256(await provider.getCode(address)));
    equal("proof address", proof.address, address);
    equal("account nonce", BigInt(proof.nonce), 1n); // EIP-161: a contract starts at 1
    const slotValue = await verifyMerkleProof(ethers.getBytes(slot), proof.storageProof[0].proof.map(ethers.getBytes), {
      root: ethers.getBytes(proof.storageHash),
      useKeyHashing: true,
    });
    check(slotValue !== null, "the storage proof proves the deployer's balance slot empty");
    const want = supply - BigInt((transfers * (transfers + 1)) / 2);
    equal("proven deployer balance", BigInt(ethers.decodeRlp(slotValue)), want);
    equal("storageProof value", BigInt(proof.storageProof[0].value), want);
    equal("balanceOf at the proof's block", await erc20.balanceOf(from, { blockTag: block.number }), want);
    // The verifier can fail: the same proof against the parent's root.
    const parent = await provider.send("eth_getBlockByNumber", [ethers.toQuantity(BigInt(block.number) - 1n), false]);
    let refused = false;
    try {
      await verifyMerkleProof(ethers.getBytes(address), proof.accountProof.map(ethers.getBytes), { root: ethers.getBytes(parent.stateRoot), useKeyHashing: true });
    } catch {
      refused = true;
    }
    check(refused || parent.stateRoot === block.stateRoot, "the account proof also verified against the parent block's state root");
    ok(`eth_getProof: account and storage proofs verified against block ${BigInt(block.number)}'s state root`);

    // 3. debug_traceTransaction with the callTracer, for a token transfer.
    const last = receipts[receipts.length - 1];
    const trace = await provider.send("debug_traceTransaction", [last.hash, { tracer: "callTracer" }]);
    equal("trace type", trace.type, "CALL");
    equal("trace to", trace.to, address);
    equal("trace from", trace.from, from);
    equal("trace gasUsed", BigInt(trace.gasUsed), last.gasUsed);
    equal("trace input", trace.input, txs[txs.length - 1].data);
    equal("trace output", BigInt(trace.output), 1n); // transfer returns true
    check(trace.error === undefined, `trace error ${trace.error}`);
    ok(`debug_traceTransaction: CALL to the token, gasUsed ${last.gasUsed} as the receipt's`);

    // 4. txpool_status: a transaction behind a nonce gap is queued, and
    // leaves the queue when the gap is filled.
    const signer = new ethers.Wallet(devKey(account), provider);
    const next = await provider.getTransactionCount(from, "pending");
    const fee = { maxFeePerGas: ethers.parseUnits("100", "gwei"), maxPriorityFeePerGas: ethers.parseUnits("1", "gwei"), gasLimit: 21_000n, chainId };
    const gapped = await signer.sendTransaction({ ...fee, to: recipient, value: 2n, nonce: next + 1 });
    // The status is the pool as of the last mini-block: poll for one.
    let status;
    try {
      await until("queued", 3_000, async () => BigInt((status = await provider.send("txpool_status", [])).queued) >= 1n);
    } catch {
      throw new Error(`txpool_status with a transaction behind a nonce gap: ${JSON.stringify(status)}`);
    }
    BigInt(status.pending); // a quantity
    const filler = await signer.sendTransaction({ ...fee, to: recipient, value: 1n, nonce: next });
    const [rf, rg] = await Promise.all([filler.wait(1, WAIT_MS), gapped.wait(1, WAIT_MS)]);
    equal("filler status", rf.status, 1);
    equal("gapped status", rg.status, 1);
    let after;
    try {
      await until("queue empty", 3_000, async () => BigInt((after = await provider.send("txpool_status", [])).queued) === 0n);
    } catch {
      throw new Error(`txpool_status once the gap is filled: ${JSON.stringify(after)}`);
    }
    ok(`txpool_status: queued ${BigInt(status.queued)} behind a nonce gap, ${BigInt(after.queued)} once filled`);

    // 5. eth_getBlockReceipts, once the transfer's block has sealed.
    const rcpt = await provider.send("eth_getTransactionReceipt", [last.hash]);
    await waitSealed(url, BigInt(rcpt.blockNumber));
    const blockReceipts = await provider.send("eth_getBlockReceipts", [rcpt.blockNumber]);
    check(Array.isArray(blockReceipts), `eth_getBlockReceipts(${rcpt.blockNumber}): ${JSON.stringify(blockReceipts)}`);
    const inBlock = blockReceipts.find((r) => r.transactionHash.toLowerCase() === last.hash.toLowerCase());
    check(inBlock, `eth_getBlockReceipts(${rcpt.blockNumber}) lacks ${last.hash}`);
    equal("block receipt status", inBlock.status, "0x1");
    equal("block receipt gasUsed", BigInt(inBlock.gasUsed), last.gasUsed);
    equal("block receipt logs", inBlock.logs.length, 1);
    equal("block receipt block number", inBlock.blockNumber, rcpt.blockNumber);
    const sealed = await provider.send("eth_getBlockByNumber", [rcpt.blockNumber, false]);
    equal("block receipt block hash", inBlock.blockHash, sealed.hash);
    check(BigInt(sealed.hash) !== 0n, "sealed block hash is zero");
    equal("receipts in the block", blockReceipts.length, sealed.transactions.length);
    ok(`eth_getBlockReceipts: block ${BigInt(rcpt.blockNumber)} holds the transfer's receipt (${blockReceipts.length} receipts)`);

    // 6. A send to the fullnode, forwarded to the sequencer, confirms.
    const viaFullnode = new ethers.Wallet(devKey(account + 1), fullnode);
    const payee = ethers.Wallet.createRandom().address;
    const ftx = await viaFullnode.sendTransaction({ to: payee, value: 12_345n });
    const frcpt = await ftx.wait(1, WAIT_MS);
    equal("fullnode send status", frcpt.status, 1);
    equal("payee balance on the fullnode", await fullnode.getBalance(payee), 12_345n);
    equal("payee balance on the sequencer", await provider.getBalance(payee), 12_345n);
    ok(`fullnode send: ${ftx.hash} confirmed through ${fullnodeURL}`);

    // 7. eth_call with a state override: code that returns its own balance
    // (SELFBALANCE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN) and a balance.
    const probe = ethers.Wallet.createRandom().address;
    const override = { [probe]: { code: "0x4760005260206000f3", balance: "0x2a2a" } };
    let result;
    try {
      // Directly: ethers turns any eth_call error into CALL_EXCEPTION.
      result = await rpc(url, "eth_call", [{ to: probe }, "latest", override]);
    } catch (err) {
      if (err.code !== -32602) throw err;
      console.log(`ethers api: SKIP eth_call state override: the node answers -32602 (${err.message})`);
    }
    if (result !== undefined) {
      equal("eth_call with a state override", BigInt(result), 0x2a2an);
      equal("eth_call without it", await rpc(url, "eth_call", [{ to: probe }, "latest"]), "0x");
      ok("eth_call: state override of code and balance applied");
    }

    // 8. A receipt names a block that exists: wait() then getBlock(), at
    // least one confirmation, the receipt's and the logs' block hash the
    // block's, and every hash handed out still the same at the end.
    const payer = new ethers.Wallet(devKey(account + 1), provider);
    const given = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const stx = await payer.sendTransaction({ to: payee, value: 1n });
      const srcpt = await stx.wait(1, WAIT_MS);
      const waited = performance.now() - t0;
      check(BigInt(srcpt.blockHash) !== 0n, `receipt of ${stx.hash} has a zero block hash`);
      const sblock = await srcpt.getBlock();
      check(sblock !== null, `receipt.getBlock() of block ${srcpt.blockNumber}: null`);
      equal("receipt.getBlock().hash", sblock.hash, srcpt.blockHash);
      check(sblock.transactions.includes(stx.hash), `block ${sblock.number} lacks ${stx.hash}`);
      const conf = await srcpt.confirmations();
      check(conf >= 1, `confirmations() ${conf} right after wait()`);
      const byNumber = await provider.getBlock(srcpt.blockNumber);
      equal("getBlock(receipt.blockNumber).hash", byNumber.hash, srcpt.blockHash);
      check(BigInt(await provider.send("eth_blockNumber", [])) >= BigInt(srcpt.blockNumber), "eth_blockNumber behind the receipt's block");
      given.push([srcpt.blockNumber, srcpt.blockHash]);
      if (i === 0) ok(`wait() then getBlock(): block ${srcpt.blockNumber} ${srcpt.blockHash}, ${conf} confirmation(s), ${waited.toFixed(1)} ms`);
    }
    const withLogs = await erc20.connect(signer).transfer(payee, 1n); // signer: the NonceManager lost count in 4.
    const lrcpt = await withLogs.wait(1, WAIT_MS);
    check(lrcpt.logs.length > 0 && lrcpt.logs.every((l) => l.blockHash === lrcpt.blockHash && BigInt(l.blockHash) !== 0n), "a log's block hash is not its receipt's");
    given.push([lrcpt.blockNumber, lrcpt.blockHash]);
    // eth_call at latest runs in exactly the block eth_getBlockByNumber
    // ("latest") describes: code that returns NUMBER (NUMBER PUSH0 MSTORE
    // PUSH1 32 PUSH0 RETURN), called between two reads of the latest block.
    const numberProbe = { [ethers.Wallet.createRandom().address]: { code: "0x435f5260205ff3" } };
    const [probeAddr] = Object.keys(numberProbe);
    for (let i = 0; i < 5; i++) {
      const before = BigInt((await provider.send("eth_getBlockByNumber", ["latest", false])).number);
      const called = BigInt(await rpc(url, "eth_call", [{ to: probeAddr }, "latest", numberProbe]));
      const after = BigInt((await provider.send("eth_getBlockByNumber", ["latest", false])).number);
      check(before <= called && called <= after, `eth_call at latest ran in block ${called}, latest was ${before} then ${after}`);
      const pending = BigInt(await rpc(url, "eth_call", [{ to: probeAddr }, "pending", numberProbe]));
      check(pending >= called, `eth_call at pending ran in block ${pending}, before latest ${called}`);
    }
    ok("eth_call at latest runs in the latest block; pending at or after it");
    // pending counts what latest does not yet: never less.
    const pendingNonce = await provider.getTransactionCount(payer.address, "pending");
    const latestNonce = await provider.getTransactionCount(payer.address, "latest");
    check(pendingNonce >= latestNonce, `pending nonce ${pendingNonce} below latest ${latestNonce}`);
    for (const [n, hash] of given) {
      equal(`block ${n}'s hash, asked again`, (await provider.getBlock(n)).hash, hash);
    }
    ok(`${given.length} block hashes given out in receipts are still the blocks' hashes`);

    console.log(`ethers api: all checks passed (token ${address}, ${transfers} transfers)`);
  } finally {
    provider.destroy();
    fullnode.destroy();
  }
}

run("ethers api", main);
