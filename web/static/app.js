// Progressive enhancement only: the pages work without it.
document.addEventListener("DOMContentLoaded", () => {
  // Show or hide the English column of a bilingual page; the original always stays.
  for (const button of document.querySelectorAll("[data-toggle-class]")) {
    const target = document.getElementById(button.dataset.target);
    if (!target) continue;
    const cls = button.dataset.toggleClass;
    button.hidden = false;
    button.setAttribute("aria-controls", target.id);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      const hidden = target.classList.toggle(cls);
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
      button.textContent = hidden ? "Show English translation" : "Hide English translation";
    });
  }
});
