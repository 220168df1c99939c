// History-API routing over the paths the server answers with index.html.
let routes = [];
let render = () => {};

/** `table` is [[RegExp, view(match)], ...]; `onRender(view, match)` draws the page. */
export function startRouter(table, onRender) {
  routes = table;
  render = onRender;
  window.addEventListener("popstate", refresh);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  refresh();
}

export function navigate(path, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", path);
  window.scrollTo(0, 0);
  refresh();
}

export function refresh() {
  for (const [pattern, view] of routes) {
    const match = location.pathname.match(pattern);
    if (match) return render(view, match);
  }
  return render(null, null);
}
