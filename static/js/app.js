// Copy buttons: <button data-copy="id"> copies an input's value or an element's text.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const input = "value" in source ? source : { value: source.textContent.trim(), select: () => {} };
  input.select();
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// Panels that refresh themselves: <section data-refresh="/url" data-interval="5000">.
// They pause while the tab is hidden and keep the last content when a refresh fails.
document.querySelectorAll("[data-refresh]").forEach((panel) => {
  const interval = Number(panel.dataset.interval || 5000);
  const refresh = async () => {
    if (document.hidden) return;
    // data-refresh-while="selector": poll only while the panel shows work in progress.
    if (panel.dataset.refreshWhile && !panel.querySelector(panel.dataset.refreshWhile)) return;
    try {
      const res = await fetch(panel.dataset.refresh, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!res.ok) return;
      panel.innerHTML = await res.text();
      paintColors(panel);
      // data-reload-when-done: the work the panel tracked finished, so the page's own
      // figures (counts next to it) are stale; show them fresh.
      if (panel.dataset.reloadWhenDone !== undefined && panel.dataset.refreshWhile && !panel.querySelector(panel.dataset.refreshWhile)) {
        window.location.reload();
      }
    } catch (_) { /* offline for a moment; try again next tick */ }
  };
  setInterval(refresh, interval);
  document.addEventListener("visibilitychange", refresh);
});

// A select whose "other" choice reveals a field: <select data-toggle-other="element-id">
// (data-other-value names the choice when it is not "other").
document.querySelectorAll("[data-toggle-other]").forEach((select) => {
  const target = document.getElementById(select.dataset.toggleOther);
  const other = select.dataset.otherValue || "other";
  const sync = () => target && target.classList.toggle("hidden", select.value !== other);
  select.addEventListener("change", sync);
  sync();
});

// Filters that apply on change: <select data-autosubmit>.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});

// Forms that ask first: <form data-confirm="Delete …?">.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// User-chosen colours (labels): <span data-color="#rrggbb">. Set through the CSS object model
// because the content security policy forbids inline style attributes. The text takes the
// label's colour darkened just enough to read on the chip's tint (WCAG 4.5:1), whatever
// colour was chosen.
const CHIP_TINT = 0.14; // the share of the colour in a chip's background (see .label-chip)

function luminance(rgb) {
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
}

function contrastRatio(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function chipInk(hex) {
  const n = parseInt(hex.slice(1), 16);
  const rgb = [n >> 16, (n >> 8) & 255, n & 255];
  const bg = rgb.map((v) => v * CHIP_TINT + 255 * (1 - CHIP_TINT));
  for (let dark = 0; dark <= 1; dark += 0.05) {
    const ink = rgb.map((v) => Math.round(v * (1 - dark)));
    if (contrastRatio(ink, bg) >= 4.5) return `rgb(${ink.join(", ")})`;
  }
  return "#000";
}

window.paintChip = (node, hex) => {
  if (!/^#[0-9a-f]{6}$/i.test(hex)) return;
  node.style.setProperty("--chip", hex);
  node.style.setProperty("--chip-ink", chipInk(hex));
};

function paintColors(scope) {
  scope.querySelectorAll("[data-color]").forEach((node) => window.paintChip(node, node.dataset.color));
}
paintColors(document);

// Filter chips that apply on change: <input type="checkbox" data-autosubmit-check>.
document.querySelectorAll("input[data-autosubmit-check]").forEach((box) => {
  box.addEventListener("change", () => box.form.submit());
});

// The navigation on narrow screens: the Menu button shows and hides it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu]");
  if (!button) return;
  const open = document.body.classList.toggle("nav-open");
  button.setAttribute("aria-expanded", String(open));
});

// Rows that open their record: <tr data-href="/leads/1">. Links, buttons and fields inside
// keep their own meaning; a selection of text is not a click.
document.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-href]");
  if (!row || event.target.closest("a, button, input, select, label") || String(window.getSelection())) return;
  if (event.metaKey || event.ctrlKey) window.open(row.dataset.href, "_blank");
  else window.location.assign(row.dataset.href);
});

// The browser's time zone, for times shown in the person's own (unless they chose one).
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  }
})();

// The alert form shows the fields of the chosen trigger only (all of them without script).
document.querySelectorAll("input[name=trigger]").forEach((radio) => {
  const show = () => {
    const chosen = document.querySelector("input[name=trigger]:checked");
    document.querySelectorAll("[data-trigger]").forEach((group) => {
      group.hidden = !chosen || !group.dataset.trigger.split(" ").includes(chosen.value);
    });
  };
  radio.addEventListener("change", show);
  show();
});

// Card layout: drag a field to reorder it; the new order is saved as the draft at once. The
// up and down buttons do the same from the keyboard (and without script).
document.querySelectorAll("ol[data-sortable]").forEach((list) => {
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.key || "");
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const over = event.target.closest("li");
    list.querySelectorAll(".drop-before").forEach((li) => li.classList.remove("drop-before"));
    if (over && over !== dragged) over.classList.add("drop-before");
  });
  list.addEventListener("drop", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const over = event.target.closest("li");
    if (over && over !== dragged) {
      const rect = over.getBoundingClientRect();
      const after = event.clientY > rect.top + rect.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    } else if (!over) {
      list.appendChild(dragged);
    }
    finish();
    const form = list.closest("form");
    const save = form && form.querySelector("[data-save-order]");
    if (save) form.requestSubmit(save);
  });
  list.addEventListener("dragend", finish);
  function finish() {
    list.querySelectorAll(".drop-before").forEach((li) => li.classList.remove("drop-before"));
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  }
});
