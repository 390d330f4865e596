// certdetect catalog: the filters of index.html and the copy buttons of the rule pages. The
// pages read in full without this script; it only shows the controls it drives.
"use strict";

function rowMatches(row, filters) {
  const data = row.dataset;
  if (filters.text && !data.text.includes(filters.text)) return false;
  if (filters.level && data.level !== filters.level) return false;
  if (filters.technique) {
    const ids = data.techniques.split(" ");
    const under = (id) => id === filters.technique || id.startsWith(filters.technique + ".");
    if (!ids.some(under)) return false;
  }
  const targets = filters.target
    ? [filters.target]
    : Object.keys(data).filter((k) => k.startsWith("status")).map((k) => k.slice(6));
  return targets.some((name) => {
    const status = data["status" + name.charAt(0).toUpperCase() + name.slice(1)];
    return status !== undefined && (!filters.status || status === filters.status);
  });
}

function setUpFilters(form) {
  const rows = Array.from(document.querySelectorAll("#rules tbody tr"));
  const shown = document.getElementById("shown");
  const apply = () => {
    const value = (name) => form.elements[name].value;
    const filters = {
      text: value("text").trim().toLowerCase(),
      level: value("level"),
      technique: value("technique"),
      target: value("target").toLowerCase(),
      status: value("status"),
    };
    let count = 0;
    for (const row of rows) {
      const keep = rowMatches(row, filters);
      row.hidden = !keep;
      if (keep) count += 1;
    }
    shown.textContent = count + " of " + rows.length + " rules shown";
  };
  form.addEventListener("input", apply);
  form.addEventListener("change", apply); // a select set by script or by some drivers fires only this
  form.addEventListener("submit", (event) => event.preventDefault());
  form.hidden = false;
  apply();
}

// The copied text is also kept in `window.catalogLastCopy`: a test hook for browsers without a
// clipboard (headless, file:// pages where the Clipboard API is refused).
function copyText(text) {
  window.catalogLastCopy = text;
  if (navigator.clipboard && navigator.clipboard.writeText) {
    return navigator.clipboard.writeText(text).then(() => true, () => false);
  }
  return Promise.resolve(false);
}

function setUpCopy(button) {
  const source = document.getElementById(button.dataset.copy);
  const label = button.textContent;
  button.addEventListener("click", () => {
    copyText(source.textContent).then((copied) => {
      button.textContent = copied ? "Copied" : "Select the text to copy";
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  });
  button.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("filters");
  if (form) setUpFilters(form);
  document.querySelectorAll("button.copy").forEach(setUpCopy);
});
