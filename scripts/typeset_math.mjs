// Typesets math for scripts/math_html.py at build time, so pages arrive with their math already
// set and readers' browsers never download or run KaTeX. One JSON array per line on stdin:
// [[latex, display], ...]; one JSON array per line on stdout: [{html} or {html, error}, ...].
import katex from "katex";
import { createInterface } from "node:readline";

function typeset([latex, display]) {
  const options = { displayMode: display, throwOnError: true, strict: "ignore" };
  try {
    return { html: katex.renderToString(latex, options) };
  } catch (error) {
    // The page still shows the source (in KaTeX's error colour); the build names the problem.
    return { html: katex.renderToString(latex, { ...options, throwOnError: false }), error: error.message };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(typeset)) + "\n");
}
