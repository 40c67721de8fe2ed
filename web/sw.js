// The service worker: keeps the app's own files so the app opens without the server.
// Network first (a running server always gives the current version), the cache when the
// server cannot be reached. Account data is never cached here: it lives in IndexedDB
// (db.js), and /api and /bridge always go to the network.
'use strict';

const CACHE = 'junction-app-v2';
const SHELL = [
  './', 'index.html', 'style.css', 'app.js', 'api.js', 'core.js', 'db.js', 'retrieval.js',
  'sync.js', 'outbox.js', 'junction-core.js', 'junction-core.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() =>
    self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((n) => n !== CACHE).map((n) => caches.delete(n)))).then(() =>
    self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/api' || url.pathname === '/bridge') {
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request, { cache: 'no-store' });
      if (response.ok) cache.put(request, response.clone());
      return response;
    } catch (e) {
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      if (request.mode === 'navigate') {
        const shell = await cache.match('index.html');
        if (shell) return shell;
      }
      throw e;
    }
  })());
});
