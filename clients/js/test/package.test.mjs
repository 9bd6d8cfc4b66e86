// herald-js as a user gets it (docs/clients.md, "herald.js"): `npm pack` makes the tarball, a project of its own
// installs it, tsc type-checks examples/js-client/sample.ts against the package's declarations (and refuses every
// misuse in misuse.ts), and the compiled sample receives a live Herald's messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, writeFile, readFile, readdir, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HeraldServer } from './support/herald-server.mjs';

const exec = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/js-client/', import.meta.url));
// The TypeScript compiler is clients/js's own devDependency (npm ci installed it): the test needs no network.
const tsc = join(packageDir, 'node_modules', '.bin', 'tsc');

let work;
let app;
let server;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'herald-npm-'));
  app = join(work, 'app');
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageDir, timeout: 60_000 });
  const [packed] = JSON.parse(stdout);
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'herald-js-sample', private: true, type: 'module' }));
  // --offline: herald-js has no dependencies, so nothing may come from a registry.
  await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], { cwd: app, timeout: 60_000 });
  for (const file of ['sample.ts', 'misuse.ts', 'tsconfig.json']) await copyFile(join(examples, file), join(app, file));
  server = await HeraldServer.start();
});

after(async () => {
  await server?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the packed package holds the client, its ES module and its declarations, and nothing of the test harness', async () => {
  const installed = join(app, 'node_modules', 'herald-js');
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
  assert.equal(manifest.exports['.'].types, './src/herald.d.ts');
  assert.equal(manifest.exports['.'].default, './src/herald.mjs');
  const entries = await readdir(installed, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(installed.length + 1));
  assert.deepEqual(files.sort(), ['README.md', 'package.json', 'src/herald.d.ts', 'src/herald.js', 'src/herald.mjs']);
});

test('tsc refuses each misuse the declarations exist to catch', async () => {
  await writeFile(join(app, 'tsconfig.misuse.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: ['misuse.ts'] }));
  const result = await exec(tsc, ['-p', 'tsconfig.misuse.json', '--pretty', 'false'], { cwd: app, timeout: 120_000 }).then(
    () => null,
    (err) => err,
  );
  assert.ok(result, 'tsc accepted misuse.ts: the declarations let wrong code through');
  const source = (await readFile(join(app, 'misuse.ts'), 'utf8')).split('\n');
  const marked = source.flatMap((line, i) => (line.includes('// MISUSE') ? [i + 1] : []));
  const reported = [...new Set([...result.stdout.matchAll(/^misuse\.ts\((\d+),\d+\): error/gm)].map((m) => Number(m[1])))];
  assert.deepEqual(reported, marked, result.stdout);
});

test('the sample, type-checked and compiled with tsc against the package, receives messages from a live Herald', async () => {
  await exec(tsc, ['-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app, timeout: 120_000 }).catch((err) => {
    assert.fail(`tsc failed on sample.ts:\n${err.stdout}${err.stderr}`);
  });
  const { receiveMessages } = await import(pathToFileURL(join(app, 'out', 'sample.js')).href);

  const g = await server.guestDialog('npm-visitor');
  await server.postGuest(g, 'before the sample started');
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the sample did not receive both messages within 30 s')), 30_000);
  });
  const lines = await Promise.race([
    receiveMessages({ baseUrl: server.baseUrl, assistantId: g.assistantId, guestId: g.guestId, dialogId: g.dialogId, count: 2 }, (line) => {
      if (line === 'user: before the sample started') server.postGuest(g, 'while it listens');
    }),
    timeout,
  ]).finally(() => clearTimeout(timer));
  assert.deepEqual(lines, ['user: before the sample started', 'user: while it listens']);
});
