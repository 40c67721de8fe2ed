// The proxy's HTTP API, as the page uses it. A request that cannot reach the proxy at all
// resolves with {offline: true} instead of throwing, so every caller handles "offline" as a
// normal outcome (README.md lists the routes).
'use strict';

const listeners = new Set();
let online = navigator.onLine;

export function isOnline() {
  return online;
}

// fn(online) is called whenever reachability changes.
export function onReachability(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setOnline(value) {
  if (value === online) return;
  online = value;
  for (const fn of listeners) fn(online);
}

// {status, data, headers, offline}. `data` is the parsed JSON body (or null); with
// {raw: true} it is the body as an ArrayBuffer.
export async function call(method, path, { body, headers = {}, raw = false, timeoutMs = 30000 } = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
        typeof body === 'string') {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  init.signal = controller.signal;
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    clearTimeout(timer);
    setOnline(false);
    return { status: 0, data: null, headers: new Headers(), offline: true };
  }
  setOnline(true);
  let data = null;
  try {
    if (raw) {
      data = await response.arrayBuffer();
    } else if (response.status !== 204) {
      const text = await response.text();
      data = text ? JSON.parse(text) : null;
    }
  } catch (e) {
    data = null;
  } finally {
    clearTimeout(timer);
  }
  return { status: response.status, data, headers: response.headers, offline: false };
}

// The message of an error answer, for people.
export function errorText(result, fallback) {
  if (result.offline) return 'The Junction server cannot be reached. Check your connection.';
  if (result.data && typeof result.data.error === 'string') return result.data.error;
  return `${fallback} (HTTP ${result.status})`;
}

export function encodeSegment(text) {
  return encodeURIComponent(text);
}
