// Fails early, with a clear message, when npm scripts run on a Node.js that is too old.
// The project pins Node 24 as a devDependency (the `node` package), so `npm test` runs on it;
// this guards against a missing or skipped install of that package.
const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `kpax needs Node.js >= 22.19 (24 recommended); this is ${process.version} at ${process.execPath}.\n` +
      `Run \`npm install\` so the pinned Node 24 (the "node" devDependency) is installed, ` +
      `and make sure npm may run its install script ("allowScripts" in package.json).`
  )
  process.exit(1)
}
