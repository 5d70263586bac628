/* Peregrine website tracker. Plain JavaScript, no dependencies.
   <script src="https://PEREGRINE/t.js" data-site="SITE_KEY" defer></script>
   API: peregrine('identify', {email}), peregrine('track', name, props), peregrine('consent', true|false). */
(function (w, d) {
  'use strict';
  var script = d.currentScript || d.querySelector('script[data-site]');
  if (!script || w.__peregrine) return;
  w.__peregrine = 1;
  var site = script.getAttribute('data-site');
  var needConsent = script.hasAttribute('data-require-consent');
  var endpoint = new URL(script.src, location.href).origin + '/t/collect';
  var loc = w.location, hist = w.history, ls = storage('localStorage'), ss = storage('sessionStorage');
  var COOKIE = 'pgr_vid', IGNORE = 'peregrine_ignore', PENDING = 'pgr_pending', YEAR13 = 34128000;

  function storage(name) { try { var s = w[name]; s.setItem('pgr_t', '1'); s.removeItem('pgr_t'); return s; } catch (e) { return null; } }
  function rand() {
    var b = new Uint8Array(16), s = '', abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    (w.crypto || w.msCrypto).getRandomValues(b);
    for (var i = 0; i < b.length; i++) s += abc[b[i] & 63] + abc[b[i] >> 6 & 3];
    return s;
  }

  // Automated browsers and people who asked not to be tracked.
  var params = new URLSearchParams(loc.search);
  if (params.has('pgr_ignore') && ls) {
    if (params.get('pgr_ignore') === '0') ls.removeItem(IGNORE); else ls.setItem(IGNORE, 'true');
  }
  var ignored = w.navigator.webdriver || w._phantom || w.__nightmare || w.Cypress || (ls && ls.getItem(IGNORE) === 'true');

  // The visitor id: a first-party cookie on the registrable domain (the widest domain the
  // browser accepts a cookie for), for 13 months.
  function readCookie() { var m = d.cookie.match(/(?:^|;\s*)pgr_vid=([A-Za-z0-9_-]{16,64})/); return m && m[1]; }
  function writeCookie(v, age) {
    var parts = loc.hostname.split('.'), secure = loc.protocol === 'https:' ? '; Secure' : '';
    for (var i = parts.length - 2; i >= -1; i--) {
      var dom = i >= 0 ? '; Domain=.' + parts.slice(i).join('.') : '';
      d.cookie = COOKIE + '=' + v + '; Path=/; Max-Age=' + age + '; SameSite=Lax' + dom + secure;
      if (age <= 0 ? !readCookie() : readCookie() === v) return;
    }
  }
  var consented = !needConsent || !!readCookie();
  var vid = readCookie() || rand();
  function keep() { if (consented) writeCookie(vid, YEAR13); }

  // A hit that must not be lost (a form) is kept in sessionStorage before it is sent and
  // dropped once the server answered; a page that unloads first leaves it for the next page,
  // which sends it again (the event id makes a repeat harmless).
  function send(hit, keep) {
    if (ignored || !consented) return;
    hit.s = site; hit.v = vid; hit.e = hit.e || rand(); hit.ts = hit.ts || Date.now();
    hit.u = hit.u || clean(loc.href); hit.ti = hit.ti || d.title; if (needConsent) hit.c = true;
    var body = JSON.stringify(hit);
    if (!keep && w.navigator.sendBeacon && w.navigator.sendBeacon(endpoint, new Blob([body], { type: 'text/plain' }))) return;
    if (keep) pending(hit, true);
    if (!w.fetch) return;
    w.fetch(endpoint, { method: 'POST', body: body, keepalive: true, mode: 'cors', headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { if (keep && (r.ok || r.status < 429)) pending(hit, false); }, function () {});
  }

  // Identifying parameters never stay in the address bar: a forwarded or bookmarked URL
  // must not identify its next reader.
  var strip = ['braze_id', 'br_user_id', 'pgr_l', 'pgr_ignore'];
  function clean(href) {
    var u = new URL(href);
    strip.forEach(function (k) { u.searchParams.delete(k); });
    return u.href;
  }
  var replace = hist.replaceState, push = hist.pushState, urlIds = {};
  if (params.get('braze_id')) urlIds.braze_id = params.get('braze_id');
  else if (params.get('br_user_id')) urlIds.br_user_id = params.get('br_user_id');
  if (params.get('pgr_l')) urlIds.link = params.get('pgr_l');
  if (clean(loc.href) !== loc.href) replace.call(hist, hist.state, '', clean(loc.href));
  function identifyFromURL() {
    if (urlIds.braze_id || urlIds.br_user_id || urlIds.link) send({ t: 'identify', id: urlIds });
  }

  // Page views, time on page and visits.
  var path, shownAt = Date.now(), visible = 0;
  function newVisit() {
    if (!ls) return false;
    var last = +ls.getItem('pgr_last') || 0, now = Date.now();
    ls.setItem('pgr_last', String(now));
    return now - last > 1800000;
  }
  function leave() {
    if (d.visibilityState === 'visible') visible += Date.now() - shownAt;
    if (path && visible > 0) send({ t: 'leave', d: visible, u: path.href, ti: path.title });
    visible = 0; shownAt = Date.now();
  }
  function page() {
    var here = loc.pathname + loc.search;
    if (path && path.key === here) return;
    if (path) leave();
    path = { key: here, href: clean(loc.href), title: d.title };
    var hit = { t: 'page', r: d.referrer };
    if (consented && newVisit()) hit.nv = true;
    send(hit);
  }
  function wrap(fn) { return function () { var r = fn.apply(this, arguments); setTimeout(page, 0); return r; }; }
  hist.pushState = wrap(push); hist.replaceState = wrap(replace);
  w.addEventListener('popstate', function () { setTimeout(page, 0); });
  d.addEventListener('visibilitychange', function () {
    if (d.visibilityState === 'hidden') leave(); else shownAt = Date.now();
  });

  // Forms: the fields' kinds always; a value only for a field that may hold the email.
  function formHit(f) {
    var fields = [], submit = f.querySelector('[type=submit],button:not([type])');
    for (var i = 0; i < f.elements.length && fields.length < 200; i++) {
      var el = f.elements[i], t = (el.type || el.tagName).toLowerCase();
      if (!el.name && !el.id) continue;
      var fd = { t: t, n: el.name || '', i: el.id || '', a: el.getAttribute('autocomplete') || '' };
      var hint = (fd.n + ' ' + fd.i + ' ' + fd.a).toLowerCase();
      if ((t === 'email' || (t === 'text' && /e-?mail/.test(hint))) && !/cc-/.test(fd.a)) fd.v = String(el.value).slice(0, 254);
      fields.push(fd);
    }
    return { t: 'form', f: { id: f.id || '', name: f.getAttribute('name') || '', action: f.getAttribute('action') || '',
      submit: submit ? (submit.innerText || submit.value || '').trim().slice(0, 100) : '', fields: fields } };
  }
  function pending(hit, add) {
    if (!ss) return;
    var list = JSON.parse(ss.getItem(PENDING) || '[]').filter(function (h) { return h.e !== hit.e; });
    if (add && (hit.n_ = (hit.n_ || 0) + 1) <= 5) list.push(hit);
    ss.setItem(PENDING, JSON.stringify(list.slice(-10)));
  }
  function resend() {
    if (!ss) return;
    JSON.parse(ss.getItem(PENDING) || '[]').forEach(function (hit) { send(hit, true); });
  }
  d.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (f && f.tagName === 'FORM') send(formHit(f), true);
  }, true);

  // The JS API; calls made before the script loaded wait in peregrine.q.
  function api(cmd, a, b) {
    if (cmd === 'consent') {
      if (a === true || a === 'true') { var first = !consented; consented = true; keep(); if (first) { path = null; identifyFromURL(); page(); } }
      else { consented = false; writeCookie('', 0); vid = rand(); if (ls) ls.removeItem('pgr_last'); }
    } else if (cmd === 'identify' && a && a.email) send({ t: 'identify', id: { email: String(a.email) } });
    else if (cmd === 'track' && a) send({ t: 'track', n: String(a), p: b && typeof b === 'object' ? b : undefined });
  }
  var queued = (w.peregrine && w.peregrine.q) || [];
  w.peregrine = function () { api.apply(null, arguments); };
  keep();
  if (consented) identifyFromURL();
  page();
  resend();
  for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
})(window, document);
