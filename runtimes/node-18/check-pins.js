// check-pins.js [--node] [DIR]: checks, before anything is installed, that
// the npm packages this runtime ships are exactly the ones manifest.yaml
// pins, so the manifest, package.json and package-lock.json cannot drift:
//   - manifest.yaml `packages:` lists name@X.Y.Z entries (exact versions);
//   - package.json `dependencies` has exactly those names, each at exactly
//     that version (no ranges), and no other dependency kinds;
//   - package-lock.json is lockfileVersion 3, its root lists the same
//     dependencies, node_modules/<name> has the pinned version, and every
//     package it installs comes from https://registry.npmjs.org/ with a
//     sha512 integrity hash (so `npm ci` verifies each tarball).
// With --node it also checks that the running node is manifest.yaml's
// node_version (the build runs it with Debian's node inside the chroot).
// DIR defaults to this file's directory. Exit status 1 with one line per
// problem, naming the file and field and what would fix it.
'use strict';

const fs = require('fs');
const path = require('path');

const REGISTRY = 'https://registry.npmjs.org/';
const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
// How to (re)generate package-lock.json from package.json, against the real
// registry, whatever the user's ~/.npmrc says.
const REGENERATE_CMD = 'npm install --package-lock-only --ignore-scripts --lockfile-version 3 ' +
  '--registry ' + REGISTRY + ' --omit-lockfile-registry-resolved=false --userconfig /dev/null';
const REGENERATE = 'regenerate package-lock.json (command below)';

const args = process.argv.slice(2);
const checkNode = args.includes('--node');
const dir = args.filter((a) => a !== '--node')[0] || __dirname;
const problems = [];
const problem = (file, msg) => problems.push(file + ': ' + msg);

function readText(file) {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (e) {
    problem(file, 'cannot read it (' + e.code + '); it belongs in the runtime directory ' + dir);
    return null;
  }
}

function readJSON(file) {
  const text = readText(file);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    problem(file, 'not valid JSON (' + e.message + '); ' + REGENERATE);
    return null;
  }
}

