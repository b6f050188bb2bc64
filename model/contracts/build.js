// Compiles src/*.sol with the pinned solc (package-lock.json) and writes
// build/<Contract>.json = {abi, bytecode, deployedBytecode, storageLayout}
// for every contract with code. Run through ./build.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const srcDir = path.join(__dirname, 'src');
const outDir = path.join(__dirname, 'build');

const sources = {};
for (const file of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(srcDir, file), 'utf8') };
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: {
      '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'storageLayout'] },
    },
  },
};

const findImports = (p) => {
  const file = path.join(srcDir, p);
  return fs.existsSync(file) ? { contents: fs.readFileSync(file, 'utf8') } : { error: `not found: ${p}` };
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of output.errors || []) {
  if (e.severity === 'error') failed = true;
  console.error(e.formattedMessage);
}
if (failed) {
  console.error('compilation failed');
  process.exit(1);
}

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir);
const seen = new Set();
for (const file of Object.keys(output.contracts).sort()) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    if (!c.evm.bytecode.object) continue; // interfaces and abstract contracts
    if (seen.has(name)) throw new Error(`duplicate contract name ${name}`);
    seen.add(name);
    const artifact = {
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
      storageLayout: c.storageLayout,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    console.log(`build/${name}.json (${c.evm.deployedBytecode.object.length / 2} bytes runtime)`);
  }
}
console.log(`solc ${solc.version()}`);
