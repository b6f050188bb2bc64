// Helpers shared by the client scripts in this folder (ethers-api.mjs,
// web3.mjs): the devnet's well-known keys, a raw JSON-RPC call that fails
// fast, waiting, and assertions that say what they expected.
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

// token is the workload ERC-20: constructor(name, symbol, supply) mints
// supply to the deployer; balanceOf is storage slot 0's mapping.
export const token = JSON.parse(readFileSync(new URL("../../model/contracts/build/Token.json", import.meta.url), "utf8"));

// devKey is the i-th funded devnet account's key, as DevKey(i) in
// cmd/meganode/devnet.go. Anyone can derive it: it holds nothing of value.
export function devKey(i) {
  return ethers.keccak256(ethers.toUtf8Bytes(`meganode devnet account ${i}`));
}

// DEV_BALANCE is what the genesis gives each dev account: 1,000,000 ETH.
export const DEV_BALANCE = ethers.parseEther("1000000");

// rpcError is a JSON-RPC error answer, with its code.
export class RPCError extends Error {
  constructor(method, error) {
    super(`${method}: ${error.message} (${error.code})`);
    this.code = error.code;
    this.data = error.data;
  }
}

// rpc calls method on url directly (no client library in between) and
// returns its result; an error answer throws an RPCError.
export async function rpc(url, method, params = []) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new Error(`no JSON-RPC at ${url} (${method}): ${err.cause?.message ?? err.message}`);
  }
  const { result, error } = await res.json();
  if (error) throw new RPCError(method, error);
  return result;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// until polls cond every 20 ms until it returns a truthy value, which it
// returns; it throws naming what after ms.
export async function until(what, ms, cond) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

// waitSealed waits until eth_blockNumber (the newest sealed block) reaches n.
export async function waitSealed(url, n, ms = 10_000) {
  await until(`block ${n} sealed`, ms, async () => BigInt(await rpc(url, "eth_blockNumber")) >= BigInt(n));
}

// check throws unless ok, with the message.
export function check(ok, msg) {
  if (!ok) throw new Error(msg);
}

// equal throws unless got === want (compared as strings for bigints and
// numbers alike; addresses and hashes case-insensitively).
export function equal(what, got, want) {
  const norm = (v) => (typeof v === "string" && v.startsWith("0x") ? v.toLowerCase() : String(v));
  if (norm(got) !== norm(want)) throw new Error(`${what}: got ${got}, want ${want}`);
}

// run runs main, prints any failure under name and sets the exit status.
export function run(name, main) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`${name}: FAIL: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}
