"""JavaScript the TensorBoard tab runs in TensorBoard's page (its Angular front end, 2.x).

TensorBoard's own reload button dispatches the front end's "manual reload" action, which
refetches runs, tags and the visible charts; clicking it is how we show new data at once
instead of waiting for the page's 30-second timer. The other scripts read what the page
shows, so tests and benchmarks check the page itself, not only the HTTP API.

Every script evaluates to a JSON string: the bindings convert JavaScript arrays and objects
differently (PySide6 gives an empty string), a string crosses both the same way.
"""

from __future__ import annotations

__all__ = ["RELOAD", "SHOWN_SCALAR_TAGS", "SHOWN_STEPS"]

RELOAD = """(() => {
  const button = document.querySelector('app-header-reload button');
  if (!button || button.disabled) { return 'false'; }
  button.click();
  return 'true';
})()"""
"""Press TensorBoard's reload button; evaluates to false while there is none to press."""

SHOWN_SCALAR_TAGS = """(() => JSON.stringify(Array.from(
  document.querySelectorAll('card-view tb-truncated-path.tag'),
  (element) => element.textContent.trim()
)))()"""
"""The tags of the chart cards on screen, in page order."""

SHOWN_STEPS = """(() => {
  const shown = {};
  for (const card of document.querySelectorAll('card-view')) {
    const tag = card.querySelector('tb-truncated-path.tag');
    const table = card.querySelector('tb-data-table');
    if (!tag || !table) { continue; }
    const heads = Array.from(
      table.querySelectorAll('tb-data-table-header-cell'), (cell) => cell.textContent.trim()
    );
    const column = heads.indexOf('Step');
    if (column < 0) { continue; }
    for (const row of table.querySelectorAll('tb-data-table-content-row')) {
      const cell = row.querySelectorAll('tb-data-table-content-cell')[column];
      const step = cell ? parseInt(cell.textContent.replace(/[^0-9]/g, ''), 10) : NaN;
      const key = tag.textContent.trim();
      if (!Number.isNaN(step) && !(shown[key] >= step)) { shown[key] = step; }
    }
  }
  return JSON.stringify(shown);
})()"""
"""Tag → the highest step in its chart card's data table (the step the chart reaches)."""
