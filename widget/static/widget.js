/*! Encore widget: a few post-purchase offers on a shop's thank-you page. */
/*
 * Why a Shadow DOM root and not an iframe:
 * - Isolation both ways: the shop's selectors (`a {...}`, `div {...}`) do not reach inside a shadow
 *   root and ours do not leak out; `all: initial` on our wrapper stops inherited styles too. Only
 *   CSS custom properties cross the boundary, which is the theming hook we want (--encore-*).
 * - One paint, no flash: the fragment and its styles land in the page in one step, sized by their
 *   content; an iframe needs a second document, a second round trip and a height-syncing protocol.
 * - The offers join the page's tab order and accessibility tree, and CTA links navigate the top page.
 * - What an iframe adds (a separate origin) protects a third party's session cookies; Encore is
 *   self-hosted by the merchant and keeps none, and its fragment is server-rendered with autoescaping
 *   (innerHTML never runs scripts).
 *
 * Use: <script async src="https://ENCORE/widget.js" data-key="pk_..." data-placement="thank_you"
 *        data-order='{"id":"1001","total":59.9,"items":[...]}' data-customer='{"id":"c1"}'></script>
 * Options: data-target (CSS selector; default #encore-offers, else right after this tag),
 * data-endpoint (default: this script's origin; may be relative to the page, e.g. "/"),
 * data-timeout (ms, default 3000), data-limit, data-attributes (JSON), data-locale (default: the
 * page's <html lang>), data-consent="pending" (wait for encore.consent(true)), or a consent tool's
 * value: "granted", "true", "yes" or "1" (any case) grant it, anything else ("denied", "false", "no",
 * "") withholds it: nothing is shown or sent until encore.consent grants it.
 * Calls before load: window.encore = window.encore && window.encore.q ? window.encore : {q: [],
 *   show: function (o) { this.q.push(['show', o]) }, consent: function (v) { this.q.push(['consent', v]) }};
 *   or push ['show', {...}] onto encore.q. The loaded script turns that same object into the API.
 * The same tag pasted twice shows its order once.
 * A second tag of the same shop and service (another placement) is one more show() of its own data-*
 * settings; a tag of another shop or service is left alone.
 * Never throws into the host page: every failure renders nothing and logs at most one "[encore]" warning.
 */
