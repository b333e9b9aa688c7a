// Small fixes Material's templates do not offer, run on every page.
document$.subscribe(() => {
  // Entry and mechanism pages live outside the navigation, so Material highlights no tab:
  // entries belong under Timeline, mechanism pages under Mechanisms.
  const tabs = [...document.querySelectorAll(".md-tabs__item")];
  if (tabs.length && !tabs.some((tab) => tab.classList.contains("md-tabs__item--active"))) {
    const section = /\/entries\/[^/]+\/$/.test(location.pathname) ? "/timeline/"
      : /\/mechanisms\/[^/]+\/$/.test(location.pathname) ? "/mechanisms/" : null;
    const tab = section && tabs.find((item) => {
      const link = item.querySelector("a");
      return link && new URL(link.href).pathname.endsWith(section);
    });
    if (tab) tab.classList.add("md-tabs__item--active");
  }
  // A region that scrolls must be reachable by keyboard (WCAG 2.1.1): code blocks, notebook
  // outputs, wide tables (Material's scroll wrapper), display math and figures get a tab stop
  // when their content overflows, as on a phone.
  // All measured first, then all marked: interleaving reads and writes would lay the page out
  // once per region.
  const regions = [...document.querySelectorAll(
    ".md-typeset pre, .md-typeset__table, .md-typeset__scrollwrap, .jp-OutputArea-output, "
    + ".md-typeset .arithmatex, .md-typeset .katex-display, .atlas-diagram__canvas")]
    .filter((region) => !region.hasAttribute("tabindex"));
  // A code block scrolls in its <code>; Material marks it only when it mounts the block, which
  // with content.lazy (mkdocs.yml) waits until the block comes into view.
  const code = [...document.querySelectorAll(".md-typeset pre > code:not([tabindex])")];
  const scrollable = [...regions, ...code].filter((region) =>
    region.scrollWidth > region.clientWidth || region.scrollHeight > region.clientHeight);
  for (const region of scrollable) region.tabIndex = 0;
});

// Material's search dialog has no accessible name.
document$.subscribe(() => {
  const dialog = document.querySelector(".md-search[role=dialog]");
  if (dialog && !dialog.hasAttribute("aria-label")) dialog.setAttribute("aria-label", "Search the atlas");
});
