// One browser retrieval for tests/bench/browser_bench.sh: Chromium (playwright-core, Debian's
// /usr/bin/chromium) signs in to a running `junction-proxy serve`, clicks "Retrieve Messages
// Now" in the row of the task on --server and waits for #run-summary to start with "Done" (or
// "Failed"). Prints one line of JSON on stdout:
//   {ok, summary, click_to_done_ms, click_to_first_progress_ms, core_load_ms, chromium_cpu_s,
//    profile: {...}}
// The times are taken inside the page (performance.now(): the click listener, a
// MutationObserver on #run-progress / #run-summary), so neither Playwright's polling nor the
// DevTools round trips are in them. "profile" splits the run: time spent inside the WASM core
// (every call of the job's methods), in the batch appends (POST /api/mailbox/batch, from the
// call to the answer) and in the other API calls, plus the bridge's frame counts. The rest of
// the wall time is the page waiting for bytes from the bridge (or the event loop).
//
// Usage: node browser_bench.mjs --url URL --user NAME --password PW --server HOST
//          --profile-dir DIR [--timeout SECONDS] [--trace FILE] [--proxy-pid PID [--perf FILE]]
//          [--cpu-profile FILE]
// --cpu-profile FILE: a CDP CPU profile of the page over the run (.cpuprofile; the top
// functions by self time go to stderr). --proxy-pid: also report the proxy's CPU seconds and
// peak RSS over the run (its VmHWM is reset just before the click, which needs root);
// --perf FILE: `perf record` the proxy meanwhile.
// Exit 0 when the summary says "Done", 1 when it says "Failed" or nothing came in time, 2 on
// a usage error. Run it through browser_bench.sh (which counts the stored messages).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// playwright-core lives in tests/browser/node_modules (the browser tests' package).
const require = createRequire(path.join(here, '..', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function parseArgs(argv) {
  const out = { timeout: 300 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-/g, '_');
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    out[key] = argv[i + 1];
  }
  for (const k of ['url', 'user', 'password', 'server', 'profile_dir']) {
    if (!out[k]) throw new Error(`--${k.replace(/_/g, '-')} is required`);
  }
  out.timeout = Number(out.timeout);
  return out;
}

function processCpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

function peakRss(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}

// CPU seconds (user + system) of every process below `root` (Chromium's browser, renderer,
// GPU and network processes; Playwright starts them as children of this node process).
function descendantsCpu(root) {
  const tick = 100;  // USER_HZ on Linux
  const parent = new Map();
  const cpu = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;  // gone meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(name), Number(rest[1]));
    cpu.set(Number(name), (Number(rest[11]) + Number(rest[12])) / tick);
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

// The renderer's main thread by function (self time), from a CDP CPU profile: the top 25.
function summarizeProfile(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const where = `${path.basename(f.url || '')}:${f.lineNumber + 1}`;
    const name = `${f.functionName || '(anonymous)'} ${where}`;
    const us = dt[i] || 0;
    self.set(name, (self.get(name) || 0) + us);
    total += us;
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return [`renderer main thread, ${Math.round(total / 1000)} ms sampled; self time:`,
    ...top.map(([name, us]) => `  ${(us / 1000).toFixed(0).padStart(6)} ms ` +
      `${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`)].join('\n');
}

// Installed before the page's own scripts (addInitScript): counters, the click time, and
// wrappers around the WASM core's factory (the page loads the core at start-up), fetch and
// WebSocket. Cheap: a performance.now() pair per call.
function instrument() {
  const b = {
    click: null, firstProgress: null, firstCounted: null, done: null, summary: '',
    coreLoadMs: null, wasmMs: 0, wasmCalls: 0, effects: {}, batchMs: 0, batches: 0,
    batchBytes: 0, apiMs: 0, apiCalls: 0, wsFramesIn: 0, wsBytesIn: 0, wsFramesOut: 0,
    wsBytesOut: 0, maxBatchMs: 0,
  };
  window.__bench = b;
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('button');
    if (button && button.textContent.trim() === 'Retrieve Messages Now' && b.click === null) {
      b.click = performance.now();
    }
  }, true);

  // The WASM core: time every call into a retrieval job.
  const wrapJob = (job) => {
    const next = job.next.bind(job);
    job.next = () => {
      const t0 = performance.now();
      const e = next();
      b.wasmMs += performance.now() - t0;
      b.wasmCalls += 1;
      b.effects[e.kind] = (b.effects[e.kind] || 0) + 1;
      return e;
    };
    for (const name of ['onData', 'onCommitted', 'onConnected', 'onTlsStarted', 'onEof',
      'onStateSaved']) {
      const original = job[name].bind(job);
      job[name] = (...args) => {
        const t0 = performance.now();
        try {
          return original(...args);
        } finally {
          b.wasmMs += performance.now() - t0;
          b.wasmCalls += 1;
        }
      };
    }
  };
  const wrapFactory = (factory) => (...args) => {
    const t0 = performance.now();
    return factory(...args).then((core) => {
      b.coreLoadMs = performance.now() - t0;
      const create = core.createRetrievalJob.bind(core);
      core.createRetrievalJob = (...a) => {
        const created = create(...a);
        if (created.job) wrapJob(created.job);
        return created;
      };
      return core;
    });
  };
  // junction-core.js assigns the global `var JunctionCore`: an accessor sees the assignment.
  let factory;
  Object.defineProperty(window, 'JunctionCore', {
    configurable: true,
    get: () => factory,
    set: (value) => {
      factory = typeof value === 'function' ? wrapFactory(value) : value;
    },
  });

  // API calls: the batch appends apart (each waits for the proxy's group commit).
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    const t0 = performance.now();
    try {
      return await realFetch(input, init);
    } finally {
      if (b.click !== null) {
        const ms = performance.now() - t0;
        if (url.includes('/api/mailbox/batch')) {
          b.batchMs += ms;
          b.batches += 1;
          b.maxBatchMs = Math.max(b.maxBatchMs, ms);
          if (init && init.body && init.body.size) b.batchBytes += init.body.size;
        } else {
          b.apiMs += ms;
          b.apiCalls += 1;
        }
      }
    }
  };

  // The bridge: frames and bytes each way.
  const RealWebSocket = window.WebSocket;
  window.WebSocket = class extends RealWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        b.wsFramesIn += 1;
        b.wsBytesIn += typeof event.data === 'string' ? event.data.length : event.data.byteLength;
      });
    }

    send(data) {
      b.wsFramesOut += 1;
      b.wsBytesOut += typeof data === 'string' ? data.length : data.byteLength;
      return super.send(data);
    }
  };
}

