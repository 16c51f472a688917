// The editor's main button says what pressing it will do: Schedule when the Published time
// (a datetime-local in the site's time zone, named by data-zone) is still to come, else
// Publish or Update. The server labels it the same way on every render; this only keeps
// the label right while the owner types. Without JavaScript the form works the same.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector("button.primary[data-label-now]");
  const field = document.querySelector("input[name='published']");
  if (!button || !field) return;
  const nowInZone = () => {
    // "sv-SE" formats as "2026-12-07 04:05:06", comparable with the field's value.
    const text = new Date().toLocaleString("sv-SE", { timeZone: button.dataset.zone });
    return text.replace(" ", "T");
  };
  const relabel = () => {
    const later = field.value !== "" && field.value > nowInZone().slice(0, field.value.length);
    button.textContent = later ? "Schedule" : button.dataset.labelNow;
  };
  field.addEventListener("input", relabel);
  field.addEventListener("change", relabel);
});