// The manifest's top-level scalar `key: value` and block list `key:` items.
// The manifest is plain YAML that rtool validate checks; this reads only the
// two keys it needs, so it needs no YAML library in the chroot.
function readManifest(text) {
  const lines = text.split('\n');
  const out = { packages: null, nodeVersion: null, packagesLine: 0 };
  for (let i = 0; i < lines.length; i++) {
    const m = /^(packages|node_version):[ \t]*(.*?)[ \t]*$/.exec(lines[i]);
    if (!m) continue;
    const value = m[2].replace(/^#.*$|[ \t]+#.*$/, '').replace(/^(['"])(.*)\1$/, '$2');
    if (m[1] === 'node_version') {
      out.nodeVersion = value;
      continue;
    }
    if (value !== '') {
      problem('manifest.yaml', 'line ' + (i + 1) + ': packages: write a block list, one "- name@X.Y.Z" a line');
      continue;
    }
    out.packages = [];
    out.packagesLine = i + 1;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j];
      if (/^\s*(#.*)?$/.test(line)) continue;
      const item = /^\s*-\s+(['"]?)([^'"\s#]+)\1\s*(#.*)?$/.exec(line);
      if (!item) {
        if (/^\S/.test(line)) break; // the next top-level key
        problem('manifest.yaml', 'line ' + (j + 1) + ': packages: cannot read ' + JSON.stringify(line.trim()) + '; write "- name@X.Y.Z"');
        continue;
      }
      const spec = item[2];
      const at = spec.lastIndexOf('@');
      const name = at > 0 ? spec.slice(0, at) : '';
      const version = at > 0 ? spec.slice(at + 1) : '';
      if (!name || !EXACT.test(version)) {
        problem('manifest.yaml', 'line ' + (j + 1) + ': packages: ' + JSON.stringify(spec) + ' must pin an exact npm version as name@X.Y.Z (for example express@4.18.0)');
        continue;
      }
      out.packages.push({ name, version, line: j + 1 });
    }
  }
  return out;
}

const manifestText = readText('manifest.yaml');
const pkg = readJSON('package.json');
const lock = readJSON('package-lock.json');

let pins = new Map();
if (manifestText !== null) {
  const m = readManifest(manifestText);
  if (m.packages === null) {
    problem('manifest.yaml', 'packages: missing; list the npm packages the runtime ships as name@X.Y.Z');
  } else {
    for (const p of m.packages) {
      if (pins.has(p.name)) {
        problem('manifest.yaml', 'line ' + p.line + ': packages: ' + p.name + ' is listed twice; keep one entry');
      }
      pins.set(p.name, p.version);
    }
    if (pins.size === 0) {
      problem('manifest.yaml', 'line ' + m.packagesLine + ': packages: empty; list the npm packages the runtime ships as name@X.Y.Z');
    }
  }
  if (checkNode) {
    if (!m.nodeVersion) {
      problem('manifest.yaml', 'node_version: missing; set it to the Debian nodejs version the runtime ships (' + process.versions.node + ')');
    } else if (m.nodeVersion !== process.versions.node) {
      problem('manifest.yaml', 'node_version: is ' + m.nodeVersion + ' but Debian bookworm\'s nodejs in the build is ' +
        process.versions.node + '; check the change and set node_version: ' + process.versions.node + ' (and the release version)');
    }
  }
}

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
const fmt = (m) => [...m].map(([n, v]) => n + '@' + v).join(', ');

if (pkg !== null && manifestText !== null) {
  const deps = pkg.dependencies || {};
  for (const kind of ['devDependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies']) {
    if (pkg[kind] && Object.keys(pkg[kind]).length > 0) {
      problem('package.json', kind + ': the runtime ships only dependencies; move these to dependencies (and manifest.yaml packages) or remove them');
    }
  }
  for (const [name, version] of pins) {
    if (!(name in deps)) {
      problem('package.json', 'dependencies: ' + name + ' is missing; manifest.yaml pins ' + name + '@' + version +
        '; add "' + name + '": "' + version + '"; then ' + REGENERATE);
    } else if (deps[name] !== version) {
      problem('package.json', 'dependencies: ' + name + ' is ' + JSON.stringify(deps[name]) + ' but manifest.yaml pins ' +
        name + '@' + version + '; write "' + name + '": "' + version + '" (an exact version); then ' + REGENERATE);
    }
  }
  for (const name of Object.keys(deps)) {
    if (!pins.has(name)) {
      problem('package.json', 'dependencies: ' + name + ' is not in manifest.yaml packages (' + fmt(pins) +
        '); add ' + name + '@<version> there or remove it here');
    }
  }
}

if (lock !== null && pkg !== null) {
  if (lock.lockfileVersion !== 3) {
    problem('package-lock.json', 'lockfileVersion is ' + JSON.stringify(lock.lockfileVersion) + ', want 3; ' + REGENERATE);
  }
  const pkgs = lock.packages || {};
  const root = pkgs[''] || {};
  const rootDeps = root.dependencies || {};
  const deps = pkg.dependencies || {};
  if (!sameSet(Object.keys(rootDeps), Object.keys(deps)) ||
      Object.keys(deps).some((n) => rootDeps[n] !== deps[n]) ||
      Object.keys(root.devDependencies || {}).length > 0 || Object.keys(root.optionalDependencies || {}).length > 0) {
    problem('package-lock.json', 'packages[""] dependencies ' + JSON.stringify(rootDeps) + ' do not match package.json ' +
      JSON.stringify(deps) + '; ' + REGENERATE);
  }
  for (const [name, version] of pins) {
    const entry = pkgs['node_modules/' + name];
    if (!entry) {
      problem('package-lock.json', 'packages["node_modules/' + name + '"] is missing; manifest.yaml pins ' + name + '@' + version + '; ' + REGENERATE);
    } else if (entry.version !== version) {
      problem('package-lock.json', 'packages["node_modules/' + name + '"].version is ' + entry.version + ' but manifest.yaml pins ' +
        name + '@' + version + '; ' + REGENERATE);
    }
  }
  let count = 0;
  for (const [key, entry] of Object.entries(pkgs)) {
    if (key === '') continue;
    count++;
    if (entry.link || !key.startsWith('node_modules/')) {
      problem('package-lock.json', 'packages[' + JSON.stringify(key) + '] is a link or local directory; the runtime installs only registry packages');
      continue;
    }
    if (typeof entry.resolved !== 'string' || !entry.resolved.startsWith(REGISTRY)) {
      problem('package-lock.json', 'packages[' + JSON.stringify(key) + '].resolved is ' + JSON.stringify(entry.resolved) +
        ', want a tarball under ' + REGISTRY + '; ' + REGENERATE);
    }
    if (typeof entry.integrity !== 'string' || !/^sha512-[A-Za-z0-9+/]+={0,2}$/.test(entry.integrity)) {
      problem('package-lock.json', 'packages[' + JSON.stringify(key) + '].integrity is ' + JSON.stringify(entry.integrity) +
        ', want one sha512- hash; ' + REGENERATE);
    }
    if (entry.hasInstallScript) {
      problem('package-lock.json', 'packages[' + JSON.stringify(key) + '] has an install script; the build installs with --ignore-scripts, so it would be left half-installed');
    }
  }
  if (problems.length === 0) {
    console.log('pins agree: ' + fmt(pins) + ' (' + count + ' locked packages, each from ' + REGISTRY + ' with sha512 integrity)' +
      (checkNode ? '; node ' + process.versions.node : ''));
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error('check-pins: ' + path.join(dir, p.slice(0, p.indexOf(':'))) + p.slice(p.indexOf(':')));
  console.error('check-pins: ' + problems.length + ' problem(s); manifest.yaml packages, package.json and package-lock.json must pin the same versions.');
  console.error('check-pins: after fixing package.json, regenerate package-lock.json in ' + dir + ' with: ' + REGENERATE_CMD);
  process.exit(1);
}
