// Fetch the search index only when the reader opens search. Material 9.8 requests
// search/search_index.json (over a megabyte) as soon as a page loads and offers no option to
// wait; this script, loaded in <head> before Material's bundle, holds that one request back
// until search is opened (the search box focused, the search toggle or a shortcut used, or a
// shared ?q= address). Material queues the query until the index arrives, so nothing else changes.
(function () {
  const INDEX = /\/search\/search_index\.json$/;
  const held = [];
  let opened = new URLSearchParams(location.search).has("q");

  function open() {
    if (opened) return;
    opened = true;
    for (const [request, body] of held.splice(0)) send.call(request, body);
  }

  const openRequest = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.atlasSearchIndex = INDEX.test(new URL(String(url), location.href).pathname);
    return openRequest.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (this.atlasSearchIndex && !opened) { held.push([this, body]); return; }
    return send.call(this, body);
  };

  document.addEventListener("focusin", (event) => {
    if (event.target instanceof Element && event.target.closest(".md-search")) open();
  });
  document.addEventListener("change", (event) => {
    if (event.target instanceof Element && event.target.id === "__search") open();
  });
  // Material's shortcuts (f, s, /) focus the search box, which the focusin above sees.
  window.atlasOpenSearch = open;  // for tests and the curious
})();
