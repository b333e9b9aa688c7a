// The citation graph. Data comes from a JSON script tag written at build time; positions are
// precomputed, so physics stays off and the graph is interactive at once, even at 5,000 nodes.
// Tooltips are DOM text nodes, never HTML: titles come from contributors' entry files.
(function () {
  const container = document.getElementById("atlas-graph");
  const dataTag = document.getElementById("atlas-graph-data");
  if (!container || !dataTag || typeof vis === "undefined") return;
  const data = JSON.parse(dataTag.textContent);
  const options = typeof data.options === "string" ? JSON.parse(data.options) : data.options;

  function tooltip(text) {
    const element = document.createElement("div");
    element.className = "atlas-graph-tooltip";
    element.textContent = text;  // text, not HTML
    return element;
  }
  const byId = new Map();
  for (const node of data.nodes) {
    if (node.title) node.title = tooltip(node.title);
    byId.set(node.id, node);
  }
  for (const edge of data.edges) if (edge.title) edge.title = tooltip(edge.title);

  const nodes = new vis.DataSet(data.nodes);
  const edges = new vis.DataSet(data.edges);
  const network = new vis.Network(container, { nodes, edges }, options);
  // Physics is off, so nothing fits the view for us: show every node and the axis labels.
  network.fit({ animation: false });
  network.moveTo({ scale: network.getScale() * 0.88 });  // fit() ignores the width of text labels

  // Follow the theme's light/dark scheme: labels take the page's text colour.
  function applyScheme() {
    const colour = getComputedStyle(document.body).getPropertyValue("--md-default-fg-color").trim() || "#222";
    // Entry labels take the page's text colour; axis labels keep theirs (thread colours).
    nodes.update(data.nodes.filter((n) => n.url || n.id.startsWith("year:")).map((n) => ({ id: n.id, font: { color: colour } })));
  }
  applyScheme();
  new MutationObserver(applyScheme).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  network.on("click", (params) => {
    if (params.nodes.length === 1) {
      const node = byId.get(params.nodes[0]);
      if (node && node.url) window.location.href = node.url;
    }
  });

  // Search: type a title (suggestions from a datalist), press Enter to focus the work.
  const search = document.querySelector("[data-atlas-graph-search]");
  const status = document.querySelector("[data-atlas-graph-status]");
  const list = document.getElementById("atlas-graph-titles");
  const titles = data.nodes.filter((n) => n.url).map((n) => [n.id, n.title.textContent.split("\n")[0]]);
  for (const [, title] of titles) {
    const option = document.createElement("option");
    option.value = title;
    list.appendChild(option);
  }
  let searched = null;  // the text of the last search
  function find() {
    searched = search.value;
    const needle = search.value.trim().toLowerCase();
    if (!needle) { status.textContent = ""; network.unselectAll(); return; }
    const matches = titles.filter(([, t]) => t.toLowerCase().includes(needle)).map(([id]) => id);
    status.textContent = matches.length ? `${matches.length} found` : "no match";
    network.selectNodes(matches);
    if (matches.length) network.focus(matches[0], { scale: 1.4, animation: { duration: 400 } });
  }
  // "change" also fires when the box loses focus, as it does when the reader clicks the graph
  // after pressing Enter: searching again then would move the view under the click (and pick
  // the wrong node, or none), so it searches only for new text (a suggestion picked from the list).
  search.addEventListener("change", () => { if (search.value !== searched) find(); });
  search.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); find(); } });
  window.atlasGraph = network;  // for tests and the curious
})();