// Installed after sign-in: when #run-progress first counts and #run-summary says the end.
function observeRun() {
  const b = window.__bench;
  const progress = document.getElementById('run-progress');
  const summary = document.getElementById('run-summary');
  const look = () => {
    if (b.click === null) return;
    const now = performance.now();
    const p = progress ? progress.textContent.trim() : '';
    if (b.firstProgress === null && / of \d+/.test(p)) b.firstProgress = now;
    if (b.firstCounted === null && /\b[1-9]\d* of \d+/.test(p)) b.firstCounted = now;
    const s = summary ? summary.textContent.trim() : '';
    if (b.done === null && /^(Done|Failed)\b/.test(s)) {
      b.done = now;
      b.summary = s;
    }
  };
  new MutationObserver(look).observe(document.documentElement,
    { subtree: true, childList: true, characterData: true });
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`browser_bench.mjs: ${e.message}`);
    process.exit(2);
  }
  fs.mkdirSync(args.profile_dir, { recursive: true });
  const context = await chromium.launchPersistentContext(args.profile_dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  let result = { ok: false, summary: '' };
  try {
    await context.addInitScript(instrument);
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`[console.error] ${message.text()}`);
    });
    await page.goto(args.url);
    const form = page.locator('form')
      .filter({ has: page.getByRole('button', { name: 'Sign in' }) });
    await form.getByLabel('Username', { exact: true }).fill(args.user);
    await form.getByLabel('Password', { exact: true }).fill(args.password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const row = page.getByRole('table', { name: 'Retrieval tasks' }).getByRole('row')
      .filter({ hasText: args.server });
    const button = row.getByRole('button', { name: 'Retrieve Messages Now' });
    await button.waitFor({ state: 'visible', timeout: 30_000 });
    await page.evaluate(observeRun);
    if (args.trace) {
      await context.tracing.start({ screenshots: false, snapshots: false });
    }
    // The proxy's share is taken over the run alone: sign-in (scrypt: ~0.1 s CPU and most
    // of the peak RSS) is before this point.
    const proxy = args.proxy_pid ? Number(args.proxy_pid) : 0;
    if (proxy) fs.writeFileSync(`/proc/${proxy}/clear_refs`, '5');  // resets VmHWM
    const proxyCpu0 = proxy ? processCpu(proxy) : 0;
    let perf = null;
    if (proxy && args.perf) {
      perf = spawn('perf',
        ['record', '-q', '-F', '999', '-g', '-p', String(proxy), '-o', args.perf],
        { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 500));  // perf attaches
    }
    let cdp = null;
    if (args.cpu_profile) {
      cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    const cpu0 = descendantsCpu(process.pid);
    await button.click();
    await page.waitForFunction(() => window.__bench.done !== null, null,
      { timeout: args.timeout * 1000, polling: 100 });
    const cpu1 = descendantsCpu(process.pid);
    const proxyCpu1 = proxy ? processCpu(proxy) : 0;
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.writeFileSync(args.cpu_profile, JSON.stringify(profile));
      console.error(summarizeProfile(profile));
    }
    const proxyHwm = proxy ? peakRss(proxy) : null;
    if (perf) {
      const exited = new Promise((resolve) => perf.once('exit', resolve));
      perf.kill('SIGINT');
      await exited;
    }
    if (args.trace) await context.tracing.stop({ path: args.trace });
    const b = await page.evaluate(() => window.__bench);
    const since = (t) => (t === null || b.click === null ? null : Math.round(t - b.click));
    result = {
      ok: /^Done\b/.test(b.summary),
      summary: b.summary,
      click_to_done_ms: since(b.done),
      click_to_first_progress_ms: since(b.firstProgress),
      click_to_first_message_ms: since(b.firstCounted),
      core_load_ms: b.coreLoadMs === null ? null : Math.round(b.coreLoadMs),
      chromium_cpu_s: Math.round((cpu1 - cpu0) * 100) / 100,
      proxy_cpu_s: proxy ? Math.round((proxyCpu1 - proxyCpu0) * 100) / 100 : null,
      proxy_peak_rss_kb: proxyHwm,
      profile: {
        wasm_ms: Math.round(b.wasmMs), wasm_calls: b.wasmCalls, effects: b.effects,
        batch_ms: Math.round(b.batchMs), batches: b.batches, batch_bytes: b.batchBytes,
        max_batch_ms: Math.round(b.maxBatchMs), api_ms: Math.round(b.apiMs), api_calls: b.apiCalls,
        ws_frames_in: b.wsFramesIn, ws_bytes_in: b.wsBytesIn, ws_frames_out: b.wsFramesOut,
        ws_bytes_out: b.wsBytesOut,
      },
    };
  } catch (e) {
    result.error = String(e && e.message ? e.message : e).split('\n')[0];
  } finally {
    await context.close().catch(() => {});
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

main();
