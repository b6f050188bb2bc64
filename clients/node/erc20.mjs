// A Node.js client for a meganode devnet, built on ethers v6: it deploys an
// ERC-20 (model/contracts/build/Token.json), sends --transfers transfers of
// one unit each to a fresh address, checks both balances with balanceOf and
// prints one summary line. Any failure prints the error and exits 1.
//
//   npm ci --prefix clients/node    (or: make node-client)
//   node clients/node/erc20.mjs [--rpc http://127.0.0.1:8545] [--key HEX] [--transfers 20]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ethers } from "ethers";

const artifact = JSON.parse(readFileSync(new URL("../../model/contracts/build/Token.json", import.meta.url), "utf8"));
const WAIT_MS = 30_000; // for each receipt

// chainIdOf asks the node directly: ethers' own network detection retries
// forever when nothing answers, and this should fail fast instead.
async function chainIdOf(url) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new Error(`no JSON-RPC at ${url}: ${err.cause?.message ?? err.message}`);
  }
  const { result, error } = await res.json();
  if (error) throw new Error(`eth_chainId: ${error.message}`);
  return BigInt(result);
}

// parse reads the command line; it throws on a bad one, as any failure.
function parse() {
  const { values: args } = parseArgs({
    options: {
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      // Devnet dev account 0, as DevKey(0) in cmd/meganode/devnet.go.
      key: { type: "string", default: ethers.keccak256(ethers.toUtf8Bytes("meganode devnet account 0")) },
      transfers: { type: "string", default: "20" },
    },
  });
  const transfers = Number(args.transfers);
  if (!Number.isInteger(transfers) || transfers < 1) throw new Error(`--transfers ${args.transfers}: want a positive integer`);
  const key = args.key.startsWith("0x") ? args.key : "0x" + args.key;
  return { rpc: args.rpc, key, transfers };
}

async function main() {
  const { rpc, key, transfers } = parse();
  const chainId = await chainIdOf(rpc);
  // Mini-blocks come every few milliseconds: poll for receipts often, not
  // every 4 s; cache no answer (by default ethers shares identical requests
  // for 250 ms: a pending nonce read before the deployment would be reused
  // after it); and send each request at once, not batched after a 10 ms stall.
  const provider = new ethers.JsonRpcProvider(rpc, chainId, {
    staticNetwork: ethers.Network.from(chainId),
    pollingInterval: 50,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
  try {
    const wallet = new ethers.Wallet(key, provider);

    // Deploy: constructor(name, symbol, supply) mints supply to the deployer,
    // as contracts.TokenDeployCode does for the Go tests.
    const supply = ethers.parseEther("1000000");
    const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
    const token = await factory.deploy("Node Client Token", "NODE", supply);
    await token.waitForDeployment();
    const address = await token.getAddress();
    const symbol = await token.symbol();

    // The transfers: sent back to back with explicit nonces, then all awaited.
    const recipient = ethers.Wallet.createRandom().address;
    const start = performance.now();
    let nonce = await wallet.getNonce("pending");
    const sent = [];
    for (let i = 0; i < transfers; i++) {
      sent.push(await token.transfer(recipient, 1n, { nonce: nonce++ }));
    }
    const receipts = await Promise.all(sent.map((tx) => tx.wait(1, WAIT_MS)));
    const seconds = (performance.now() - start) / 1000;
    for (const r of receipts) {
      if (r === null || r.status !== 1) throw new Error(`transfer ${r?.hash} failed: status ${r?.status}`);
    }

    const want = BigInt(transfers);
    const got = await token.balanceOf(recipient);
    if (got !== want) throw new Error(`recipient balance ${got}, want ${want}`);
    const left = await token.balanceOf(wallet.address);
    if (left !== supply - want) throw new Error(`deployer balance ${left}, want ${supply - want}`);

    console.log(`node client: deployed ${symbol} at ${address}, ${transfers} transfers confirmed in ${seconds.toFixed(2)} s, recipient balance ${got}`);
  } finally {
    provider.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`node client: ${err?.message ?? err}`);
    process.exit(1);
  },
);
