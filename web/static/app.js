// Progressive enhancement only: the pages work without it.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-toggle]")) {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.toggle);
      if (target) target.classList.toggle("hidden");
    });
  }
});
