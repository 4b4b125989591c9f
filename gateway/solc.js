// Compiles Solidity with solc-js (the WASM compiler in the npm package `solc`,
// no download): `node solc.js DIR MAIN.sol CONTRACT` prints {abi, bytecode,
// deployedBytecode} as JSON. Every .sol file of DIR is a source.
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const [dir, main, contract] = process.argv.slice(2);
const sources = {};
for (const f of fs.readdirSync(dir)) {
  if (f.endsWith('.sol')) sources[f] = { content: fs.readFileSync(path.join(dir, f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { [main]: { [contract]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
for (const e of out.errors || []) process.stderr.write(e.formattedMessage + '\n');
if (errors.length) process.exit(1);
const c = out.contracts[main][contract];
process.stdout.write(JSON.stringify({
  compiler: 'solc-js ' + solc.version(),
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
  deployedBytecode: '0x' + c.evm.deployedBytecode.object,
}));
