// Render the math that pymdownx.arithmatex (generic mode) leaves as \( … \) and \[ … \],
// in Markdown pages and in notebook output alike, with the KaTeX this site serves itself.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredClasses: ["atlas-timeline", "atlas-filter", "highlight"],
    throwOnError: false,
  });
});
