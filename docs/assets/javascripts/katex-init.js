// Render the math that pymdownx.arithmatex (generic mode) leaves as \( … \) and \[ … \],
// in Markdown pages and in notebook output alike, with the KaTeX this site serves itself.
// KaTeX is loaded only on pages with math (overrides/main.html). Each block is typeset when it
// comes near the screen, so a long page does not typeset everything before it responds.
document$.subscribe(({ body }) => {
  const options = {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredClasses: ["atlas-timeline", "atlas-filter", "highlight"],
    throwOnError: false,
  };
  const blocks = [...body.querySelectorAll(".arithmatex, .jp-MarkdownCell, .jp-RenderedMarkdown")]
    .filter((block) => !block.parentElement.closest(".jp-MarkdownCell, .jp-RenderedMarkdown"));
  if (!("IntersectionObserver" in window) || !blocks.length) {
    renderMathInElement(body, options);
    return;
  }
  const observer = new IntersectionObserver((seen) => {
    for (const { target, isIntersecting } of seen) {
      if (!isIntersecting) continue;  // typeset once, when first near the screen
      observer.unobserve(target);
      renderMathInElement(target, options);
    }
  }, { rootMargin: "600px 0px" });
  // What is on or near the first screen is typeset at once; the rest as it scrolls into view.
  const near = window.innerHeight + 600;
  for (const block of blocks) {
    if (block.getBoundingClientRect().top < near) renderMathInElement(block, options);
    else observer.observe(block);
  }
});
