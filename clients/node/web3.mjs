// The node through web3.js v4: deploys the ERC-20 and sends a transfer with
// sendSignedTransaction (its latency printed), then getBlockNumber,
// getBalance, a contract call, getTransactionReceipt and getPastLogs. Each
// check prints one "ok" line; any failure prints it and exits 1.
//
//   node clients/node/web3.mjs --rpc URL [--account 3]
import { parseArgs } from "node:util";
import { Web3 } from "web3";
import { token, devKey, DEV_BALANCE, rpc, waitSealed, check, equal, run } from "./lib.mjs";

const ok = (what) => console.log(`web3: ok ${what}`);

async function main() {
  const { values: a } = parseArgs({
    options: {
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      account: { type: "string", default: "3" },
    },
  });
  const url = a.rpc;
  const web3 = new Web3(url);
  // web3.js's defaults: it asks for the receipt at once, then every
  // second. The node answers eth_sendRawTransaction once the receipt is
  // durable, so the first ask finds it.
  web3.eth.transactionSendTimeout = 30_000;
  web3.eth.transactionPollingTimeout = 30_000;

  const chainId = await web3.eth.getChainId();
  const acct = web3.eth.accounts.privateKeyToAccount(devKey(Number(a.account)));

  // getBalance: an account nothing else spends holds its genesis balance.
  equal("getBalance of a fresh dev account", await web3.eth.getBalance(acct.address), DEV_BALANCE);
  ok("getBalance: the genesis balance");

  // getBlockNumber agrees with eth_blockNumber.
  const bn = await web3.eth.getBlockNumber();
  const raw = BigInt(await rpc(url, "eth_blockNumber"));
  check(typeof bn === "bigint" && bn > 0n && bn <= raw && raw - bn < 50n, `getBlockNumber ${bn}, eth_blockNumber ${raw} after it`);
  ok(`getBlockNumber: ${bn}`);

  const fees = { maxFeePerGas: web3.utils.toWei("100", "gwei"), maxPriorityFeePerGas: web3.utils.toWei("1", "gwei"), chainId, type: 2 };
  let nonce = await web3.eth.getTransactionCount(acct.address, "pending");
  const send = async (tx) => {
    const signed = await acct.signTransaction({ ...fees, nonce: nonce++, ...tx });
    const start = performance.now();
    const receipt = await web3.eth.sendSignedTransaction(signed.rawTransaction);
    return { receipt, ms: performance.now() - start, hash: signed.transactionHash };
  };

  // Deploy, then one transfer through sendSignedTransaction.
  const contract = new web3.eth.Contract(token.abi);
  const supply = 1_000_000n * 10n ** 18n;
  const deployData = contract.deploy({ data: token.bytecode, arguments: ["Web3 Token", "WEB3", supply] }).encodeABI();
  const { receipt: dr } = await send({ data: deployData, gas: 2_000_000 });
  equal("deploy status", dr.status, 1n);
  check(dr.contractAddress, "deploy receipt without contractAddress");
  const erc20 = new web3.eth.Contract(token.abi, dr.contractAddress);
  const recipient = web3.eth.accounts.create().address;
  const data = erc20.methods.transfer(recipient, 7n).encodeABI();
  const { receipt: tr, ms, hash } = await send({ to: dr.contractAddress, data, gas: 100_000 });
  equal("transfer status", tr.status, 1n);
  equal("transfer receipt hash", tr.transactionHash, hash);
  check(ms < 500, `sendSignedTransaction took ${ms.toFixed(1)} ms: web3.js waited for its second poll`);
  ok(`sendSignedTransaction: transfer confirmed in ${ms.toFixed(1)} ms`);

  // The receipt's block exists, by hash and by number, and holds the
  // transaction: no waiting for a seal.
  check(BigInt(tr.blockHash) !== 0n, `receipt of ${hash} has a zero block hash`);
  const byHash = await web3.eth.getBlock(tr.blockHash);
  check(byHash && byHash.transactions.includes(hash), `getBlock(${tr.blockHash}) lacks ${hash}`);
  equal("getBlock(receipt.blockNumber).hash", (await web3.eth.getBlock(tr.blockNumber)).hash, tr.blockHash);
  check((await web3.eth.getBlockNumber()) >= tr.blockNumber, "getBlockNumber behind the receipt's block");
  ok(`getBlock after the receipt: block ${tr.blockNumber} ${tr.blockHash}`);

  // A contract call.
  equal("balanceOf(recipient)", await erc20.methods.balanceOf(recipient).call(), 7n);
  equal("balanceOf(deployer)", await erc20.methods.balanceOf(acct.address).call(), supply - 7n);
  equal("symbol", await erc20.methods.symbol().call(), "WEB3");
  ok("contract call: balanceOf and symbol");

  // getTransactionReceipt.
  const r = await web3.eth.getTransactionReceipt(hash);
  equal("getTransactionReceipt status", r.status, 1n);
  equal("getTransactionReceipt to", r.to, dr.contractAddress);
  equal("getTransactionReceipt from", r.from, acct.address);
  equal("getTransactionReceipt gasUsed", r.gasUsed, tr.gasUsed);
  equal("getTransactionReceipt logs", r.logs.length, 1);
  ok(`getTransactionReceipt: status 1, gasUsed ${r.gasUsed}, 1 log`);

  // getPastLogs, once the transfer's block has sealed (logs are read from
  // sealed blocks).
  const transferTopic = web3.utils.keccak256("Transfer(address,address,uint256)");
  const pad = (addr) => "0x" + addr.slice(2).toLowerCase().padStart(64, "0");
  await waitSealed(url, r.blockNumber);
  const logs = await web3.eth.getPastLogs({
    address: dr.contractAddress,
    fromBlock: dr.blockNumber,
    toBlock: r.blockNumber,
    topics: [transferTopic],
  });
  equal("Transfer logs from the deployment to the transfer", logs.length, 2); // the mint and the transfer
  const log = logs.find((l) => l.transactionHash.toLowerCase() === hash.toLowerCase());
  check(log, `getPastLogs lacks the transfer ${hash}`);
  equal("log from topic", log.topics[1], pad(acct.address));
  equal("log to topic", log.topics[2], pad(recipient));
  equal("log value", BigInt(log.data), 7n);
  equal("log block number", log.blockNumber, r.blockNumber);
  const mine = await web3.eth.getPastLogs({ address: dr.contractAddress, fromBlock: dr.blockNumber, toBlock: r.blockNumber, topics: [transferTopic, null, pad(recipient)] });
  equal("logs to the recipient", mine.length, 1);
  ok(`getPastLogs: the mint and the transfer, blocks ${dr.blockNumber}..${r.blockNumber}`);

  console.log(`web3: all checks passed (token ${dr.contractAddress}, transfer in ${ms.toFixed(1)} ms)`);
}

run("web3", main);