(function (w, d) {
  'use strict';
  var stub = w.encore;
  var PREFIX = '[encore] ';
  // Another tag loaded the widget first: it shows this tag's order too (see showTag).
  if (stub && stub.loaded) return typeof stub.tag === 'function' && stub.tag(d.currentScript);
  // !important inside the shadow root outranks the page's rules, !important ones too: a theme's
  // `div:empty{display:none}` would otherwise hide offers whose impressions are counted.
  var CSS =
    ':host{display:block!important}:host([hidden]){display:none!important}' +
    '.encore-ph{min-height:var(--encore-min-height,150px)}' +
    '.encore{all:initial;display:block;box-sizing:border-box;margin:24px 0;overflow-wrap:anywhere;' +
    'color:var(--encore-text,#1d2329);' +
    'font:15px/1.45 var(--encore-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif)}' +
    '.encore *{box-sizing:border-box}' +
    '.encore [hidden]{display:none!important}' +
    '.encore-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}' +
    '.encore-heading{font-size:1.15em;font-weight:600;margin:0 0 12px}' +
    '.encore-list{list-style:none;margin:0;padding:0;display:grid;gap:12px;' +
    'grid-template-columns:repeat(auto-fit,minmax(min(100%,220px),1fr))}' +
    '.encore-offer{position:relative;display:flex;flex-direction:column;height:100%;overflow:hidden;' +
    'background:var(--encore-bg,#fff);border:1px solid rgba(0,0,0,.12);border-radius:var(--encore-radius,10px)}' +
    '.encore-img{display:block;width:100%;aspect-ratio:16/9;object-fit:cover;background:rgba(0,0,0,.05)}' +
    '.encore-body{flex:1;display:flex;flex-direction:column;gap:6px;padding:12px 14px 14px}' +
    '.encore-name{font-size:1em;font-weight:600;margin:0;padding-inline-end:28px}' +
    '.encore p{margin:0}' +
    '.encore-reason,.encore-sponsored{font-size:.8em;opacity:.72}' +
    '.encore-sponsored{text-transform:uppercase;letter-spacing:.06em}' +
    // transparent borders: invisible, but drawn in forced-colors (high contrast) mode, where backgrounds go
    '.encore-cta{margin-top:auto;align-self:flex-start;padding:8px 14px;font-weight:600;text-decoration:none;' +
    'border:1px solid transparent;' +
    'border-radius:var(--encore-radius,10px);background:var(--encore-accent,#2b59c3);color:var(--encore-accent-text,#fff)}' +
    '.encore-cta:hover{filter:brightness(1.1)}' +
    '.encore-dismiss{position:absolute;top:6px;inset-inline-end:6px;width:30px;height:30px;padding:0;' +
    // z-index: the card's faded labels (opacity) would otherwise paint over it, and take its clicks
    'border:1px solid transparent;border-radius:50%;z-index:1;' +
    'background:rgba(255,255,255,.9);color:#1d2329;font-family:inherit;font-size:20px;line-height:1;cursor:pointer}' +
    '.encore-csat{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;margin-top:14px}' +
    '.encore-scores{display:flex;gap:6px}' +
    '.encore-score{min-width:36px;height:36px;border:1px solid rgba(0,0,0,.2);border-radius:var(--encore-radius,10px);' +
    'background:var(--encore-bg,#fff);color:inherit;font:inherit;cursor:pointer}' +
    '.encore a:focus-visible,.encore button:focus-visible,.encore [tabindex]:focus-visible{outline:3px solid ' +
    'var(--encore-accent,#2b59c3);outline-offset:2px}';

  var script = d.currentScript || d.querySelector('script[data-key][src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var warned = false;
  var base = endpointOf(data, script);
  var timeoutMs = +data.timeout || 3000;
  var consent = consentOf(data);
  var waiting = [];
  var shown = [];
  var outbox = [];
  var flushTimer;
  var autoHost;
  var hosts = new WeakMap(); // target: the element of ours inside it that holds the offers
  var inflight = {}; // slot and body: the answer on its way
  var latest = new WeakMap();
  var memory = new WeakMap(); // host: what it shows, as kept for a revisit
  var STORE = 'encore:';
  var KEEP_MS = 900000; // a revisit within 15 minutes shows the same offers
  var viewTimers = new WeakMap();
  var onScreen = []; // offers at least half on screen, not yet viewed
  var policy; // Trusted Types: undefined until first needed, then the policy or null
  var observer = w.IntersectionObserver && new IntersectionObserver(onVisibility, {threshold: 0.5});
  // A constructed stylesheet is not inline CSS, so a page's strict style-src CSP still lets it apply.
  var sheet;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  } catch (e) {
    sheet = null;
  }

  // As consent tools say it (Google's Consent Mode: 'granted' / 'denied'): anything not a yes is a no.
  function granted(value) {
    return value === true || /^\s*(true|granted|yes|1)\s*$/i.test(value == null ? '' : String(value));
  }

  function warn(message) {
    if (warned) return;
    warned = true;
    try { w.console.warn(PREFIX + message); } catch (e) { /* no console */ }
  }

  function guard(fn) {
    return function () {
      try { return fn.apply(null, arguments); } catch (e) { warn(String((e && e.message) || e)); }
    };
  }

  // The service a tag talks to: its data-endpoint (absolute, or relative to the page: `/` for a
  // service proxied under the shop's own origin), else the origin it was loaded from; '' if unreadable.
  function endpointOf(set, tag) {
    try {
      if (set.endpoint) return new URL(set.endpoint, location.href).href.replace(/\/+$/, '');
      return tag && tag.src ? new URL(tag.src).origin : location.origin;
    } catch (e) {
      return '';
    }
  }

  // A tag's data-consent: absent is consent, "pending" is null (wait for encore.consent), else granted().
  function consentOf(set) {
    if (!('consent' in set)) return true;
    return /^\s*pending\s*$/i.test(set.consent) ? null : granted(set.consent);
  }

  function parse(name, set) {
    var text = (set || data)[name];
    if (!text) return undefined;
    try { return JSON.parse(text); } catch (e) { warn('data-' + name + ' is not valid JSON'); }
  }

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  // Prototype.js's Array#toJSON (old Magento shops) would write arrays as strings: set it aside.
  function stringify(value) {
    var own = Object.getOwnPropertyDescriptor(Array.prototype, 'toJSON');
    if (!own || !own.configurable) return JSON.stringify(value);
    delete Array.prototype.toJSON;
    try { return JSON.stringify(value); } finally { Object.defineProperty(Array.prototype, 'toJSON', own); }
  }

  // Where the offers go: a target, else #encore-offers, else right after this script tag.
  // A script in <head> may run before the body exists, so it waits for the DOM.
  function withHost(target, then) {
    var found = target && target.nodeType ? target : d.querySelector(target || '#encore-offers');
    var floating = !script || !script.parentNode || !d.body || d.head.contains(script);
    if (found) return then(hostIn(found));
    if (!target && !floating) return then(insertHost(script.parentNode, script.nextSibling));
    if (d.readyState === 'loading') {
      return d.addEventListener('DOMContentLoaded', guard(function () { withHost(target, then); }));
    }
    if (target) return warn('no element matches data-target ' + target);
    then(insertHost(d.body, null));
  }

  function insertHost(parent, before) {
    if (!autoHost) autoHost = parent.insertBefore(newHost(), before);
    return autoHost;
  }

  // The offers live in an element of their own inside the target: what the shop put there stays, and
  // hiding an empty widget hides only that element.
  function hostIn(target) {
    var host = hosts.get(target);
    if (!host || host.parentNode !== target) hosts.set(target, host = target.appendChild(newHost()));
    return host;
  }

  function newHost() {
    var host = d.createElement('div');
    host.className = 'encore-host';
    return host;
  }

  function show(options) {
    options = options || {};
    if (consent !== true) return waiting.push(options); // shown if consent is granted later
    withHost(options.target || data.target, function (host) { load(host, options); });
  }

  function load(host, options) {
    var root = host.shadowRoot || attach(host);
    var id = {};
    var target = options.target || data.target;
    var slot = STORE + (target && target.nodeType ? target.id : target || '');
    var body, kept;
    latest.set(host, id);
    host.hidden = false;
    fill(root, '<div class="encore-ph" aria-hidden="true"></div>');
    Promise.resolve().then(function () {
      var order = options.order || parse('order');
      if (!order || typeof order !== 'object') throw new Error('no order to show offers for');
      if (!base) throw new Error('data-endpoint is not a URL');
      body = stringify({
        key: data.key,
        placement: options.placement || data.placement || 'thank_you',
        order: order,
        customer: options.customer || parse('customer') || {},
        attributes: options.attributes || parse('attributes') || {},
        limit: +(options.limit || data.limit) || 3,
        locale: options.locale || data.locale || d.documentElement.lang || ''
      });
      kept = recall(slot, body);
      return kept ? kept.answer : asked(slot + body, body);
    }).then(function (answer) {
      if (latest.get(host) !== id) return;
      if (consent !== true) return collapse(host); // withdrawn while the answer was on its way
      kept = kept || {body: body, at: Date.now(), answer: answer, gone: [], csat: false};
      render(host, root, kept); // throws on an answer it cannot show: that is not kept
      memory.set(host, {slot: slot, kept: kept});
      keep(slot, kept);
    }).catch(guard(function (e) {
      warn('no offers: ' + ((e && e.message) || e));
      if (latest.get(host) === id) collapse(host);
    }));
  }

  // A revisit of the same order in this tab (a reload, the back button) shows what the first
  // visit showed, minus what was dismissed and without asking the CSAT question again, instead of
  // ranking anew; its tokens are the first visit's, so its events count once. One entry per
  // widget slot of the page (its target), replaced by the next order shown there.
  function recall(slot, body) {
    try {
      var kept = JSON.parse(w.sessionStorage.getItem(slot));
      return kept && kept.body === body && Date.now() - kept.at < KEEP_MS ? kept : null;
    } catch (e) { return null; }
  }

  function keep(slot, kept) {
    try { w.sessionStorage.setItem(slot, stringify(kept)); } catch (e) { /* storage off or full */ }
  }

  function update(host, change) {
    var memo = memory.get(host);
    if (!memo) return;
    change(memo.kept);
    keep(memo.slot, memo.kept);
  }

  function forgetAll() {
    try {
      for (var i = w.sessionStorage.length - 1; i >= 0; i--) {
        var name = w.sessionStorage.key(i);
        if (name.indexOf(STORE) === 0) w.sessionStorage.removeItem(name);
      }
    } catch (e) { /* storage off */ }
  }

  function attach(host) {
    var root = host.attachShadow({mode: 'open'});
    if (sheet) root.adoptedStyleSheets = [sheet];
    root.addEventListener('click', guard(function (event) { onClick(host, root, event); }));
    // A broken offer image is hidden rather than shown as a broken icon.
    root.addEventListener('error', function (event) {
      if (event.target.tagName === 'IMG') event.target.hidden = true;
    }, true);
    shown.push(host);
    return root;
  }

  // show() called again with the same order before the answer came (a page that renders twice)
  // waits for that answer rather than ranking the order a second time.
  function asked(key, body) {
    if (!inflight[key]) {
      var done = function () { delete inflight[key]; };
      inflight[key] = request(base + '/v1/widget', body);
      inflight[key].then(done, done);
    }
    return inflight[key];
  }

  function request(url, body) {
    var controller = w.AbortController && new AbortController();
    var timer;
    var timeout = new Promise(function (_, reject) {
      timer = setTimeout(function () {
        if (controller) controller.abort();
        reject(new Error('timed out after ' + timeoutMs + ' ms'));
      }, timeoutMs);
    });
    // fetch called in the chain: one that throws at once (a host's wrapper) rejects this answer,
    // which clears the timer, rather than leaving the timeout to reject with nobody listening.
    var answer = Promise.resolve().then(function () {
      return fetch(url, {method: 'POST', body: body, credentials: 'omit', signal: controller && controller.signal});
    }).then(function (response) {
      if (!response.ok) throw new Error('/v1/widget answered ' + response.status);
      return response.json();
    });
    var done = function () { clearTimeout(timer); };
    answer.then(done, done);
    return Promise.race([answer, timeout]);
  }

  function render(host, root, kept) {
    var answer = kept.answer;
    if (!answer || typeof answer.html !== 'string') throw new Error('/v1/widget answered no html');
    fill(root, answer.html);
    // The fragment's links point at the Encore service, not at the shop that shows them.
    each(root.querySelectorAll('a[href],img[src]'), function (el) {
      var name = el.hasAttribute('href') ? 'href' : 'src';
      el.setAttribute(name, new URL(el.getAttribute(name), base + '/').href);
    });
    var answered = root.querySelectorAll('[data-encore-token]');
    each(answered, function (offer) {
      if (kept.gone.indexOf(offer.getAttribute('data-encore-token')) >= 0) (offer.closest('li') || offer).remove();
    });
    if (kept.csat) each(root.querySelectorAll('[data-encore-csat]'), function (box) { box.remove(); });
    var offers = root.querySelectorAll('[data-encore-token]');
    // closed as it was left: every offer dismissed, or nothing to show or ask
    if (!offers.length && (answered.length || !root.querySelector('[data-encore-csat]'))) return collapse(host);
    each(offers, function (offer) {
      track({type: 'impression', token: offer.getAttribute('data-encore-token')});
      if (observer) observer.observe(offer);
    });
  }

  function fill(root, html) {
    root.innerHTML = trusted((sheet ? '' : '<style>' + CSS + '</style>') + html);
  }

  // Pages that enforce Trusted Types refuse strings for innerHTML; our policy passes the fragment
  // (the service's own autoescaped HTML) through as it is.
  function trusted(html) {
    if (policy === undefined) {
      policy = null;
      try {
        if (w.trustedTypes) policy = w.trustedTypes.createPolicy('encore', {createHTML: String});
      } catch (e) {
        throw new Error('the CSP trusted-types directive does not allow the policy encore');
      }
    }
    return policy ? policy.createHTML(html) : html;
  }

  function collapse(host) {
    if (host.shadowRoot) {
      each(host.shadowRoot.querySelectorAll('[data-encore-token]'), forget);
      while (host.shadowRoot.firstChild) host.shadowRoot.removeChild(host.shadowRoot.firstChild);
    }
    host.hidden = true;
  }

  function onClick(host, root, event) {
    var target = event.target;
    var dismiss = target.closest('[data-encore-dismiss]');
    var score = target.closest('[data-encore-score]');
    if (dismiss) {
      var offer = dismiss.closest('[data-encore-token]');
      var item = offer.closest('li') || offer;
      var next = item.nextElementSibling || item.previousElementSibling;
      var keyboard = dismiss.matches(':focus-visible');
      var token = offer.getAttribute('data-encore-token');
      track({type: 'dismiss', token: token});
      update(host, function (kept) { kept.gone.push(token); });
      forget(offer);
      item.parentNode.removeChild(item);
      if (!root.querySelector('[data-encore-token]')) {
        // keyboard: focus moves on past the widget (or back before it)
        var after = keyboard && following(host);
        collapse(host);
        return after && after.focus();
      }
      var focusable = next && next.querySelector('a[href],button');
      if (focusable) focusable.focus();
      var announce = root.querySelector('[data-encore-announce]');
      if (announce) announce.textContent = announce.getAttribute('data-encore-dismissed');
    } else if (score) {
      var box = score.closest('[data-encore-csat]');
      track({type: 'csat', score: +score.getAttribute('data-encore-score'), token: box.getAttribute('data-encore-csat')});
      update(host, function (kept) { kept.csat = true; });
      each(box.querySelectorAll('[data-encore-csat-ask]'), function (el) { el.hidden = true; });
      var thanks = box.querySelector('[data-encore-csat-thanks]');
      if (thanks) {
        thanks.hidden = false;
        thanks.focus();
      }
    }
  }

  // The first thing the keyboard reaches after the widget; on a page with nothing after it,
  // the last thing before it (never the page's top).
  function following(host) {
    var all = d.querySelectorAll('a[href],button,input,select,textarea,[tabindex]');
    var before;
    for (var i = 0; i < all.length; i++) {
      if (all[i].tabIndex < 0 || all[i].disabled || !all[i].getClientRects().length) continue;
      var where = host.compareDocumentPosition(all[i]);
      if (where === 4) return all[i];
      if (where === 2) before = all[i];
    }
    return before;
  }

  // A view: at least half of an offer on screen for one continuous second.
  function onVisibility(entries) {
    each(entries, guard(function (entry) {
      var offer = entry.target;
      if (entry.isIntersecting && entry.intersectionRatio >= 0.5) {
        if (onScreen.indexOf(offer) < 0) onScreen.push(offer);
      } else {
        offScreen(offer);
      }
    }));
    timeViews();
  }

  // The second runs only while the page is visible: a tab switched away from keeps its timers.
  function timeViews() {
    var hidden = d.visibilityState === 'hidden';
    each(onScreen, function (offer) {
      if (hidden) return stopTimer(offer);
      if (!viewTimers.has(offer)) {
        viewTimers.set(offer, setTimeout(guard(function () {
          forget(offer);
          track({type: 'view', token: offer.getAttribute('data-encore-token')});
        }), 1000));
      }
    });
  }

  function stopTimer(offer) {
    clearTimeout(viewTimers.get(offer));
    viewTimers.delete(offer);
  }

  function offScreen(offer) {
    stopTimer(offer);
    var at = onScreen.indexOf(offer);
    if (at >= 0) onScreen.splice(at, 1);
  }

  function forget(offer) {
    if (observer) observer.unobserve(offer);
    offScreen(offer);
  }

  function track(event) {
    if (consent !== true || !event.token) return;
    event.at = new Date().toISOString();
    outbox.push(event);
    clearTimeout(flushTimer);
    flushTimer = setTimeout(guard(flush), 250);
  }

  // text/plain avoids a CORS preflight; keepalive lets the batch outlive the page.
  function flush() {
    clearTimeout(flushTimer);
    var url = base + '/v1/events';
    while (outbox.length) {
      var body = stringify({key: data.key, events: outbox.splice(0, 50)});
      try {
        fetch(url, {method: 'POST', body: body, keepalive: true, credentials: 'omit'}).catch(function () {});
      } catch (e) {
        if (navigator.sendBeacon) navigator.sendBeacon(url, body);
      }
    }
  }

  function setConsent(value) {
    consent = granted(value);
    if (consent) return each(waiting.splice(0, waiting.length), show);
    outbox.length = 0;
    forgetAll();
    each(shown, collapse);
  }

  // A second tag on the page (another placement): its order shows too, in its data-target, else in
  // a slot of its own after it (in the body, for a tag in <head>). Only a tag of this shop and this
  // service, and not one whose own data-consent refuses: another shop's order is not ours to send.
  function showTag(tag) {
    var own = (tag && tag.dataset) || {};
    if (!own.order) return;
    if (own.key !== data.key || endpointOf(own, tag) !== base) return warn('a tag of another shop or service is left alone');
    if (consentOf(own) === false || once(own)) return;
    var options = {placement: own.placement, limit: own.limit, locale: own.locale, target: own.target,
      order: parse('order', own), customer: parse('customer', own), attributes: parse('attributes', own)};
    if (options.target) return show(options);
    options.target = d.createElement('div');
    options.target.id = 'encore-tag-' + ++tags; // its revisit slot (sessionStorage) is its own
    if (d.body && d.body.contains(tag)) {
      tag.parentNode.insertBefore(options.target, tag.nextSibling);
      return show(options);
    }
    if (d.readyState === 'loading') {
      return d.addEventListener('DOMContentLoaded', guard(function () { d.body.appendChild(options.target); show(options); }));
    }
    d.body.appendChild(options.target);
    show(options);
  }

  // Whether a tag with these data-* settings was shown already: the same tag pasted twice (by a
  // theme and an app, say) shows its order once.
  function once(set) {
    var settings = [set.placement, set.target, set.order, set.customer, set.attributes, set.limit, set.locale].join('\n');
    if (tagSettings.indexOf(settings) >= 0) return true;
    tagSettings.push(settings);
    return false;
  }

  function run(command) {
    if (command && typeof command.length === 'number' && typeof command[0] === 'string') {
      var method = api[command[0]];
      if (typeof method === 'function') method.apply(null, Array.prototype.slice.call(command, 1));
    } else {
      api.show(command);
    }
  }

  // The stub becomes the API in place: code that kept a reference to it calls the real thing.
  var queued = (stub && stub.q && stub.q.length && stub.q) || [];
  var api = stub && stub.q && !stub.nodeType ? stub : {};
  var tags = 0; // other tags of this shop on the page, each with its own slot
  var tagSettings = [];

  guard(function () {
    api.loaded = true;
    api.show = guard(show);
    api.consent = guard(setConsent);
    api.flush = guard(flush);
    api.tag = guard(showTag);
    api.q = {push: guard(run)};
    w.encore = api;
    d.addEventListener('visibilitychange', guard(function () {
      timeViews();
      if (d.visibilityState === 'hidden') flush();
    }));
    w.addEventListener('pagehide', api.flush);
    if (data.order && !once(data)) show({});
    each(queued, api.q.push);
  })();

})(window, document);
