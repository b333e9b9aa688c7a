// Timeline filter: thread checkboxes and a text box toggle `hidden` on list items.
// One pass over the items per change; decades with nothing shown are hidden too, with their
// entries in the table of contents. The address follows the filter (?thread=a,b&q=words), so a
// filtered view can be shared or bookmarked; entry pages link to their thread this way.
document$.subscribe(() => {
  const form = document.querySelector("[data-atlas-filter]");
  if (!form) return;
  const boxes = [...form.querySelectorAll("input[type=checkbox]")];
  const query = form.querySelector("[data-atlas-query]");
  const shown = form.querySelector("[data-atlas-shown]");
  const items = [...document.querySelectorAll(".atlas-item")];
  const lists = [...document.querySelectorAll("[data-atlas-decade]")];

  const params = new URLSearchParams(location.search);
  const wanted = params.get("thread");
  if (wanted !== null) {
    const set = new Set(wanted.split(","));
    boxes.forEach((box) => (box.checked = set.has(box.value)));
  }
  if (params.get("q")) query.value = params.get("q");

  function remember(threads, text) {
    const next = new URLSearchParams(location.search);
    if (threads.size === boxes.length) next.delete("thread");
    else next.set("thread", [...threads].join(","));
    if (text) next.set("q", text); else next.delete("q");
    const search = next.toString().replace(/%2C/g, ",");
    history.replaceState(history.state, "", location.pathname + (search ? "?" + search : "") + location.hash);
  }

  function apply() {
    const threads = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
    const words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    let count = 0;
    for (const item of items) {
      const text = item.dataset.text;
      const visible = threads.has(item.dataset.thread) && words.every((w) => text.includes(w));
      item.hidden = !visible;
      count += visible;
    }
    for (const list of lists) {
      const empty = !list.querySelector(".atlas-item:not([hidden])");
      list.hidden = empty;
      const heading = list.previousElementSibling;
      if (heading && heading.tagName === "H2") {
        heading.hidden = empty;
        for (const link of document.querySelectorAll(`.md-nav__link[href="#${CSS.escape(heading.id)}"]`)) {
          link.closest("li").hidden = empty;
        }
      }
    }
    shown.textContent = String(count);
    remember(threads, query.value.trim());
  }

  form.addEventListener("change", apply);
  query.addEventListener("input", apply);
  form.querySelector("[data-atlas-all]").addEventListener("click", () => { boxes.forEach((b) => (b.checked = true)); apply(); });
  form.querySelector("[data-atlas-none]").addEventListener("click", () => { boxes.forEach((b) => (b.checked = false)); apply(); });
  apply();
});
