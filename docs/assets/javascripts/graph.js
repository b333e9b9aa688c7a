// The citation graph. Data comes from a JSON script tag written at build time; positions are
// precomputed (scripts/pages/graph_page.py), so physics stays off and the graph is interactive
// at once, even at 5,000 nodes. Tooltips are DOM text nodes, never HTML: titles come from
// contributors' entry files.
//
// Labels keep one size on screen at every zoom. Which are drawn is decided after each zoom:
// axis labels first, then works by importance (how many later works point at them), each only
// where it overlaps no label already placed. Zoomed out, the best-connected works are named;
// zooming in makes room for the rest.
//
// Narrower than 600 px the page shows the graph as a list instead (CSS), and the network is
// only built once the screen is wide enough.
(function () {
  const container = document.getElementById("atlas-graph");
  const dataTag = document.getElementById("atlas-graph-data");
  if (!container || !dataTag || typeof vis === "undefined") return;
  const wide = window.matchMedia("(min-width: 600px)");
  if (wide.matches) start();
  else wide.addEventListener("change", function once() { wide.removeEventListener("change", once); start(); });

  function start() {
    const data = JSON.parse(dataTag.textContent);
    const options = typeof data.options === "string" ? JSON.parse(data.options) : data.options;
    const LABEL_PX = 13;
    const HIDDEN = 1e-4;  // a font this small is below vis-network's draw threshold

    function tooltip(text) {
      const element = document.createElement("div");
      element.className = "atlas-graph-tooltip";
      element.textContent = text;  // text, not HTML
      return element;
    }
    const byId = new Map();
    for (const node of data.nodes) {
      if (node.title) node.title = tooltip(node.title);
      node.font = Object.assign({}, node.font, { size: HIDDEN });
      byId.set(node.id, node);
    }
    for (const edge of data.edges) if (edge.title) edge.title = tooltip(edge.title);
    // Axis labels (rank 0: lanes, 1: years) first, then works by importance (rank 2 + in-degree);
    // ties in the data's order.
    const axis = (n) => (n.rank <= 1 ? 0 : 1);
    const ranked = data.nodes.map((n, i) => [n, i])
      .sort(([a, i], [b, j]) => (axis(a) - axis(b)) || (a.rank <= 1 ? a.rank - b.rank : b.rank - a.rank) || (i - j))
      .map(([n]) => n);

    const nodes = new vis.DataSet(data.nodes);
    const edges = new vis.DataSet(data.edges);
    const network = new vis.Network(container, { nodes, edges }, options);

    // Which labels fit at this zoom: a greedy pass over a grid of occupied screen cells.
    const CELL = 8;
    let shown = new Map();
    function placeLabels() {
      const scale = network.getScale();
      const measure = document.createElement("canvas").getContext("2d");
      measure.font = `${LABEL_PX}px sans-serif`;
      const taken = new Set();
      const next = new Map();
      function free(x0, y0, x1, y1, mark) {
        const cells = [];
        for (let x = Math.floor(x0 / CELL); x <= Math.floor(x1 / CELL); x++) {
          for (let y = Math.floor(y0 / CELL); y <= Math.floor(y1 / CELL); y++) {
            const key = x + "," + y;
            if (taken.has(key)) return false;
            cells.push(key);
          }
        }
        if (mark) cells.forEach((key) => taken.add(key));
        return true;
      }
      for (const node of ranked) {
        const width = measure.measureText(node.label).width + 4;
        const x = node.x * scale, y = node.y * scale;
        const text = node.shape === "text";
        const top = text ? y - LABEL_PX / 2 : y + (node.size || 8) * scale + 2;
        const fits = free(x - width / 2, top, x + width / 2, top + LABEL_PX + 2, true);
        next.set(node.id, fits || node.rank === 0);  // thread names always show
      }
      const size = LABEL_PX / scale;
      const changes = [];
      for (const [id, visible] of next) {
        changes.push({ id, font: { size: visible ? size : HIDDEN } });
      }
      shown = next;
      nodes.update(changes);
    }
    let pending = false;
    network.on("zoom", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; placeLabels(); });
    });

    network.on("animationFinished", placeLabels);

    // Physics is off, so nothing fits the view for us: show every node and the axis labels.
    network.fit({ animation: false });
    placeLabels();

    // Follow the theme's light/dark scheme: labels take the page's text colour, lane labels keep
    // their thread's colour (chosen for contrast on both schemes).
    function applyScheme() {
      const colour = getComputedStyle(document.body).getPropertyValue("--md-default-fg-color").trim() || "#222";
      nodes.update(data.nodes.filter((n) => !n.id.startsWith("lane:")).map((n) => ({ id: n.id, font: { color: colour } })));
    }
    applyScheme();
    new MutationObserver(applyScheme).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

    network.on("click", (params) => {
      if (params.nodes.length === 1) {
        const node = byId.get(params.nodes[0]);
        if (node && node.url) window.location.href = node.url;
      }
    });

    // Search: a title, an author or a year (suggestions from a datalist); Enter focuses the works.
    const search = document.querySelector("[data-atlas-graph-search]");
    const status = document.querySelector("[data-atlas-graph-status]");
    const list = document.getElementById("atlas-graph-titles");
    const works = data.nodes.filter((n) => n.url);
    for (const work of works) {
      const option = document.createElement("option");
      option.value = work.title.textContent.split("\n")[0];
      list.appendChild(option);
    }
    let searched = null;  // the text of the last search
    function find() {
      searched = search.value;
      const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.length) { status.textContent = ""; network.unselectAll(); return; }
      const matches = works.filter((n) => words.every((w) => n.search.includes(w))).map((n) => n.id);
      status.textContent = matches.length ? `${matches.length} found` : "no match";
      network.selectNodes(matches);
      if (matches.length === 1) network.focus(matches[0], { scale: Math.max(network.getScale(), 1.2), animation: { duration: 400 } });
      else if (matches.length) network.fit({ nodes: matches, animation: { duration: 400 } });
    }
    // "change" also fires when the box loses focus, as it does when the reader clicks the graph
    // after pressing Enter: searching again then would move the view under the click (and pick
    // the wrong node, or none), so it searches only for new text (a suggestion picked from the list).
    search.addEventListener("change", () => { if (search.value !== searched) find(); });
    search.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); find(); } });
    window.atlasGraph = network;  // for tests and the curious
    window.atlasGraphLabels = () => [...shown].filter(([, visible]) => visible).map(([id]) => id);
  }
})();
